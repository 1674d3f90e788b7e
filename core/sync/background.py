"""Background sync: every configured remote, every ``interval`` seconds, in a thread.

    scheduler = SyncScheduler(vault, settings, audit=audit_log, on_report=print)
    scheduler.start()          # uses load_config(vault).interval (0: waits, does nothing)
    scheduler.set_interval(900)
    scheduler.run_once()       # now, in the caller's thread
    scheduler.stop()

A failing remote (network down) is retried at the next tick; its error is kept in
``last_errors``. The app starts one scheduler and the sync pane controls it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from core.errors import VaultError
from core.sync.report import SyncReport
from core.sync.service import load_config, run_sync
from core.vault import Vault

log = logging.getLogger(__name__)


class SyncScheduler:
    """Runs :func:`core.sync.service.run_sync` for each configured remote periodically."""

    def __init__(
        self,
        vault: Vault,
        settings: Any,
        *,
        audit: Any = None,
        on_report: Callable[[SyncReport], Any] | None = None,
        provider_factory: Callable[[str], Any] | None = None,
    ) -> None:
        self.vault = vault
        self.settings = settings
        self.audit = audit
        self.on_report = on_report
        self.provider_factory = provider_factory
        self.last_errors: dict[str, str] = {}
        self.last_run: float | None = None
        self._interval: int | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def interval(self) -> int:
        """Seconds between runs (0: off); the stored setting unless overridden."""
        if self._interval is not None:
            return self._interval
        return load_config(self.vault, self.settings).interval

    def set_interval(self, seconds: int) -> None:
        """Change the interval now (the running thread picks it up at once)."""
        self._interval = max(0, int(seconds))
        self._wake.set()

    @property
    def is_running(self) -> bool:
        """True while the background thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        if self.is_running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="vaultui-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (waits for a run in progress)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def run_once(self) -> list[SyncReport]:
        """Sync every configured remote now; errors are kept per remote, not raised."""
        reports = []
        with self._lock:
            for remote in load_config(self.vault, self.settings).remotes:
                provider = self.provider_factory(remote.provider) if self.provider_factory else None
                try:
                    report = run_sync(
                        self.vault,
                        self.settings,
                        remote.provider,
                        sealed=remote.mode == "sealed",
                        audit=self.audit,
                        provider=provider,
                    )
                except VaultError as exc:
                    self.last_errors[remote.label] = str(exc)
                    log.warning("background sync with %s failed: %s", remote.label, exc.message)
                    continue
                finally:
                    if provider is not None:
                        provider.close()
                self.last_errors.pop(remote.label, None)
                reports.append(report)
                if self.on_report is not None:
                    self.on_report(report)
            self.last_run = time.time()
        return reports

    def _loop(self) -> None:
        while not self._stop.is_set():
            interval = self.interval
            self._wake.clear()
            if interval <= 0:
                self._wake.wait()  # off: sleep until the interval changes or stop
                continue
            if self._wake.wait(interval):
                continue  # woken early: interval changed (or stopping)
            try:
                self.run_once()
            except Exception:  # never let the thread die silently
                log.exception("background sync failed")
