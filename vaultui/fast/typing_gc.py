"""Garbage collection held back while the user types, and run in the first pause.

With 100,000 secrets a keystroke repaints in ~10-20 ms, and Python's cyclic collector,
triggered by the allocations of rendering, adds 5-40 ms to whichever keystroke it lands
on (a full collection walks every filter result kept for narrowing). Reference counting
still frees almost everything at once; only reference cycles wait. So while keys come
in, the collector is off; once typing pauses (:data:`PAUSE` seconds) it is switched back
on and one full collection runs. Typing for longer than :data:`LONGEST` seconds without
a pause (~600 cyclic objects per keystroke pile up meanwhile) gets one full collection
right after the keystroke's frame is painted, and the hold goes on.
"""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.app import App
    from textual.timer import Timer

PAUSE = 0.8
"""Seconds without a keystroke before the held-back collection runs."""
LONGEST = 5.0
"""Seconds the collector may stay off during uninterrupted typing."""


class TypingCollector:
    """Holds the cyclic garbage collector off between keystrokes (see module doc).

    Call :meth:`typed` on each keystroke and :meth:`release` when the typing surface
    goes away; the collector is never left off for longer than :data:`LONGEST` seconds
    plus one pause.
    """

    def __init__(
        self, app: App[object], after_frame: Callable[[Callable[[], None]], None] | None = None
    ) -> None:
        self.app = app
        # how to run the midway collection once the keystroke's frame is composed (a
        # PromptFrame screen's call_after_frame; Textual's call_after_refresh can run
        # before that frame)
        self._after_frame = after_frame or app.call_after_refresh
        self._timer: Timer | None = None
        self._off_since: float | None = None  # set while this object switched it off
        self._midway_pending = False

    @property
    def holding(self) -> bool:
        """True while the collector is off because of typing."""
        return self._off_since is not None

    def typed(self) -> None:
        """A keystroke: keep the collector off until the next pause."""
        now = time.monotonic()
        if self._off_since is None:
            if not gc.isenabled():
                return  # someone else switched it off: not ours to manage
            gc.disable()
            self._off_since = now
        elif now - self._off_since > LONGEST and not self._midway_pending:
            # seconds of typing without a pause: collect once this key's rows are shown
            self._midway_pending = True
            self._after_frame(self._collect_midway)
        if self._timer is None:
            # an app timer, not a screen's: it fires even if the screen is covered
            self._timer = self.app.set_timer(PAUSE, self.collect, name="typing-gc")
        else:
            self._timer.reset()

    def _collect_midway(self) -> None:
        self._midway_pending = False
        if self._off_since is not None:  # still holding (no pause came meanwhile)
            gc.collect()
            self._off_since = time.monotonic()

    def collect(self) -> None:
        """Switch the collector back on and run one full collection."""
        self.release()
        gc.collect()

    def release(self) -> None:
        """Switch the collector back on without collecting (the surface is gone)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._off_since is not None:
            self._off_since = None
            gc.enable()
