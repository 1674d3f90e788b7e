"""Pausing the cyclic garbage collector around bulk work, when the program asks for it.

A library must not switch off its host's garbage collector on its own: an application
embedding ``core`` keeps Python's stock behaviour unless it calls
:func:`allow_gc_pause`. vaultui's own processes (the app, ``--batch``, the unlock agent)
do, at start-up.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_allowed = False


def allow_gc_pause(allowed: bool = True) -> None:
    """Let :func:`paused_gc` pause the collector in this process (off by default)."""
    global _allowed
    _allowed = allowed


def gc_pause_allowed() -> bool:
    """Whether :func:`paused_gc` pauses the collector in this process."""
    return _allowed


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building 100,000s of small objects, if
    the program allowed it (:func:`allow_gc_pause`); otherwise do nothing.

    Those allocations would otherwise trigger full collections that walk every live
    object again and again (measured: listing 100,000 records spent a quarter of its time
    there; a backup body 0.05 s -> 0.9 s). Nothing the vault builds in bulk is cyclic
    garbage; reference counting still frees everything, and the previous state is
    restored.
    """
    if not _allowed:
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
