"""A vertical scrollbar drawn straight into strips.

Textual's :class:`~textual.scrollbar.ScrollBar` renders through a Rich console on every
repaint: ~0.1 ms a line, 3-7 ms for a 35-line table, on every filter keystroke (the
thumb changes with the number of matches). :class:`QuickScrollBar` builds the same
segments with the same ``render_bar`` and hands them over as strips, cached until the
bar's geometry or colours change. Same look, same mouse actions (the segments carry the
same ``@mouse.down`` metadata).
"""

from __future__ import annotations

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip

_BACK = Color.parse("#555555")
_BAR = Color.parse("bright_magenta")


class QuickScrollBar(ScrollBar):
    """A :class:`ScrollBar` whose vertical form skips the Rich console (same output)."""

    def __init__(self, vertical: bool = True, name: str | None = None, *, thickness: int = 1):
        super().__init__(vertical, name, thickness=thickness)
        self._strips_key: tuple[object, ...] | None = None
        self._strips: list[Strip] = []

    def render_lines(self, crop: Region) -> list[Strip]:
        """The bar's lines under ``crop`` (rendered once per geometry and style)."""
        bar = self.render()
        if not self.vertical or type(bar) is not ScrollBarRender:
            return super().render_lines(crop)
        width, height = self.size
        style = bar.style if isinstance(bar.style, Style) else Style.parse(str(bar.style))
        base = self.visual_style.rich_style
        key = (width, height, bar.virtual_size, bar.window_size, bar.position, style, base)
        if key != self._strips_key:
            back = style.bgcolor or _BACK
            color = style.color or _BAR
            segments = bar.render_bar(
                size=height,
                virtual_size=bar.virtual_size,
                window_size=bar.window_size,
                position=bar.position,
                thickness=width,
                vertical=True,
                back_color=back,
                bar_color=color,
            ).segments
            self._strips = [
                Strip([Segment(segment.text, base + segment.style)], width) for segment in segments
            ]
            self._strips_key = key
        lines = self._strips[crop.y : crop.bottom]
        if crop.x or crop.width != width:
            lines = [line.crop(crop.x, crop.right) for line in lines]
        return lines
