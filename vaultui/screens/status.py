"""Vault status: key source, provider, counts, paths, an integrity check, and rekey."""

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
        Binding(
            "R",
            "rekey",
            "Rekey",
            id="status.rekey",
            tooltip="Replace the data key and re-encrypt every secret (revokes old passphrases)",
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

    def action_rekey(self) -> None:
        """Ask, then replace the data key in a worker with a progress bar."""
        from vaultui.screens.dialogs import ConfirmScreen, ProgressScreen

        def answered(yes: bool | None) -> None:
            if yes:
                progress = ProgressScreen("Re-encrypting the vault under a new data key…")
                self.app.push_screen(progress)
                self._rekey(progress)

        self.app.push_screen(
            ConfirmScreen(
                "Rekey the vault?",
                "A new random data key re-encrypts every secret and every version, and "
                "every key slot whose passphrase or key file is available is rewrapped. "
                "Old copies of the vault file and the old passphrase will read nothing "
                "written from now on. A running unlock agent is stopped.",
                "Rekey",
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="rekey", exit_on_error=False)
    def _rekey(self, progress: Any) -> None:
        from core.service.keys import rekey as rekey_manager

        def report(done: int, total: int) -> None:
            self.app.call_from_thread(
                progress.update_progress, done, max(total, 1), f"{done:,} of {total:,} rows"
            )

        try:
            result = rekey_manager(self.manager, self.manager.vault.key_source, progress=report)
        finally:
            self.app.call_from_thread(progress.dismiss)
        self.app.call_from_thread(self._rekeyed, result)

    def _rekeyed(self, result: dict[str, Any]) -> None:
        text = (
            f"Rekeyed: {result['records']:,} secrets and {result['versions']:,} versions "
            f"re-encrypted in {result['seconds']:.1f}s; "
            f"{len(result['slots_kept'])} key slot(s) rewrapped."
        )
        if result.get("agent_stopped"):
            text += " The unlock agent was stopped."
        self.query_one("#verify-result", Static).update(text)

    def action_back(self) -> None:
        """Back."""
        self.app.pop_screen()
