"""The secrets table draws its lines without Textual's styles cache, and the same."""

from __future__ import annotations

import asyncio

import pytest
from textual.geometry import Region
from textual.widget import Widget

from tests.tui.test_quick_scrollbar import NAMES, TableApp
from vaultui.widgets.secrets_table import SecretsTable


def _stock_lines(table: SecretsTable, crop: Region) -> list:
    """What Textual's own path (the styles cache) draws for the same lines."""
    table._styles_cache.clear()
    return Widget.render_lines(table, crop)


def _segments(strips: list) -> list:
    return [list(strip) for strip in strips]


@pytest.mark.parametrize("no_color", [False, True])
def test_the_table_draws_exactly_what_the_styles_cache_draws(no_color, monkeypatch) -> None:
    """Rows, cursor (focused or not), scrolled, with and without a scrollbar, whole and
    cropped; and with NO_COLOR set, the app's monochrome line filter is applied too."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")

    async def go() -> None:
        app = TableApp()
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.query_one(SecretsTable)
            await pilot.pause()
            assert table.plain_styles()
            assert no_color == any(type(f).__name__ == "Monochrome" for f in app._filters)
            width, height = table.size
            crops = [
                Region(0, 0, width, height),
                Region(0, 4, width, 7),  # a band of rows, as a partial repaint asks
                Region(10, 0, 30, height),  # a column band (a dialog's edge over it)
            ]
            checked = 0
            for rows, keys in ((NAMES, ("end", "pageup", "home")), (NAMES[:12], ("down",))):
                table.set_rows(rows)
                await pilot.pause()
                for focused in (True, False):
                    table.focus() if focused else table.blur()
                    for key in keys:
                        await pilot.press(key)
                        await pilot.pause()
                        for crop in crops:
                            quick = _segments(table.render_lines(crop))
                            assert quick == _segments(_stock_lines(table, crop))
                            assert len(quick) == crop.height
                            checked += 1
            assert checked == 2 * 3 * 3 + 2 * 1 * 3

    asyncio.run(go())


def test_a_table_with_a_border_or_padding_goes_through_the_styles_cache() -> None:
    async def go() -> None:
        app = TableApp()
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.query_one(SecretsTable)
            table.styles.border = ("round", "red")
            table.styles.padding = (0, 1)
            await pilot.pause()
            assert not table.plain_styles()
            lines = table.render_lines(Region(0, 0, *table.size))
            assert lines[0].text.startswith("╭") and lines[1].text.startswith("│ Name")

    asyncio.run(go())
