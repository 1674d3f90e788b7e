"""A virtual table of secrets: renders only the visible lines (Line API).

A ``DataTable`` with 100,000 rows takes seconds to rebuild; this widget keeps a list of
names and asks a :class:`~vaultui.index.SecretIndex` for each visible row's metadata in
``render_line``, so showing a new filter result costs the same for 10 rows or 100,000.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.message import Message
from textual.strip import Strip

from core.controlchars import escape_controls
from vaultui.fast.scroll_view import FastScrollView
from vaultui.index import SecretIndex, format_tags, format_time, rotation_label, sync_label
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
    Column("name", "Name", share=40, most=40),
    Column("type", "Type", width=5),
    Column("description", "Description", share=35),
    Column("tags", "Tags", share=25),
    Column("updated", "Updated (UTC)", width=16),
    Column("rotation", "Rotation", width=9),
    Column("sync", "Sync", width=8),
)

NARROW_COLUMNS = (
    Column("name", "Name", share=60),
    Column("type", "Type", width=5),
    Column("description", "Description", share=25),
    Column("tags", "Tags", share=15),
    Column("updated", "Updated", width=10, clip=(0, 10)),
    Column("rotation", "Rotation", width=9),
)
"""Under 100 columns: the names get most of the room; the date without its time, and
no sync column (the detail screen shows it)."""

LAYOUTS = ((100, COLUMNS), (0, NARROW_COLUMNS))


class SecretsTable(VirtualTable, FastScrollView):
    """The browser's list of secrets, one line each, with a cursor and a sticky header.

    Call :meth:`set_rows` with the names to show (any length); metadata is read from the
    index at render time, so rows whose metadata is still loading show "…".
    """

    BINDINGS = cursor_bindings(
        "table",
        "secret",
        first="First secret",
        last="Last secret",
        open_label="Open",
        open_tip="Open the secret's detail",
    )

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
        self._columns: tuple[Column, ...] = COLUMNS  # the layout for the width in _widths_for
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
        self.set_virtual_height(len(rows) + 1)
        row = 0
        if keep is not None:
            found = self.index.locate(rows, keep)
            row = min(self.cursor_row, max(len(rows) - 1, 0)) if found is None else found
        self.cursor_row = max(0, min(row, len(rows) - 1))
        self.refresh()

    @property
    def row_count(self) -> int:
        """How many secrets the table shows."""
        return len(self.rows)

    @property
    def current(self) -> str | None:
        """The highlighted secret's name, or None."""
        if 0 <= self.cursor_row < len(self.rows):
            return self.rows[self.cursor_row]
        return None

    def cursor_moved(self, row: int) -> None:
        self.post_message(self.Highlighted(self, self.current))

    def action_select(self) -> None:
        """Open the highlighted secret."""
        if self.current is not None:
            self.post_message(self.Selected(self, self.current))

    def header_clicked(self, x: int) -> None:
        pos = 0
        widths = self._column_widths()
        for column, width in zip(self._columns, widths, strict=True):
            if pos <= x < pos + width + 1:
                self.post_message(self.HeaderClicked(self, column.key))
                return
            pos += width + 1

    # ------------------------------------------------------------------ rendering

    def _column_widths(self, total: int | None = None) -> list[int]:
        if total is None:
            total = self.scrollable_content_region.width
        if total != self._widths_for or not self._widths:
            self._columns = pick_columns(LAYOUTS, total)
            self._widths = layout_columns(self._columns, total, 30, fill=True)
            self._widths_for = total
        return self._widths

    def _cells(self, name: str) -> dict[str, str]:
        rec = self.index.record(name)
        if rec is None:
            return {"name": name, "type": "…"}
        return {
            "name": name,
            "type": rec.type,
            "description": escape_controls(rec.description),
            "tags": format_tags(rec.tags),
            "updated": format_time(rec.updated_ts),
            "rotation": rotation_label(rec),
            "sync": sync_label(rec),
        }

    def before_lines(self) -> None:
        self._frame_width = self.scrollable_content_region.width

    def after_lines(self) -> None:
        self._frame_width = None

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
            cells = [
                (column.label + arrow, sorted_style)
                if column.key == self.index.sort_key
                else (column.label, style)
                for column in self._columns
            ]
            return header_strip(cells, widths, width, style)
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
        columns = self._columns
        # two segments (the name, then the other cells dimmed): fewer objects per line
        rest = " ".join(
            fit(c.text(cells.get(c.key, "")), w)
            for c, w in zip(columns[1:], widths[1:], strict=True)
        )
        segments = [
            Segment(fit(cells["name"], widths[0]) + " ", style),
            Segment(rest, style + dim_part),
        ]
        return Strip(segments).crop(0, width).extend_cell_length(width, style)

    def notify_style_update(self) -> None:
        """CSS, theme or pseudo-class (focus, hover) changed: render rows afresh."""
        self._styles = None
        self._lines = {}
        super().notify_style_update()
