"""Watch the vault file for changes made by other processes (watchdog, with a fallback).

SQLite in rollback-journal mode rewrites pages of ``vault.db`` in place and deletes
``vault.db-journal`` when a transaction commits, so either event means "something may
have changed". The watcher only says *that*; the browser then reads
``Vault.changes_since(seq)`` to learn *what*. If watchdog cannot start (no inotify
watches left, an exotic file system) a 0.5 s ``stat`` poll takes over.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from core.service.sync import copy_patterns

log = logging.getLogger(__name__)


class VaultWatcher:
    """Calls ``on_change()`` from a background thread when ``path`` may have changed.

    Bursts are not coalesced here; the receiver debounces. ``stop()`` is idempotent.
    """

    def __init__(
        self, path: Path, on_change: Callable[[], None], *, poll_interval: float = 0.5
    ) -> None:
        self.path = Path(path)
        self.on_change = on_change
        self.poll_interval = poll_interval
        self._observer: object | None = None
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self._copy_patterns = copy_patterns(self.path)
        self.mode = "stopped"

    def _relevant(self, src: str) -> bool:
        name = os.path.basename(src)
        if name in (self.path.name, self.path.name + "-journal", self.path.name + "-wal"):
            return True
        # a file-sync service's conflict copy arriving beside the vault
        return any(p.fullmatch(name) for p in self._copy_patterns)

    def start(self) -> VaultWatcher:
        """Start watching (watchdog if possible, else polling)."""
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer

            watcher = self

            class _Handler(FileSystemEventHandler):
                def on_any_event(self, event: FileSystemEvent) -> None:
                    if event.event_type in ("opened", "closed_no_write"):
                        return
                    paths = [str(event.src_path), str(getattr(event, "dest_path", "") or "")]
                    if any(p and watcher._relevant(p) for p in paths):
                        watcher.on_change()

            observer = Observer()
            observer.daemon = True
            observer.schedule(_Handler(), str(self.path.parent), recursive=False)
            observer.start()
            self._observer = observer
            self.mode = "watchdog"
        except Exception as exc:
            log.warning("watchdog unavailable (%s); polling the vault file instead", exc)
            self._poller = threading.Thread(target=self._poll, name="vault-poll", daemon=True)
            self._poller.start()
            self.mode = "poll"
        return self

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _poll(self) -> None:
        last = self._stamp()
        while not self._stop.wait(self.poll_interval):
            now = self._stamp()
            if now != last:
                last = now
                self.on_change()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        observer = self._observer
        self._observer = None
        if observer is not None:
            observer.stop()  # type: ignore[attr-defined]  # a watchdog Observer, stored as object
            observer.join(timeout=2)  # type: ignore[attr-defined]  # a watchdog Observer, stored as object
        self.mode = "stopped"
