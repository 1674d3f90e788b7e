"""What the secrets table and the audit table share: a virtual table with a cursor.

Both render only the visible lines (Line API): line 0 is a sticky header, line ``y``
shows row ``scroll_y + y - 1``. This base keeps the cursor, its keys and clicks, the
scrolling that follows it, and the column layout (fixed widths, shares of the rest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass(frozen=True)
class Column:
    """One column: its key, heading, and width (fixed, or a share of the rest, at most
    ``most`` cells if set); ``clip`` keeps only ``text[start:stop]`` of each cell (a
    date without its time)."""

    key: str
    label: str
    width: int = 0
    share: int = 0
    clip: tuple[int, int] | None = None
    most: int = 0

    def text(self, value: str) -> str:
        """The cell's text for ``value`` (clipped, not yet fitted)."""
        return value[self.clip[0] : self.clip[1]] if self.clip else value


def pick_columns(
    layouts: Sequence[tuple[int, tuple[Column, ...]]], total: int
) -> tuple[Column, ...]:
    """The first layout whose minimum width (``layouts`` widest first) ``total`` reaches;
    the last one if none."""
    for least, columns in layouts:
        if total >= least:
            return columns
    return layouts[-1][1]


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` in exactly ``width`` cells: cut with an ellipsis, or padded."""
    if width <= 0:
        return ""
    if len(text) > width:
        return text[: max(width - 1, 0)] + "…"
    return text.rjust(width) if right else text.ljust(width)


def layout_columns(
    columns: Sequence[Column], total: int, least_rest: int, *, fill: bool
) -> list[int]:
    """Widths of ``columns`` in ``total`` cells (one-cell gaps between them).

    Shared columns split what the fixed ones leave (at least ``least_rest``); with
    ``fill`` the first shared column also takes the cells the shares' rounding left.
    """
    fixed = sum(c.width for c in columns) + len(columns) - 1
    rest = max(total - fixed, least_rest)
    shares = sum(c.share for c in columns)
    widths = [c.width or rest * c.share // shares for c in columns]
    if fill:
        first = next(i for i, c in enumerate(columns) if c.share)
        widths[first] += rest - sum(w for w, c in zip(widths, columns, strict=True) if c.share)
    # a capped column's excess goes to the first shared column without a cap
    spare = sum(max(w - c.most, 0) for w, c in zip(widths, columns, strict=True) if c.most)
    if spare:
        widths = [min(w, c.most) if c.most else w for w, c in zip(widths, columns, strict=True)]
        to = next((i for i, c in enumerate(columns) if c.share and not c.most), None)
        if to is not None:
            widths[to] += spare
    return widths


def cursor_bindings(
    prefix: str, noun: str, *, first: str, last: str, open_label: str, open_tip: str
) -> list[BindingType]:
    """The table keys (arrows/jk, pages, home/end/gG, Enter), ids under ``prefix``."""
    return [
        Binding(
            "up,k", "cursor_up", "Up", show=False, id=f"{prefix}.up", tooltip=f"Previous {noun}"
        ),
        Binding(
            "down,j", "cursor_down", "Down", show=False, id=f"{prefix}.down", tooltip=f"Next {noun}"
        ),
        Binding(
            "pageup",
            "page_up",
            "Page up",
            show=False,
            id=f"{prefix}.page_up",
            tooltip="One page up",
        ),
        Binding(
            "pagedown",
            "page_down",
            "Page down",
            show=False,
            id=f"{prefix}.page_down",
            tooltip="One page down",
        ),
        Binding("home,g", "first", "First", show=False, id=f"{prefix}.first", tooltip=first),
        Binding("end,G", "last", "Last", show=False, id=f"{prefix}.last", tooltip=last),
        Binding(
            "enter", "select", open_label, id=f"{prefix}.{open_label.lower()}", tooltip=open_tip
        ),
    ]


def header_strip(
    cells: Sequence[tuple[str, Style]], widths: Sequence[int], width: int, style: Style
) -> Strip:
    """The header line: each ``(text, style)`` fitted to its width, one-cell gaps
    (pass text already fitted to align it otherwise)."""
    segments = []
    for (text, cell_style), w in zip(cells, widths, strict=True):
        segments.append(Segment(fit(text, w), cell_style))
        segments.append(Segment(" ", style))
    return Strip(segments).crop(0, width).extend_cell_length(width, style)


class VirtualTable(ScrollView, can_focus=True):
    """A virtual table's cursor, keys, clicks and scrolling (see the module docstring).

    Subclasses give :attr:`row_count`, render lines, and may override :meth:`go_to`
    (to track more state), :meth:`action_select`, :meth:`header_clicked`,
    :meth:`forget_lines` and :meth:`cursor_moved`.
    """

    cursor_row: reactive[int] = reactive(0, always_update=True, init=False)
    """Index of the highlighted row."""

    @property
    def row_count(self) -> int:
        """How many rows the table shows."""
        raise NotImplementedError

    def go_to(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped to the rows)."""
        if self.row_count:
            self.cursor_row = max(0, min(index, self.row_count - 1))

    def watch_cursor_row(self, row: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self.cursor_moved(row)

    def cursor_moved(self, row: int) -> None:
        """The cursor is on ``row`` now (post a message here)."""

    def _scroll_to_cursor(self) -> None:
        height = max(self.scrollable_content_region.height - 1, 1)
        top = round(self.scroll_y)
        row = self.cursor_row
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    # ------------------------------------------------------------------ actions

    def _page(self) -> int:
        return max(self.scrollable_content_region.height - 2, 1)

    def action_cursor_up(self) -> None:
        """Move to the previous row."""
        self.go_to(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        """Move to the next row."""
        self.go_to(self.cursor_row + 1)

    def action_page_up(self) -> None:
        """Move up one page."""
        self.go_to(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        """Move down one page."""
        self.go_to(self.cursor_row + self._page())

    def action_first(self) -> None:
        """Jump to the first row."""
        self.go_to(0)

    def action_last(self) -> None:
        """Jump to the last row."""
        self.go_to(self.row_count - 1)

    def action_select(self) -> None:
        """Enter (or a double click) on the highlighted row."""

    def header_clicked(self, x: int) -> None:
        """A click on the header at content column ``x``."""

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            self.header_clicked(offset.x + round(self.scroll_x))
            return
        row = round(self.scroll_y) + offset.y - 1
        if 0 <= row < self.row_count:
            if row == self.cursor_row and event.chain >= 2:
                self.action_select()
            self.go_to(row)

    # ------------------------------------------------------------------ rendering

    def forget_lines(self) -> None:
        """Drop rendered lines kept for reuse (the width changed)."""

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, self.row_count + 1)
        self.forget_lines()
        self._scroll_to_cursor()
