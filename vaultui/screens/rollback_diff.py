"""The rollback confirmation: what would change, masked until revealed, then yes/no.

The comparison is the ``history_diff`` operation (:func:`core.version_diff.diff_values`,
the same one ``vaultui --batch history NAME --diff A B`` prints), run in a worker; it
is audited, revealed or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from core.service.registry import dispatch
from core.version_diff import render_lines
from vaultui.screens.base import ShowsWorkerErrors

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager


class RollbackDiffScreen(ShowsWorkerErrors, ModalScreen[bool]):
    """Shows the change from the current version to ``target`` and asks whether to roll
    back; ``r`` reveals (and hides) the values. Dismisses with True for yes."""

    BINDINGS = [
        Binding("y", "yes", "Roll back", id="rollback.yes", tooltip="Roll back"),
        Binding("n,escape", "no", "Cancel", id="rollback.no", tooltip="Keep the current value"),
        Binding("r", "reveal", "Reveal", id="rollback.reveal", tooltip="Show or hide the values"),
    ]

    DEFAULT_CSS = """
    RollbackDiffScreen { align: center middle; }
    RollbackDiffScreen .rollback-dialog { width: 90; }
    #rollback-diff-box { height: auto; max-height: 16; margin-bottom: 1; }
    """

    def __init__(self, manager: SecretsManager, name: str, current: int, target: int) -> None:
        super().__init__()
        self.manager = manager
        self.secret_name = name
        self.current = current
        self.target = target
        self.revealed = False
        self.diffs: dict[bool, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog rollback-dialog"):
            yield Label("Roll back", classes="dialog-title")
            yield Static(
                f"Make version {self.target} of {self.secret_name} current again? It is "
                "stored as a new version; nothing is lost. What changes "
                f"(v{self.current} now -> v{self.target}; r reveals):",
                classes="dialog-body",
                markup=False,
            )
            with VerticalScroll(id="rollback-diff-box"):
                yield Static("Comparing...", id="rollback-diff", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Roll back (y)", id="yes", variant="primary")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()
        self.load(False)

    @work(thread=True, exclusive=True, group="rollback-diff", exit_on_error=False)
    def load(self, reveal: bool) -> None:
        """Compare the two versions (values only if ``reveal``)."""
        result = dispatch(
            self.manager,
            "history_diff",
            {"name": self.secret_name, "a": self.current, "b": self.target, "reveal": reveal},
        )
        self.app.call_from_thread(self._show, reveal, result)

    def _show(self, reveal: bool, result: dict[str, Any]) -> None:
        self.diffs[reveal] = result
        self.revealed = reveal
        text = "\n".join(render_lines(result, self.current, self.target))
        self.query_one("#rollback-diff", Static).update(text)

    def action_reveal(self) -> None:
        """Show the values (read and audited), or mask them again."""
        if self.revealed:
            self._show(False, self.diffs[False])
        else:
            self.load(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        """Roll back."""
        self.dismiss(True)

    def action_no(self) -> None:
        """Keep the current version."""
        self.dismiss(False)
