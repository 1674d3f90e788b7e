"""Small wording helpers shared by every front end (no I/O)."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``'1 secret'``, ``'0 secrets'``, ``'1,204 secrets'``; ``many`` for irregular
    plurals (``plural(n, 'entry', 'entries')``)."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"
