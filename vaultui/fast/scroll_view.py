"""Three shortcuts for a Line-API ``ScrollView`` that repaints on every keystroke.

- :meth:`FastScrollView.render_lines` skips Textual's styles cache when the styles add
  nothing around or over the lines (~30 us a line of every repaint);
- :meth:`FastScrollView.set_virtual_height` takes a new row count without a layout pass
  of the whole screen (~3 ms a keystroke);
- :attr:`FastScrollView.vertical_scrollbar` is a :class:`QuickScrollBar` (no Rich
  console per repaint).

The last two use Textual internals (declared in :mod:`vaultui.fast.internals`); on a
Textual where those differ they take the public path: setting ``virtual_size``, and
Textual's own scrollbar.
"""

from __future__ import annotations

from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.style import Style as TextualStyle

from vaultui.fast.internals import QUICK_SCROLLBAR, VIRTUAL_HEIGHT, usable
from vaultui.fast.quick_scrollbar import QuickScrollBar


class FastScrollView(ScrollView):
    """A ``ScrollView`` with the shortcuts above; its subclass renders with ``render_line``."""

    def set_virtual_height(self, height: int) -> None:
        """A new number of lines. The scrollbar and the scroll offset are updated here,
        without the whole-screen layout pass that setting ``virtual_size`` costs; a
        scrollbar appearing or going still gets its layout pass (``show_vertical_scrollbar``
        is a layout reactive), since the content width changes."""
        size = Size(self.size.width, height)
        if size == self.virtual_size:
            return
        if not usable(VIRTUAL_HEIGHT, lambda: {"Widget": self}):
            self.virtual_size = size
            return
        self.set_reactive(type(self).virtual_size, size)
        self._scroll_update(size)

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """Textual's own, made as a :class:`QuickScrollBar` (repaints without Rich)."""
        if not usable(QUICK_SCROLLBAR, lambda: {"Widget": self, "App": self.app}):
            return super().vertical_scrollbar
        if self._vertical_scrollbar is None:
            bar = QuickScrollBar(
                vertical=True, name="vertical", thickness=self.scrollbar_size_vertical
            )
            bar.display = False
            self._vertical_scrollbar = bar
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines in ``crop``: :meth:`render_line`'s, then the app's line filters.

        Textual's styles cache, which this skips, would add borders, padding, an outline,
        a tint and opacity, none of which these views have (if the CSS gives them any,
        the cache is used). A test compares the two paths' output.
        """
        if not self.plain_styles():
            return super().render_lines(crop)
        self.before_lines()
        try:
            base, background = self.background_colors
            # the lines span the scrollbar's gutter too (the bar is drawn over it)
            width, pad = self.content_region.width, TextualStyle(base + background).rich_style
            filters = self.get_line_filters()
            strips = []
            for y in crop.line_range:
                strip = self.render_line(y).adjust_cell_length(width, pad)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
                strips.append(strip)
        finally:
            self.after_lines()
        x1, x2 = crop.column_span
        if (x1, x2) != (0, self.size.width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def before_lines(self) -> None:
        """Called before a batch of :meth:`render_line` calls (cache per-frame values)."""

    def after_lines(self) -> None:
        """Called after that batch."""

    def plain_styles(self) -> bool:
        """True if the styles add nothing around or over the lines (see render_lines)."""
        styles = self.styles
        return (
            not any(styles.gutter)
            and not any(edge for edge, _ in styles.outline)
            and styles.tint.a == 0
            and self.opacity == 1.0
            and styles.text_opacity == 1.0
            and (not styles.has_rule("hatch") or styles.hatch == "none")
            and self.border_title is None
            and self.border_subtitle is None
        )
