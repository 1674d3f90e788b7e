"""Alerts of an audit trail: the alert engine fed with what other processes wrote, the
alerts dispatched to listeners and the hook, and the newest alerts of the trail. A mixin
of :class:`core.audit.log.AuditLog`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.audit.alerts import ALERT_OP, HOOK_OP, hook_payload
from core.audit.events import parse_event, parse_ts, to_epoch
from core.audit.sealing import open_event

if TYPE_CHECKING:
    import threading
    from collections.abc import Sequence

    from core.audit.alerts import AlertEngine, HookRunner
    from core.audit.sealing import AuditFieldSealer

log = logging.getLogger(__name__)
# how far back the alert engine reads what other processes wrote
_SEED_WINDOW_CAP = 4 * 1024 * 1024
AlertListener = Callable[[dict[str, Any]], Any]


class AlertFeed:
    """The alert side of an audit log: what it feeds the alert engine, and how an alert
    reaches listeners, the hook and later readers."""

    # set by AuditLog.__init__ (annotations only: no class attributes)
    clock: Callable[[], datetime]
    alerts: AlertEngine
    _hook: HookRunner
    _listeners: list[AlertListener]
    _recent_alerts: list[dict[str, Any]]
    _lock: threading.RLock
    _log_fd: int | None
    _seen: tuple[int, int] | None
    _sealer: AuditFieldSealer | None

    if TYPE_CHECKING:  # provided by AuditLog and its other mixins

        def _append(
            self, bodies: list[dict[str, Any]], *, with_alerts: bool
        ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]: ...

        def _note(self, message: str) -> dict[str, Any]: ...

        def get_audit_events(
            self,
            secret_name: str | Sequence[str] | None = None,
            operation: str | Sequence[str] | None = None,
            start_time: datetime | float | str | None = None,
            end_time: datetime | float | str | None = None,
            user: str | Sequence[str] | None = None,
            success: bool | None = None,
            limit: int | None = None,
            *,
            source: str | Sequence[str] | None = None,
        ) -> list[dict[str, Any]]: ...

    def _catch_up(self, ino: int, size: int) -> None:
        """Feed events other processes wrote since we last looked to the alert engine."""
        seen = self._seen
        if seen is not None and seen[0] == ino and seen[1] == size:
            return
        if seen is None or seen[0] != ino or seen[1] > size:
            horizon = self.clock().timestamp() - self.alerts.max_window
            start = self._seed_start(size, horizon)
        else:
            start = max(seen[1], size - _SEED_WINDOW_CAP)
            horizon = None
        if size <= start:
            return
        data = os.pread(self._log_fd, size - start, start)  # type: ignore[arg-type]  # open while the log is
        lines = data.split(b"\n")
        if start > 0 and (seen is None or start != seen[1]):
            lines = lines[1:]  # the first piece may be the middle of a line
        for raw in lines:
            event = parse_event(raw)
            if event is None:
                continue
            event = open_event(event, self._sealer, keep_sealed=True)
            if horizon is not None:
                ts = parse_ts(event.get("timestamp", ""))
                if ts is None or ts < horizon:
                    continue
            self.alerts.observe(event, own=False)

    def _seed_start(self, size: int, horizon: float) -> int:
        """An offset from which the log holds every event newer than ``horizon`` (read
        back in steps, looking at one timestamp per step), capped at a few megabytes."""
        pos = size
        step = 256 * 1024
        while pos > 0 and size - pos < _SEED_WINDOW_CAP:
            pos = max(0, pos - step)
            probe = os.pread(self._log_fd, min(8192, size - pos), pos)  # type: ignore[arg-type]  # open while the log is
            if pos > 0:
                cut = probe.find(b"\n")
                probe = probe[cut + 1 :] if cut >= 0 else b""
            if probe.startswith(b'{"timestamp": "'):
                ts = parse_ts(probe[15:47].decode("ascii", "replace"))
                if ts is not None and ts < horizon:
                    return pos
        return pos

    def _dispatch(self, alert_event: dict[str, Any]) -> None:
        payload = hook_payload(alert_event)
        with self._lock:
            self._recent_alerts.append(alert_event)
            del self._recent_alerts[:-100]
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(alert_event)
            except Exception:
                log.exception("an audit alert listener failed")
        self._hook.submit(payload)

    def _hook_failed(self, reason: str) -> None:
        self._append([{**self._note(reason), "operation": HOOK_OP}], with_alerts=False)

    def add_alert_listener(self, listener: AlertListener) -> Callable[[], None]:
        """Call ``listener(alert_event)`` for every alert this process raises (from the
        writing thread: the app must hop to its own thread). Returns an unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def wait_for_hooks(self, timeout: float | None = 10.0) -> bool:
        """Block until queued alert hooks have run (tests, clean exit)."""
        return self._hook.wait_idle(timeout)

    def recent_alerts(
        self, limit: int = 20, since: datetime | timedelta | None = None
    ) -> list[dict[str, Any]]:
        """The newest alert events of the whole trail (any process), newest first."""
        start = None
        if isinstance(since, timedelta):
            start = self.clock().timestamp() - since.total_seconds()
        elif since is not None:
            start = to_epoch(since)
        events = self.get_audit_events(operation=ALERT_OP, start_time=start, limit=limit)
        return list(reversed(events))
