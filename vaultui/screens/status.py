"""Vault status: key source, provider, counts, paths, and an integrity check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Label, ProgressBar, Static

from core.text import plural
from vaultui.screens.base import ShowsWorkerErrors
from vaultui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager


class StatusScreen(ShowsWorkerErrors, Screen[None]):
    """What ``get_status()`` says, plus a full integrity check on demand (``v``)."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="status.back", tooltip="Back"),
        Binding(
            "v",
            "verify",
            "Verify",
            id="status.verify",
            tooltip="Check every record of the vault file (integrity)",
        ),
    ]

    def __init__(self, manager: SecretsManager) -> None:
        super().__init__()
        self.manager = manager

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="status"):
            yield Label("Vault status", classes="screen-title")
            yield Static("Reading…", id="status-body", markup=False)
            yield ProgressBar(id="verify-progress", show_eta=False)
            yield Static(
                "Press v to verify the whole vault file.", id="verify-result", markup=False
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#verify-progress").display = False
        self.load()

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def load(self) -> None:
        """Read the status."""
        status = self.manager.get_status(health=True)  # provider health and latency
        self.app.call_from_thread(self._show, status)

    def _show(self, status: dict[str, Any]) -> None:
        width = max((len(k) for k in status), default=0)
        lines = [f"{k.replace('_', ' ').ljust(width)}  {v}" for k, v in status.items()]
        self.query_one("#status-body", Static).update("\n".join(lines))

    def action_verify(self) -> None:
        """Verify every row and the record-set digest (may take a while)."""
        self.query_one("#verify-progress").display = True
        self.query_one("#verify-result", Static).update("Verifying…")
        self._verify()

    @work(thread=True, exclusive=True, group="verify", exit_on_error=False)
    def _verify(self) -> None:
        try:
            result = self.manager.vault.verify()
        finally:
            self.app.call_from_thread(self._hide_progress)
        self.app.call_from_thread(self._verified, result)

    def _hide_progress(self) -> None:
        self.query_one("#verify-progress").display = False

    def _verified(self, result: dict[str, Any]) -> None:
        self.query_one("#verify-result", Static).update(
            f"Integrity OK: {plural(result['records'], 'record')}, "
            f"{plural(result['versions'], 'version')}, "
            f"change sequence {result['seq']:,}."
        )

    def action_back(self) -> None:
        """Back."""
        self.app.pop_screen()
