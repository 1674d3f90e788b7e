"""The clock the idle lock reads: it keeps running while the machine sleeps.

``time.monotonic()`` stops while the system is suspended on Linux, so a laptop closed for
an hour would wake up with the vault still open and the idle timer barely started.
``CLOCK_BOOTTIME`` counts suspended time; where it does not exist the wall clock is the
next best (it also advances across a suspend).
"""

from __future__ import annotations

import time

_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)


def idle_clock() -> float:
    """Seconds on a clock that also advances while the system is suspended."""
    if _BOOTTIME is not None:
        try:
            return time.clock_gettime(_BOOTTIME)
        except OSError:  # a kernel or sandbox without it
            pass
    return time.time()
