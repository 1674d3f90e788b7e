"""A virtual table of secrets: renders only the visible lines (Line API).

A ``DataTable`` with 100,000 rows takes seconds to rebuild; this widget keeps a list of
names and asks a :class:`~vaultui.index.SecretIndex` for each visible row's metadata in
``render_line``, so showing a new filter result costs the same for 10 rows or 100,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.style import Style as TextualStyle

from core.controlchars import escape_controls
from vaultui.index import SecretIndex, format_tags, format_time, rotation_label, sync_label
from vaultui.widgets.quick_scrollbar import QuickScrollBar


@dataclass(frozen=True)
class Column:
    """One column: its sort key, heading, and width (fixed, or a share of the rest)."""

    key: str
    label: str
    width: int = 0
    share: int = 0


COLUMNS = (
    Column("name", "Name", share=40),
    Column("type", "Type", width=5),
    Column("description", "Description", share=35),
    Column("tags", "Tags", share=25),
    Column("updated", "Updated (UTC)", width=16),
    Column("rotation", "Rotation", width=9),
    Column("sync", "Sync", width=8),
)


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return ""
    if len(text) > width:
        return text[: max(width - 1, 0)] + "…"
    return text.ljust(width)


class SecretsTable(ScrollView, can_focus=True):
    """The browser's list of secrets, one line each, with a cursor and a sticky header.

    Call :meth:`set_rows` with the names to show (any length); metadata is read from the
    index at render time, so rows whose metadata is still loading show "…".
    """

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up", tooltip="Previous secret"),
        Binding(
            "down,j", "cursor_down", "Down", show=False, id="table.down", tooltip="Next secret"
        ),
        Binding(
            "pageup", "page_up", "Page up", show=False, id="table.page_up", tooltip="One page up"
        ),
        Binding(
            "pagedown",
            "page_down",
            "Page down",
            show=False,
            id="table.page_down",
            tooltip="One page down",
        ),
        Binding("home,g", "first", "First", show=False, id="table.first", tooltip="First secret"),
        Binding("end,G", "last", "Last", show=False, id="table.last", tooltip="Last secret"),
        Binding("enter", "select", "Open", id="table.open", tooltip="Open the secret's detail"),
    ]

    COMPONENT_CLASSES = {
        "secrets-table--header",
        "secrets-table--cursor",
        "secrets-table--dim",
        "secrets-table--sorted",
    }

    DEFAULT_CSS = """
    SecretsTable {
        height: 1fr;
        scrollbar-gutter: stable;
        overflow-x: hidden;  /* columns always fit the width: no horizontal bar to paint */
    }
    SecretsTable > .secrets-table--header { text-style: bold; background: $panel; }
    SecretsTable > .secrets-table--cursor { background: $accent 40%; }
    SecretsTable:focus > .secrets-table--cursor { background: $accent; color: $text; }
    SecretsTable > .secrets-table--dim { color: $text-muted; }
    SecretsTable > .secrets-table--sorted { text-style: bold underline; }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True, init=False)
    """Index of the highlighted row in the current rows."""

    class Highlighted(Message):
        """The cursor moved to another secret (``name`` is None when there are no rows)."""

        def __init__(self, table: SecretsTable, name: str | None) -> None:
            super().__init__()
            self.table = table
            self.name = name

        @property
        def control(self) -> SecretsTable:
            """The table that sent the message."""
            return self.table

    class Selected(Message):
        """Enter (or a double click) on a secret."""

        def __init__(self, table: SecretsTable, name: str) -> None:
            super().__init__()
            self.table = table
            self.name = name

        @property
        def control(self) -> SecretsTable:
            """The table that sent the message."""
            return self.table

    class HeaderClicked(Message):
        """A click on a column heading (to sort by it)."""

        def __init__(self, table: SecretsTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> SecretsTable:
            """The table that sent the message."""
            return self.table

    def __init__(self, index: SecretIndex, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = index
        self.rows: Sequence[str] = ()
        self._widths: list[int] = []
        self._widths_for = -1
        # Rendered rows by (name, has cursor, width), valid for one index generation and
        # one set of styles: a filter keystroke mostly shows rows rendered before.
        self._lines: dict[tuple[str, bool, int], Strip] = {}
        self._lines_for: int = -1
        self._styles: tuple[Style, Style, Style] | None = None
        self._frame_width: int | None = None  # the content width, while rendering lines

    # ------------------------------------------------------------------ data

    def set_rows(self, rows: Sequence[str], keep: str | None = None) -> None:
        """Show ``rows`` (names); the cursor stays on ``keep`` if it is still there."""
        self.rows = rows
        self._set_virtual_height(len(rows) + 1)
        row = 0
        if keep is not None:
            found = self.index.locate(rows, keep)
            row = min(self.cursor_row, max(len(rows) - 1, 0)) if found is None else found
        self.cursor_row = max(0, min(row, len(rows) - 1))
        self.refresh()

    def _set_virtual_height(self, height: int) -> None:
        """A new row count without a layout pass of the whole screen (what setting
        ``virtual_size`` does: ~3 ms more per keystroke, and with it the slowest
        keystrokes): the scrollbar and the scroll offset are updated here. A scrollbar
        appearing or going still gets its layout pass (``show_vertical_scrollbar`` is a
        layout reactive), since the columns' width changes."""
        size = Size(self.size.width, height)
        if size != self.virtual_size:
            self.set_reactive(SecretsTable.virtual_size, size)
            self._scroll_update(size)

    @property
    def current(self) -> str | None:
        """The highlighted secret's name, or None."""
        if 0 <= self.cursor_row < len(self.rows):
            return self.rows[self.cursor_row]
        return None

    def watch_cursor_row(self, row: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self, self.current))

    def _scroll_to_cursor(self) -> None:
        height = max(self.scrollable_content_region.height - 1, 1)
        top = round(self.scroll_y)
        row = self.cursor_row
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    # ------------------------------------------------------------------ actions

    def _move(self, delta: int) -> None:
        if self.rows:
            self.cursor_row = max(0, min(self.cursor_row + delta, len(self.rows) - 1))

    def action_cursor_up(self) -> None:
        """Move to the previous secret."""
        self._move(-1)

    def action_cursor_down(self) -> None:
        """Move to the next secret."""
        self._move(1)

    def action_page_up(self) -> None:
        """Move up one page."""
        self._move(-max(self.scrollable_content_region.height - 2, 1))

    def action_page_down(self) -> None:
        """Move down one page."""
        self._move(max(self.scrollable_content_region.height - 2, 1))

    def action_first(self) -> None:
        """Jump to the first secret."""
        self._move(-len(self.rows))

    def action_last(self) -> None:
        """Jump to the last secret."""
        self._move(len(self.rows))

    def action_select(self) -> None:
        """Open the highlighted secret."""
        if self.current is not None:
            self.post_message(self.Selected(self, self.current))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = offset.x + round(self.scroll_x)
            pos = 0
            for column, width in zip(COLUMNS, self._column_widths(), strict=True):
                if pos <= x < pos + width + 1:
                    self.post_message(self.HeaderClicked(self, column.key))
                    return
                pos += width + 1
            return
        row = round(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self.rows):
            if row == self.cursor_row and event.chain >= 2:
                self.action_select()
            self.cursor_row = row

    # ------------------------------------------------------------------ rendering

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """Textual's own, made as a :class:`QuickScrollBar` (repaints without Rich)."""
        if self._vertical_scrollbar is None:
            bar = QuickScrollBar(
                vertical=True, name="vertical", thickness=self.scrollbar_size_vertical
            )
            bar.display = False
            self._vertical_scrollbar = bar
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.rows) + 1)
        self._scroll_to_cursor()

    def _column_widths(self, total: int | None = None) -> list[int]:
        if total is None:
            total = self.scrollable_content_region.width
        if total == self._widths_for and self._widths:
            return self._widths
        fixed = sum(c.width for c in COLUMNS) + len(COLUMNS) - 1
        rest = max(total - fixed, 30)
        shares = sum(c.share for c in COLUMNS)
        widths = [c.width or rest * c.share // shares for c in COLUMNS]
        widths[0] += rest - sum(w for w, c in zip(widths, COLUMNS, strict=True) if c.share)
        self._widths, self._widths_for = widths, total
        return widths

    def _cells(self, name: str) -> list[str]:
        rec = self.index.record(name)
        if rec is None:
            return [name, "…", "", "", "", "", ""]
        return [
            name,
            rec.type,
            escape_controls(rec.description),
            format_tags(rec.tags),
            format_time(rec.updated_ts),
            rotation_label(rec),
            sync_label(rec),
        ]

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines in ``crop``: :meth:`render_line`'s, then the app's line filters.

        Textual's styles cache, which this skips, would add borders, padding, an outline,
        a tint and opacity, none of which this table has (if the CSS gives it any, the
        cache is used), at ~30 us a line of every keystroke's repaint. A test compares
        the two paths' output.
        """
        if not self._plain():
            return super().render_lines(crop)
        self._frame_width = self.scrollable_content_region.width
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
            self._frame_width = None
        x1, x2 = crop.column_span
        if (x1, x2) != (0, self.size.width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def _plain(self) -> bool:
        """True if the styles add nothing around or over the lines (see render_lines)."""
        styles = self.styles
        return (
            not any(styles.gutter)
            and not any(edge for edge, _ in styles.outline)
            and styles.tint.a == 0
            and self.opacity == 1.0
            and styles.text_opacity == 1.0
            and (not styles.has_rule("hatch") or styles.hatch == "none")
            and self._border_title is None
            and self._border_subtitle is None
        )

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the view: the header on 0, then the rows under the scroll offset."""
        width = self._frame_width or self.scrollable_content_region.width
        widths = self._column_widths(width)
        if y == 0:
            style = self.rich_style + self.get_component_rich_style(
                "secrets-table--header", partial=True
            )
            sorted_style = style + self.get_component_rich_style(
                "secrets-table--sorted", partial=True
            )
            arrow = " ▼" if self.index.reverse else " ▲"
            segments = []
            for column, w in zip(COLUMNS, widths, strict=True):
                active = column.key == self.index.sort_key
                label = column.label + (arrow if active else "")
                segments.append(Segment(_fit(label, w), sorted_style if active else style))
                segments.append(Segment(" ", style))
            return Strip(segments).crop(0, width).extend_cell_length(width, style)
        row = round(self.scroll_y) + y - 1
        if row >= len(self.rows):
            return Strip.blank(width, self._row_styles()[0])
        name = self.rows[row]
        if self._lines_for != self.index.generation or len(self._lines) > 4000:
            self._lines = {}
            self._lines_for = self.index.generation
        key = (name, row == self.cursor_row, width)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = self._render_row(name, key[1], width, widths)
        return line

    def _row_styles(self) -> tuple[Style, Style, Style]:
        """(name, other cells, cursor) styles, computed once per style change."""
        if self._styles is None:
            base = self.rich_style
            cursor = base + self.get_component_rich_style("secrets-table--cursor", partial=True)
            dim = self.get_component_rich_style("secrets-table--dim", partial=True)
            self._styles = (base, dim, cursor)
        return self._styles

    def _render_row(self, name: str, on_cursor: bool, width: int, widths: list[int]) -> Strip:
        base, dim_part, cursor = self._row_styles()
        style = cursor if on_cursor else base
        cells = self._cells(name)
        # two segments (the name, then the other cells dimmed): fewer objects per line
        rest = " ".join(_fit(text, w) for text, w in zip(cells[1:], widths[1:], strict=True))
        segments = [
            Segment(_fit(cells[0], widths[0]) + " ", style),
            Segment(rest, style + dim_part),
        ]
        return Strip(segments).crop(0, width).extend_cell_length(width, style)

    def notify_style_update(self) -> None:
        """CSS, theme or pseudo-class (focus, hover) changed: render rows afresh."""
        self._styles = None
        self._lines = {}
        super().notify_style_update()
