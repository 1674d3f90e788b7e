"""Editing a secret value of one or many lines, masked until revealed.

- :class:`ValueInput` is the one-line value box; a paste of several lines (a PEM key,
  a certificate) is not cut to its first line, as Textual's ``Input`` does: it is handed
  to the editor as :class:`ValueInput.MultilinePaste`, which moves the value into a
  :class:`MaskedTextArea`.
- :class:`MaskedTextArea` is a ``TextArea`` whose characters are drawn as dots while
  :attr:`~MaskedTextArea.masked` (the cursor, selection and line structure stay, so it
  can be edited blind like a password box).
- :class:`MaskedJsonArea` does the same for a dict secret's JSON, keeping the field
  names and the brackets readable (as the Fields tab shows names in clear).
"""

from __future__ import annotations

import re

from rich.segment import Segment
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widgets import Input, TextArea

MASK_CHAR = "•"


def _mask(text: str) -> str:
    # spaces stay: they are also the padding to the right of each line
    return "".join(" " if ch == " " else MASK_CHAR for ch in text)


class MaskedTextArea(TextArea):
    """A ``TextArea`` drawn as dots while :attr:`masked`; its text is unchanged."""

    masked: reactive[bool] = reactive(True)
    """True while the text is drawn as dots."""

    def __repr__(self) -> str:
        return f"MaskedTextArea(id={self.id!r}, masked={self.masked})"

    def watch_masked(self, _masked: bool) -> None:
        self.refresh()

    def masked_line(self, text: str) -> str:
        """``text`` (one drawn line) as shown while masked: one dot per character."""
        return _mask(text)

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if not self.masked or not self.text:
            return strip
        shown = self.masked_line("".join(seg.text for seg in strip))
        segments, at = [], 0
        for seg in strip:
            segments.append(Segment(shown[at : at + len(seg.text)], seg.style, seg.control))
            at += len(seg.text)
        return Strip(segments, strip.cell_length)


_FIELD = re.compile(r'^(\s*"(?:[^"\\]|\\.)*"\s*:\s*)(.*?)(,?\s*)$')
_STRUCTURE = frozenset(["", "{", "}", "[", "]", "{}", "[]", "},", "],", "{},", "[],"])


class MaskedJsonArea(MaskedTextArea):
    """The JSON of a dict secret, values drawn as dots while :attr:`masked`.

    Each line is masked on its own, so it does not wrap while masked (a wrapped line's
    second half could look like a field name); revealed, it wraps as usual.
    """

    def watch_masked(self, masked: bool) -> None:
        self.soft_wrap = not masked
        self.refresh()

    def masked_line(self, text: str) -> str:
        """Field names, brackets and commas kept; every value character a dot."""
        if text.strip() in _STRUCTURE:
            return text
        field = _FIELD.match(text)
        if field is None:  # an item of a list, or a line scrolled sideways
            indent = len(text) - len(text.lstrip())
            return text[:indent] + _mask(text[indent:])
        head, value, tail = field.groups()
        return head + (value if value.strip() in _STRUCTURE else _mask(value)) + tail


class ValueInput(Input):
    """The one-line value box: a paste of several lines goes to the multi-line editor."""

    class MultilinePaste(Message):
        """Text of several lines was pasted into ``input``."""

        def __init__(self, input: ValueInput, text: str) -> None:
            super().__init__()
            self.input = input
            self.text = text

        @property
        def control(self) -> ValueInput:
            """The input the text was pasted into."""
            return self.input

        def __repr__(self) -> str:  # never the pasted value
            return f"MultilinePaste(lines={self.text.count(chr(10)) + 1})"

    def __repr__(self) -> str:
        return f"ValueInput(id={self.id!r})"

    def _on_paste(self, event: events.Paste) -> None:
        # runs before Input's own handler, which keeps only the first line
        text = event.text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" in text.rstrip("\n"):
            event.stop()
            event.prevent_default()
            self.post_message(self.MultilinePaste(self, text))
