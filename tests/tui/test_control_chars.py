"""The app never draws a control character from a description or a tag: a vault
written before they were refused shows them as visible escapes, in the secrets table
and on the detail screen."""

from __future__ import annotations

import pytest

from core.config import Settings
from core.unlock import open_vault
from tests.tui.conftest import SIZE, run, screen_name, wait_browser, wait_for
from vaultui.app import create_app

OSC52 = "deploy key \x1b]52;c;ZXZpbA==\x07 done"


@pytest.fixture
def old_vault(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A key-file vault whose one secret has raw control characters in its labels
    (written with the check bypassed, as an older vault would hold them)."""
    vault = open_vault(settings)
    try:
        with monkeypatch.context() as m:
            m.setattr("core.vault.store.check_label", lambda text, what: text)
            m.setattr("core.vault.store.check_tags", lambda tags: tags)
            vault.put("evil", "evil-value", description=OSC52, tags={"t\x1b[2J": "\x9b1m"})
    finally:
        vault.close()
    return settings


def _text(strip) -> str:
    return "".join(segment.text for segment in strip)


def test_table_and_detail_show_escapes_not_control_characters(old_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(old_vault, panes=())
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            table = app.browser().table
            line = _text(table.render_line(1))
            assert "evil" in line
            assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in line), repr(line)
            assert "deploy key \\x1b]52;c;" in line and "t\\x1b[2J" in line
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            meta = app.screen.query_one("#detail-meta")
            await wait_for(pilot, lambda: "Description" in str(meta.render()))
            shown = str(meta.render())
            assert "\x1b" not in shown and "\x9b" not in shown
            assert "deploy key \\x1b]52;c;ZXZpbA==\\x07 done" in shown
            assert "t\\x1b[2J=\\x9b1m" in shown

    run(go())
