"""Every screen readable at 80x24 and at 160 columns: footers keep Esc, ? and Ctrl+P,
and the tables give the names the room."""

from __future__ import annotations

import pytest

from tests.tui.conftest import run, screen_name, wait_browser, wait_for
from vaultui.widgets.key_footer import KeyFooter

PANES = [
    ("a", "AuditScreen"),
    ("o", "RotationScreen"),
    ("b", "BackupsScreen"),
    ("y", "SyncScreen"),
    ("i", "StatusScreen"),
]


def _footer_lines(app) -> list[str]:
    footer = app.screen.query_one(KeyFooter)
    return [footer.render_line(y).text.rstrip() for y in range(footer.size.height)]


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
def test_every_pane_footer_keeps_esc_help_and_the_palette(demo_app, size) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=size) as pilot:
            await wait_browser(pilot)
            lines = _footer_lines(app)
            text = "\n".join(lines)
            assert "esc Clear" in text and "? Help" in text and "^p Commands" in text
            assert "q Quit" in text
            for key, name in PANES:
                await pilot.press(key)
                await wait_for(pilot, lambda name=name: screen_name(app) == name)
                await pilot.pause()
                lines = _footer_lines(app)
                text = "\n".join(lines)
                assert "esc Back" in text, (name, lines)
                assert "? Help" in text and "^p Commands" in text, (name, lines)
                assert all(len(line) <= size[0] for line in lines)
                await pilot.press("escape")
                await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")

    run(go())
