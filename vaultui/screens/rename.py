"""Rename a secret or copy it to a new name from the app (``mv`` / ``cp`` of ``--batch``).

:class:`NewNameScreen` asks for the name; :func:`move_or_copy` runs the ``rename`` or
``copy`` operation in a worker, and when the name is taken asks before replacing it.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, Static

from core.errors import ConflictError, ValidationError, VaultError
from core.service.types import validate_name
from vaultui.screens.dialogs import ConfirmScreen


class NewNameScreen(ModalScreen[str | None]):
    """Ask for a secret name; dismisses with it, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="new_name.cancel", tooltip="Do nothing"),
    ]

    def __init__(self, title: str, current: str) -> None:
        super().__init__()
        self._title = title
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title", markup=False)
            yield Input(value=self._current, id="new-name")
            yield Static("", id="new-name-error", classes="dialog-body", markup=False)
            yield Static("Enter: OK   Esc: cancel", classes="dialog-body")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        try:
            validate_name(name)
            if name == self._current:
                raise ValidationError("Give a name other than the current one")
        except ValidationError as exc:
            self.query_one("#new-name-error", Static).update(exc.message)
            return
        self.dismiss(name)

    def action_cancel(self) -> None:
        """Close without a name."""
        self.dismiss(None)


def move_or_copy(screen: Screen, manager: Any, name: str, op: str) -> None:
    """Ask for a new name and rename (``op='rename'``) or copy (``'copy'``) ``name``.

    On success a rename closes ``screen`` (it showed the old name) and the browser puts
    its cursor on the new name; a copy only says so.
    """
    app = screen.app
    verb = "Rename" if op == "rename" else "Copy"

    def run(new: str, force: bool) -> None:
        def work() -> None:
            from core.service.registry import dispatch

            try:
                dispatch(manager, op, {"name": name, "new_name": new, "force": force})
            except ConflictError:
                app.call_from_thread(confirm, new)
                return
            except VaultError as exc:
                app.call_from_thread(app.show_error, exc)  # type: ignore[attr-defined]
                return
            app.call_from_thread(done, new)

        screen.run_worker(work, thread=True, group="secret-io", exit_on_error=False)

    def confirm(new: str) -> None:
        what = "erases it and its history" if op == "rename" else "adds a new version to it"
        app.push_screen(
            ConfirmScreen(
                f"{verb} secret", f"{new} exists. Replacing it {what}.", "Replace", danger=True
            ),
            lambda yes: run(new, True) if yes else None,
        )

    def done(new: str) -> None:
        if op == "rename" and app.screen is screen:
            app.pop_screen()
        app.secret_saved(new)  # type: ignore[attr-defined]
        past = "Renamed" if op == "rename" else "Copied"
        app.notify(f"{past} {name} to {new}.", timeout=3)

    app.push_screen(
        NewNameScreen(f"{verb} {name} to", name), lambda new: run(new, False) if new else None
    )
