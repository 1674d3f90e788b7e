"""Printing for ``--batch`` commands: data to stdout, notes and progress to stderr.

Every command prints through here. ``--json`` output is one pretty-printed JSON document
on stdout (UTF-8, bytes as base64, times as text); event streams (``audit list``,
``audit tail``) print one compact JSON object per line. The keys a command prints are
part of its interface and stay stable (docs/batch.md lists them). Human notes
("Created db/password (version 3)") and progress go to stderr, so stdout stays
clean for pipes. Nothing here ever prints a value unless the command's job is to
print it (``get``, ``export``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from core.controlchars import escape_controls
from vaultui.batch.fast import error, to_json, write_out

__all__ = ["Progress", "emit", "error", "note", "table", "to_json", "write_out"]


def emit(
    obj: Any, *, out: TextIO | None = None, sort_keys: bool = False, compact: bool = False
) -> None:
    """Print ``obj`` as JSON on stdout (or ``out``): pretty, or one line with
    ``compact``; ``sort_keys`` for commands whose keys have always come sorted."""
    text = to_json(obj, sort_keys=sort_keys, compact=compact)
    if out is None:
        write_out(text.encode("utf-8"))
    else:
        out.write(text)


def lines(items: Iterable[str]) -> None:
    """Print one item per line on stdout (control characters as visible escapes)."""
    text = "".join(f"{escape_controls(item)}\n" for item in items)
    if text:
        write_out(text.encode("utf-8"))


def note(message: str) -> None:
    """A human note on stderr (control characters as visible escapes)."""
    sys.stderr.write(escape_controls(message, keep_lines=True) + "\n")
    sys.stderr.flush()


def table(rows: Sequence[Sequence[str]], header: Sequence[str] | None) -> None:
    """Aligned columns on stdout (the last column is not padded); no header if None.
    Cells are one line each: control characters (newlines too) as visible escapes."""
    every = [header, *rows] if header else list(rows)
    every = [[escape_controls(cell) for cell in row] for row in every]
    if not every:
        return
    widths = [0] * len(every[0])
    for row in every:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    out = []
    for row in every:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        out.append("  ".join([*cells, row[-1]]).rstrip())
    lines(out)


class Progress:
    """Progress of a long command on stderr: a live counter on a terminal, otherwise
    a line at most every ``interval`` seconds, and a final line."""

    def __init__(
        self, label: str, *, interval: float = 2.0, quiet: bool = False, bar: bool = False
    ) -> None:
        self.label = label
        self.interval = interval
        self.quiet = quiet
        self.bar = bar  # on a terminal: a bar with a percentage instead of a counter
        self._tty = sys.stderr.isatty()
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int | None = None) -> None:
        """Report ``done`` of ``total`` units."""
        if self.quiet:
            return
        now = time.monotonic()
        final = total is not None and done >= total
        if not final and now - self._last < (0.1 if self._tty else self.interval):
            return
        self._last = now
        text = f"{self.label}: {done}" + (f"/{total}" if total else "")
        if self.bar and self._tty and total:
            width = 30
            filled = min(width, width * done // total)
            percent = min(100, 100 * done // total)
            shown = "#" * filled + "." * (width - filled)
            text = f"{self.label} [{shown}] {percent:3d}% {done}/{total}"
        if self._tty:
            sys.stderr.write("\r" + text + ("\n" if final else ""))
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()
        self._shown = not final

    def done(self) -> None:
        """End a live counter's line."""
        if self._shown and self._tty and not self.quiet:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self._shown = False
