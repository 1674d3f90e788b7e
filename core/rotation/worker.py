"""The rotation worker: the loop that checks for due secrets every interval (in a thread,
a Textual worker or the foreground daemon), its heartbeat for other processes, and its
state. A mixin of :class:`core.rotation.manager.RotationManager`.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import ConflictError, ValidationError, VaultError
from core.rotation.info import iso
from core.rotation.results import RotationFailure, RotationResult

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from core.rotation.lease import LeaseStore

log = logging.getLogger("core.rotation.manager")  # one logger name for rotation
LEASE_MARGIN = 60.0  # a heartbeat is stale this long after the next check was due
MAX_FAILURES_KEPT = 50


@dataclass
class WorkerState:
    """What the worker did so far (counts, times, the recent failures)."""

    running: bool = False
    started_at: datetime | None = None
    last_check: datetime | None = None
    next_check: datetime | None = None
    cycles: int = 0
    rotated: int = 0
    failed: int = 0
    failures: deque[RotationFailure] = field(
        default_factory=lambda: deque(maxlen=MAX_FAILURES_KEPT)
    )


class RotationWorker:
    """The worker methods of the rotation manager."""

    # set by RotationManager.__init__ (annotations only: no class attributes)
    interval_seconds: float
    jitter: float
    clock: Callable[[], datetime]
    on_cycle: Callable[[], Any] | None
    owner: str
    leases: LeaseStore
    _lock: threading.RLock
    _state: WorkerState
    _stop: threading.Event
    _thread: threading.Thread | None

    if TYPE_CHECKING:

        def rotate_due(
            self, now: datetime | None = None, names: Iterable[str] | None = None
        ) -> list[RotationResult]: ...

    @property
    def is_running(self) -> bool:
        """True while the worker loop runs (thread, Textual worker or daemon)."""
        return self._state.running

    @property
    def next_check(self) -> datetime | None:
        """When the running worker checks next (None while checking or stopped)."""
        return self._state.next_check

    def start_rotation_scheduler(self, interval_seconds: float | None = None) -> None:
        """Start the worker in a daemon thread (no-op if it already runs)."""
        with self._lock:
            if self._state.running or (self._thread and self._thread.is_alive()):
                return
            if interval_seconds is not None:
                if interval_seconds <= 0:
                    raise ValidationError("The rotation check interval must be positive")
                self.interval_seconds = float(interval_seconds)
            self._stop.clear()
            self._state.running = True  # visible before the thread gets scheduled
            self._thread = threading.Thread(
                target=self._thread_main, name="vaultui-rotation", daemon=True
            )
            self._thread.start()

    def _thread_main(self) -> None:
        try:
            self.run_daemon()
        except Exception:  # the worker must never die silently
            log.exception("the rotation worker stopped after an unexpected error")

    def stop_rotation_scheduler(self, timeout: float | None = 30.0) -> None:
        """Ask the worker to stop and wait (up to ``timeout``) for it; idempotent.

        A rotation in progress finishes first (its hooks have their own timeouts).
        """
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if not thread.is_alive():
                self._thread = None

    def request_stop(self) -> None:
        """Ask a running worker loop to stop, without waiting (signal-handler safe)."""
        self._stop.set()

    def next_delay(self) -> float:
        """Seconds until the next check: the interval ± jitter."""
        spread = self.interval_seconds * self.jitter
        return max(0.01, self.interval_seconds + random.uniform(-spread, spread))

    def run_daemon(self, *, max_cycles: int | None = None, first_delay: float = 0.0) -> int:
        """Run the worker loop in this thread until :meth:`stop_rotation_scheduler` /
        :meth:`request_stop` (or ``max_cycles`` checks); returns the number of checks.

        Each cycle rotates every due secret once, then publishes a heartbeat that other
        processes see in :meth:`workers`. ``first_delay`` seconds pass before the first
        check (a stop request cuts the wait short): the app uses it so that the first
        scan of a large vault does not compete with the user's first keystrokes.
        """
        with self._lock:
            if self._state.running and threading.current_thread() is not self._thread:
                raise ConflictError("This rotation manager's worker is already running")
            self._state.running = True
            self._state.started_at = self.clock()
        cycles = 0
        try:
            if first_delay > 0:
                self._state.next_check = self.clock() + timedelta(seconds=first_delay)
                self._stop.wait(first_delay)
            while not self._stop.is_set():
                self.check_now()
                cycles += 1
                if max_cycles is not None and cycles >= max_cycles:
                    break
                delay = self.next_delay()
                self._state.next_check = self.clock() + timedelta(seconds=delay)
                self._publish(delay)
                self._stop.wait(delay)
        finally:
            with self._lock:
                self._state.running = False
                self._state.next_check = None
                self._stop.clear()
            with contextlib.suppress(VaultError):
                self.leases.heartbeat(None)
        return cycles

    def check_now(self) -> list[RotationResult]:
        """One worker cycle: rotate what is due, run the ``on_cycle`` task (the scheduled
        backup), remember when it ran."""
        results = self.rotate_due()
        if self.on_cycle is not None:
            try:
                self.on_cycle()
            except VaultError as exc:
                log.warning("the worker's periodic task failed: %s", exc.message)
        with self._lock:
            self._state.last_check = self.clock()
            self._state.cycles += 1
        return results

    def _publish(self, delay: float) -> None:
        try:
            self.leases.heartbeat(
                {
                    "started_at": iso(self._state.started_at),
                    "last_check": iso(self._state.last_check),
                    "next_check": iso(self._state.next_check),
                    "interval_seconds": self.interval_seconds,
                    "stale_after": time.time() + delay + LEASE_MARGIN,
                }
            )
        except VaultError as exc:
            log.warning("could not publish the rotation worker heartbeat: %s", exc)

    def workers(self) -> dict[str, dict[str, Any]]:
        """Rotation workers alive on this vault file (any process), by owner id."""
        return self.leases.workers()

    def recent_failures(self) -> list[RotationFailure]:
        """Failures this manager saw, newest last (at most 50)."""
        with self._lock:
            return list(self._state.failures)

    def get_status(self) -> dict[str, Any]:
        """The worker's state: ``rotation_active`` (the seed's key), interval, last and
        next check, counts and the recent failures with their reasons."""
        with self._lock:
            state = self._state
            return {
                "rotation_active": state.running,
                "owner": self.owner,
                "interval_seconds": self.interval_seconds,
                "jitter": self.jitter,
                "started_at": iso(state.started_at),
                "last_check": iso(state.last_check),
                "next_check": iso(state.next_check),
                "cycles": state.cycles,
                "rotated": state.rotated,
                "failed": state.failed,
                "recent_failures": [f.to_dict() for f in state.failures],
            }
