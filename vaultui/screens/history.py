"""A secret's version history (who, when, why, from where) with rollback.

The list comes from ``Vault.history`` (no value decrypted). Rollback first shows what
would change (:mod:`vaultui.screens.rollback_diff`, masked until revealed), asks for
confirmation and writes the old value as a new version (the history keeps everything).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from core.controlchars import escape_controls
from core.service import secrets
from core.service.types import VersionInfo
from vaultui.screens.base import ShowsWorkerErrors
from vaultui.screens.dialogs import ConfirmScreen
from vaultui.screens.rollback_diff import RollbackDiffScreen
from vaultui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager


class HistoryScreen(ShowsWorkerErrors, Screen[None]):
    """Every version of one secret, newest first; Enter or b rolls back to one."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="history.back", tooltip="Back"),
        Binding(
            "b",
            "rollback",
            "Rollback",
            id="history.rollback",
            tooltip="Make the highlighted version current again",
        ),
    ]

    def __init__(self, manager: SecretsManager, name: str) -> None:
        super().__init__()
        self.manager = manager
        self.secret_name = name
        self.versions: list[VersionInfo] = []

    def compose(self) -> ComposeResult:
        yield Label(f"History of {self.secret_name}", classes="screen-title", markup=False)
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="history-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Version", "Stage", "When (UTC)", "Who", "Why", "Source", "Type", "Size")
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def load(self, refresh: bool = False) -> None:
        """Read the history (metadata of every version, no values); audited when the
        screen opens, not again when it follows a change."""
        versions = secrets.history(self.manager, self.secret_name, refresh=refresh)
        self.app.call_from_thread(self._show, versions)

    def _show(self, versions: list[VersionInfo]) -> None:
        self.versions = list(reversed(versions))
        table = self.query_one(DataTable)
        table.clear()
        for v in self.versions:
            when = v.created_at.strftime("%Y-%m-%d %H:%M:%S") if v.created_at else ""
            table.add_row(
                str(v.version),
                v.stage or "",
                when,
                escape_controls(v.who),
                escape_controls(v.why),
                escape_controls(v.source),
                v.type,
                f"{v.size:,}",
                key=str(v.version),
            )
        self.query_one("#history-note", Static).update(
            f"{len(versions)} version{'s' if len(versions) != 1 else ''}. "
            "Enter or b: roll back to the highlighted version."
        )

    def secrets_changed(self, names: set[str]) -> None:
        """Called after a refresh: reload when this secret changed."""
        if self.secret_name in names:
            self.load(refresh=True)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_rollback()

    def action_rollback(self) -> None:
        """Roll back to the highlighted version (after confirmation)."""
        table = self.query_one(DataTable)
        if not self.versions or table.cursor_row < 0:
            return
        info = self.versions[table.cursor_row]
        if info.stage == "CURRENT":
            self.notify(f"Version {info.version} is already current.", timeout=2)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._rollback(info.version)

        current = next((v.version for v in self.versions if v.stage == "CURRENT"), None)
        if current is None:  # no current version to compare with: plain confirmation
            screen: Screen[bool] = ConfirmScreen(
                "Roll back",
                f"Make version {info.version} of {self.secret_name} current again? "
                "It is stored as a new version; nothing is lost.",
                "Roll back",
            )
        else:
            screen = RollbackDiffScreen(self.manager, self.secret_name, current, info.version)
        self.app.push_screen(screen, answered)

    @work(thread=True, exclusive=True, group="rollback", exit_on_error=False)
    def _rollback(self, version: int) -> None:
        self.manager.rollback_secret(self.secret_name, version)
        self.app.call_from_thread(self._rolled_back, version)

    def _rolled_back(self, version: int) -> None:
        self.notify(f"Rolled back {self.secret_name} to version {version}.", timeout=3)
        self.app.secret_saved(self.secret_name)  # type: ignore[attr-defined]
        self.load(refresh=True)

    def action_back(self) -> None:
        """Back."""
        self.app.pop_screen()
