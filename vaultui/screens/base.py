"""What every vaultui screen shares: worker errors become the error modal."""

from __future__ import annotations

from textual.worker import Worker, WorkerState


class ShowsWorkerErrors:
    """Mixin for screens: a worker that fails shows its error as a modal (never a crash).

    ``Worker.StateChanged`` does not bubble, so each screen that runs workers handles it;
    the app's :meth:`~vaultui.app.VaultApp.show_error` titles the modal from the core
    error class.
    """

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.app.show_error(event.worker.error)  # type: ignore[attr-defined]
