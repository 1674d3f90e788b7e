"""A virtual table of audit events over an :class:`~core.audit.view.EventView`.

Only the visible lines are rendered (Line API, as Textualize/toolong does): each
``render_line`` asks the view for one row (read from the log a block at a time and
cached) and keeps the rendered strip in an LRU cache, so a view of a million events
scrolls as fast as one of ten.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from core.service.audit import EventView, Row, display_fields
from vaultui.widgets.virtual_table import (
    Column,
    VirtualTable,
    cursor_bindings,
    fit,
    header_strip,
    layout_columns,
    pick_columns,
)

COLUMNS = (
    Column("seq", "Seq", width=8),
    Column("time", "Time (UTC)", width=20),
    Column("ok", "OK", width=2),
    Column("operation", "Operation", width=17),  # "provider_fallback" whole
    Column("secret", "Secret", share=40),
    Column("user", "User", width=12),
    Column("source", "Source", width=7),
    Column("error", "Error / message", share=35),
)

NARROW_COLUMNS = (
    Column("seq", "Seq", width=6),
    Column("time", "Time (UTC)", width=14, clip=(5, 19)),  # "12-04 15:50:13"
    Column("ok", "OK", width=2),
    Column("operation", "Operation", width=14),
    Column("secret", "Secret", share=50),
    Column("error", "Error / message", share=40),
)
"""Under 110 columns: no user and source (the details show them), a shorter time."""

LAYOUTS = ((110, COLUMNS), (0, NARROW_COLUMNS))


class AuditTable(VirtualTable):
    """Audit events, one per line, with a cursor and a sticky header row.

    Give it a loaded view with :meth:`set_view`; call :meth:`rows_added` after the view
    grew. ``follow`` keeps the cursor on the newest event as the log grows.
    """

    BINDINGS = cursor_bindings(
        "audit.table",
        "event",
        first="Oldest event",
        last="Newest event (and follow new ones)",
        open_label="Details",
        open_tip="Show every field of the highlighted event",
    )

    COMPONENT_CLASSES = {
        "audit-table--header",
        "audit-table--cursor",
        "audit-table--failed",
        "audit-table--alert",
        "audit-table--dim",
        "audit-table--match",
    }

    DEFAULT_CSS = """
    AuditTable {
        height: 1fr;
        scrollbar-gutter: stable;
    }
    AuditTable > .audit-table--header { text-style: bold; background: $panel; }
    AuditTable > .audit-table--cursor { background: $accent 40%; }
    AuditTable:focus > .audit-table--cursor { background: $accent; color: $text; }
    AuditTable > .audit-table--failed { color: $error; }
    AuditTable > .audit-table--alert { color: $warning; text-style: bold; }
    AuditTable > .audit-table--dim { color: $text-muted; }
    AuditTable > .audit-table--match { text-style: underline; }
    """

    follow: reactive[bool] = reactive(True, init=False)
    """Keep the cursor on the newest event when rows are added (live tail)."""

    class Highlighted(Message):
        """The cursor moved; ``row`` is the view row (None when the view is empty)."""

        def __init__(self, table: AuditTable, row: Row | None, index: int) -> None:
            super().__init__()
            self.table = table
            self.row = row
            self.index = index

        @property
        def control(self) -> AuditTable:
            """The table that sent the message."""
            return self.table

    class Selected(Message):
        """Enter (or a double click) on an event."""

        def __init__(self, table: AuditTable, row: Row) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> AuditTable:
            """The table that sent the message."""
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: EventView | None = None
        self._strips: LRUCache[tuple[int, int, bool, int], Strip] = LRUCache(1024)
        self._generation = 0
        self._widths: list[int] = []
        self._columns: tuple[Column, ...] = COLUMNS  # the layout for the width in _widths_for
        self._widths_for = -1

    # ------------------------------------------------------------------ data

    @property
    def row_count(self) -> int:
        """How many events the table shows."""
        return len(self.view) if self.view is not None else 0

    def set_view(self, view: EventView, keep_n: int | None = None) -> None:
        """Show ``view`` (already loaded). The cursor goes to the event with index row
        ``keep_n`` if it is in the view, else to the newest event."""
        self.view = view
        self._generation += 1
        self._strips.clear()
        count = len(view)
        self.virtual_size = Size(self.size.width, count + 1)
        target = count - 1
        if keep_n is not None:
            found = view.index_of(keep_n)
            if found is not None:
                target = found
                self.follow = found == count - 1
        self.cursor_row = max(0, target)
        self.refresh()

    def rows_added(self) -> None:
        """The view grew: resize, and follow the newest event when following."""
        count = self.row_count
        self._generation += 1
        self._strips.clear()
        self.virtual_size = Size(self.size.width, count + 1)
        if self.follow and count:
            self.cursor_row = count - 1
        else:
            self.refresh()

    def invalidate(self) -> None:
        """Forget rendered lines (after a style or data change)."""
        self._generation += 1
        self._strips.clear()
        self.refresh()

    @property
    def current(self) -> Row | None:
        """The highlighted row, or None."""
        if self.view is None or not 0 <= self.cursor_row < self.row_count:
            return None
        return self.view.row(self.cursor_row)

    def go_to(self, index: int) -> None:
        """Put the cursor on view row ``index`` (stops following unless it is the last)."""
        if self.row_count:
            index = max(0, min(index, self.row_count - 1))
            self.follow = index == self.row_count - 1
            self.cursor_row = index

    def cursor_moved(self, row: int) -> None:
        self.post_message(self.Highlighted(self, self.current, row))

    def action_first(self) -> None:
        """Jump to the oldest event."""
        self.go_to(0)

    def action_last(self) -> None:
        """Jump to the newest event and follow new ones."""
        self.go_to(self.row_count - 1)
        self.follow = True

    def action_select(self) -> None:
        """Show the highlighted event's details."""
        row = self.current
        if row is not None:
            self.post_message(self.Selected(self, row))

    # ------------------------------------------------------------------ rendering

    def forget_lines(self) -> None:
        self._strips.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _column_widths(self) -> list[int]:
        total = self.scrollable_content_region.width
        if total != self._widths_for or not self._widths:
            self._columns = pick_columns(LAYOUTS, total)
            self._widths = layout_columns(self._columns, total, 20, fill=False)
            self._widths_for = total
        return self._widths

    def render_line(self, y: int) -> Strip:
        """Line ``y``: the header on 0, then the events under the scroll offset."""
        width = self.scrollable_content_region.width
        widths = self._column_widths()
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("audit-table--header", partial=True)
            cells = [
                (fit(c.label, w, c.key == "seq"), style)
                for c, w in zip(self._columns, widths, strict=True)
            ]
            return header_strip(cells, widths, width, style)
        index = round(self.scroll_y) + y - 1
        if index >= self.row_count or self.view is None:
            return Strip.blank(width, base)
        is_cursor = index == self.cursor_row
        key = (index, width, is_cursor, self._generation)
        cached = self._strips.get(key)
        if cached is not None:
            return cached
        strip = self._render_row(index, widths, width, base, is_cursor)
        self._strips[key] = strip
        return strip

    def _render_row(
        self, index: int, widths: list[int], width: int, base: Style, is_cursor: bool
    ) -> Strip:
        row = self.view.row(index) if self.view is not None else None
        style = base
        if is_cursor:
            style = base + self.get_component_rich_style("audit-table--cursor", partial=True)
        if row is None or row.event is None:
            text = "(unreadable line)" if row is not None else "…"
            return Strip([Segment(fit(text, width), style)]).extend_cell_length(width, style)
        fields = display_fields(row.event)
        dim = style + self.get_component_rich_style("audit-table--dim", partial=True)
        accent = style
        if row.event.get("operation") == "alert":
            accent = style + self.get_component_rich_style("audit-table--alert", partial=True)
        elif row.event.get("success") is False:
            accent = style + self.get_component_rich_style("audit-table--failed", partial=True)
        segments = []
        for column, w in zip(self._columns, widths, strict=True):
            text = column.text(fields[column.key])
            if column.key in ("seq", "time", "source"):
                cell_style = dim
            elif column.key in ("ok", "operation", "error"):
                cell_style = accent
            else:
                cell_style = style
            segments.append(Segment(fit(text, w, column.key == "seq"), cell_style))
            segments.append(Segment(" ", style))
        return Strip(segments).crop(0, width).extend_cell_length(width, style)
