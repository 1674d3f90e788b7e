"""The trash: deleted secrets with when they were deleted; undelete or purge.

``delete`` leaves a tombstone that can be brought back until it is purged. This screen
lists the tombstones (newest deletion first), ``u`` brings the highlighted one back and
``p`` erases it for good after a confirmation naming it. Both run the same operations
as ``vaultui --batch undelete`` and ``purge`` (:mod:`core.agent.ops`), so each writes
the same single audit event. No value is decrypted here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from core.service.registry import dispatch
from core.text import plural
from vaultui.screens.base import ShowsWorkerErrors
from vaultui.screens.dialogs import ConfirmScreen
from vaultui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager
    from core.service.types import SecretRecord


def ago(when: datetime | None, now: datetime) -> str:
    """'3d ago', '5h ago', '2m ago' or 'just now' (rough, for people)."""
    if when is None:
        return ""
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


class TrashScreen(ShowsWorkerErrors, Screen[None]):
    """Deleted secrets, newest deletion first; ``u`` undeletes, ``p`` purges."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="trash.back", tooltip="Back to the secrets"),
        Binding(
            "u",
            "undelete",
            "Undelete",
            id="trash.undelete",
            tooltip="Bring the highlighted secret back",
        ),
        Binding(
            "p",
            "purge",
            "Purge",
            id="trash.purge",
            tooltip="Erase the highlighted secret and its history for good (asks first)",
        ),
    ]

    def __init__(self, manager: SecretsManager) -> None:
        super().__init__()
        self.manager = manager
        self.records: list[SecretRecord] = []

    def compose(self) -> ComposeResult:
        yield Label("Trash: deleted secrets", classes="screen-title")
        yield DataTable(id="trash-table", cursor_type="row", zebra_stripes=True)
        yield Static("Reading…", id="trash-note", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Deleted (UTC)", "", "Versions", "Type", "Description")
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="trash", exit_on_error=False)
    def load(self) -> None:
        """Read the deleted secrets' metadata (no values)."""
        records = [r for r in self.manager.vault.list(include_deleted=True) if r.deleted]
        records.sort(key=lambda r: r.deleted_at or datetime.min.replace(tzinfo=UTC))
        records.reverse()
        self.app.call_from_thread(self._show, records)

    def _show(self, records: list[SecretRecord]) -> None:
        table = self.query_one(DataTable)
        keep = self._current()
        self.records = records
        table.clear()
        now = datetime.now(UTC)
        for r in records:
            when = r.deleted_at.strftime("%Y-%m-%d %H:%M:%S") if r.deleted_at else ""
            table.add_row(
                r.name,
                when,
                ago(r.deleted_at, now),
                str(r.max_version),
                r.type,
                r.description,
                key=r.name,
            )
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        note = (
            f"{plural(len(records), 'deleted secret')}. u brings one back; p erases it for good."
            if records
            else "The trash is empty."
        )
        self.query_one("#trash-note", Static).update(note)

    def _current(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.records or not 0 <= table.cursor_row < len(self.records):
            return None
        return self.records[table.cursor_row].name

    def secrets_changed(self, names: set[str]) -> None:
        """Called after a refresh: another process may have deleted or restored some."""
        self.load()

    def action_undelete(self) -> None:
        """Bring back the highlighted secret."""
        if (name := self._current()) is not None:
            self._run("undelete", name)

    def action_purge(self) -> None:
        """Erase the highlighted secret for good, after a confirmation naming it."""
        name = self._current()
        if name is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._run("purge", name)

        self.app.push_screen(
            ConfirmScreen(
                "Purge secret",
                f"Purge {name}? This erases it with every version and its history. "
                "It is final: it cannot be undeleted.",
                "Purge",
                danger=True,
            ),
            answered,
        )

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_undelete()

    @work(thread=True, group="trash-io", exit_on_error=False)
    def _run(self, operation: str, name: str) -> None:
        dispatch(self.manager, operation, {"name": name})
        self.app.call_from_thread(self._done, operation, name)

    def _done(self, operation: str, name: str) -> None:
        if operation == "purge":
            self.notify(f"Purged {name}: it is gone for good.", timeout=4)
        else:
            self.notify(f"Restored {name}.", timeout=3)
            self.app.secret_saved(name)  # type: ignore[attr-defined]
        self.app.refresh_browser()  # type: ignore[attr-defined]
        self.load()

    def action_back(self) -> None:
        """Back to the secrets."""
        self.app.pop_screen()


__all__ = ["TrashScreen", "ago"]
