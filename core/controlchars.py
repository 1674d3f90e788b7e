"""Control characters in labels: refused on write, escaped on display.

A description, a tag or a name that holds ``ESC`` (or any other control character)
would reach the terminal raw in ``list -l`` or the app's table, where an escape
sequence can rewrite the screen, set the window title or overwrite the clipboard
(OSC 52). Names already allow only ``[A-Za-z0-9_.-/]``; this module covers the rest.

- Control characters are C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F).
  A secret's VALUE may hold any of them (multi-line values are normal); labels
  (descriptions, tag keys and values) may not.
- :func:`check_label` / :func:`check_tags` are the one write check: the vault calls them
  for every description and tag it stores, so the facade, ``--batch set/describe/tag``,
  imports and rotation all get the same :class:`~core.errors.ValidationError`.
- :func:`escape_controls` is the one display helper: every control character becomes a
  visible escape (``\\x1b``, ``\\n``), for text written before the check existed, text
  from another copy of the vault, and provider error text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from core.errors import ValidationError

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _visible(m: re.Match[str]) -> str:
    ch = m.group()
    return _NAMED.get(ch) or f"\\x{ord(ch):02x}"


def has_controls(text: str) -> bool:
    """True if ``text`` holds a control character."""
    return _CONTROL.search(text) is not None


def escape_controls(text: object, *, keep_lines: bool = False) -> str:
    """``text`` (str() of it) with every control character shown as a visible escape
    (``\\x1b``, ``\\n``, ``\\t``). ``keep_lines`` leaves newlines and tabs alone, for
    multi-line text printed as it is."""
    s = text if isinstance(text, str) else str(text)
    rx = _CONTROL_BUT_LINES if keep_lines else _CONTROL
    if rx.search(s) is None:  # the common case: no copy
        return s
    return rx.sub(_visible, s)


def check_label(text: str, what: str) -> str:
    """Return ``text`` if it holds no control character, else raise ValidationError
    naming ``what`` ('description', 'tag key', ...), the character and its position."""
    m = _CONTROL.search(text)
    if m is None:
        return text
    shown = _visible(m)
    raise ValidationError(
        f"The {what} contains a control character ({shown} at position {m.start() + 1})",
        hint="names, descriptions and tags cannot hold control characters "
        "(only a secret's value can)",
    )


def check_tags(tags: Mapping[str, str]) -> Mapping[str, str]:
    """Return ``tags`` if no key or value holds a control character (see
    :func:`check_label`)."""
    for key, value in tags.items():
        check_label(key, "tag key")
        check_label(value, f"value of tag {escape_controls(key)!r}")
    return tags
