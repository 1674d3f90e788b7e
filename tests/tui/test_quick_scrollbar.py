"""The secrets table's scrollbar looks and acts like Textual's own, only drawn faster."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.scrollbar import ScrollBar

from vaultui.fast.quick_scrollbar import QuickScrollBar
from vaultui.index import SecretIndex
from vaultui.widgets.secrets_table import SecretsTable

NAMES = [f"app/service{i:05d}/password" for i in range(3000)]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.index = SecretIndex()
        self.index.set_names(list(NAMES))

    def compose(self) -> ComposeResult:
        yield SecretsTable(self.index, id="secrets")

    def on_mount(self) -> None:
        table = self.query_one(SecretsTable)
        table.set_rows(self.index.order)
        table.focus()


def _with_table(check) -> None:
    """Run ``check(pilot, table, bar)`` on a started TableApp."""

    async def go() -> None:
        app = TableApp()
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.query_one(SecretsTable)
            await pilot.pause()
            await check(pilot, table, table.vertical_scrollbar)

    asyncio.run(go())


def _stock_lines(bar: QuickScrollBar, crop: Region) -> list:
    """What Textual's ScrollBar draws for the same bar (its Rich-console path)."""
    bar._styles_cache.clear()
    bar._dirty_regions.add(bar.region)  # force Textual to render afresh
    return ScrollBar.render_lines(bar, crop)


def test_the_table_scrollbar_draws_exactly_what_textual_draws() -> None:
    async def check(pilot, table, bar) -> None:
        assert isinstance(bar, QuickScrollBar) and bar.display
        full = Region(0, 0, *bar.size)
        checked = 0
        for key in ("end", "pageup", "pageup", "home", "pagedown"):
            await pilot.press(key)
            await pilot.pause()
            for crop in (full, Region(0, 3, bar.size.width, 5)):
                quick = bar.render_lines(crop)
                assert [list(s) for s in quick] == [list(s) for s in _stock_lines(bar, crop)]
                checked += 1
            # the thumb moved with the cursor: some cell carries the grab action
            lines = bar.render_lines(full)
            metas = [seg.style.meta for line in lines for seg in line if seg.style]
            assert any(m.get("@mouse.down") == "grab" for m in metas)
        assert checked == 10
        # fewer rows: a bigger thumb, and the cached lines are not reused
        before = [list(s) for s in bar.render_lines(full)]
        table.set_rows(NAMES[:60])
        await pilot.pause()
        after = [list(s) for s in bar.render_lines(full)]
        assert after != before
        assert after == [list(s) for s in _stock_lines(bar, full)]

    _with_table(check)


def test_clicking_below_the_thumb_scrolls_down() -> None:
    async def check(pilot, table, bar) -> None:
        assert table.scroll_y == 0
        await pilot.click(bar, offset=(0, bar.size.height - 2))
        await pilot.pause()
        assert table.scroll_y > 0

    _with_table(check)


def test_a_new_row_count_updates_the_scrollbar_without_a_screen_layout() -> None:
    """set_rows skips the whole-screen layout pass, yet the scrollbar follows the row
    count, goes when the rows fit (the columns get its width back) and comes back."""

    async def check(pilot, table, bar) -> None:
        wide = table.scrollable_content_region.width
        assert table.show_vertical_scrollbar and bar.window_virtual_size == len(NAMES) + 1
        table.set_rows(NAMES[:500])
        await pilot.pause()
        assert bar.window_virtual_size == 501
        table.action_last()
        table.set_rows(NAMES[:10])  # fits: no scrollbar, scrolled back to the top
        await pilot.pause()
        assert not table.show_vertical_scrollbar and table.scroll_y == 0
        assert table.scrollable_content_region.width == wide + bar.size.width
        assert NAMES[9][:16] in "".join(s.text for s in table.render_line(10))
        table.set_rows(NAMES)
        await pilot.pause()
        assert table.show_vertical_scrollbar and bar.window_virtual_size == len(NAMES) + 1
        assert table.scrollable_content_region.width == wide

    _with_table(check)
