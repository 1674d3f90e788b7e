"""The browser's filter box."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class FilterInput(Input):
    """An :class:`Input` that hands each new value to ``on_value`` at once.

    ``Input.Changed`` reaches the screen one message hop later, often after a frame that
    paints only the typed character; calling back from the value's watcher lets the new
    rows and the character appear in the same frame (one repaint per keystroke, not two).
    ``Input.Changed`` is still posted as usual.

    Its ``virtual_size`` (the text's width, which Input updates on every keystroke) does
    not ask for a layout pass of the whole screen: the box's size never depends on it,
    and horizontal scrolling reads it directly.
    """

    virtual_size = Reactive(Size(0, 0), layout=False)

    def __init__(self, on_value: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_value = on_value

    def watch_value(self, value: str) -> None:
        """Report the new value (runs synchronously when the value is set)."""
        self._on_value(value)
