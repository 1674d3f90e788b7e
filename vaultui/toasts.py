"""One toast per message: the same notification again while it is still showing is
not stacked under it (pressing Copy twice showed two identical toasts)."""

from __future__ import annotations

import time


class RecentToasts:
    """Remembers which toasts are on screen until their timeout runs out."""

    def __init__(self) -> None:
        self._until: dict[tuple[str, str, str], float] = {}

    def repeat(self, message: str, title: str, severity: str, timeout: float) -> bool:
        """True if this toast is still showing (skip it); else record it as shown now."""
        now = time.monotonic()
        self._until = {k: t for k, t in self._until.items() if t > now}
        key = (message, title, severity)
        if key in self._until:
            return True
        self._until[key] = now + timeout
        return False
