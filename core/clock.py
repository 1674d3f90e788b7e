"""One clock for timeouts that must count time spent suspended.

``time.monotonic()`` stops while a laptop sleeps on Linux, so a 15-minute unlock agent
opened before a lid close would still hold the key hours later. Deadlines for key
material (the agent's time to live, the app's idle lock) use :func:`elapsed_clock`
instead: ``CLOCK_BOOTTIME`` (monotonic, and it keeps counting through suspend) where
the platform has it, else the wall clock (which also counts suspended time, but jumps
when someone sets the date).
"""

from __future__ import annotations

import time

_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)


def _boottime_works() -> bool:
    if _BOOTTIME is None:
        return False
    try:
        time.clock_gettime(_BOOTTIME)
    except OSError:
        return False
    return True


SUSPEND_AWARE = _boottime_works()
"""True when :func:`elapsed_clock` reads CLOCK_BOOTTIME (never goes back, counts sleep)."""


def elapsed_clock() -> float:
    """Seconds on a clock that keeps running while the machine is suspended.

    Only differences between two readings mean anything. CLOCK_BOOTTIME where
    available; otherwise ``time.time()``.
    """
    if SUSPEND_AWARE:
        return time.clock_gettime(_BOOTTIME)  # type: ignore[arg-type]  # CLOCK_BOOTTIME is set when SUSPEND_AWARE
    return time.time()
