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
            m.setattr("core.vault.metadata.check_label", lambda text, what: text)
            m.setattr("core.vault.metadata.check_tags", lambda tags: tags)
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


def test_error_modal_and_toasts_show_provider_text_escaped(old_vault: Settings) -> None:
    from core.errors import ProviderError

    async def go() -> None:
        app = create_app(old_vault, panes=())
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            app.notify("sync failed: " + OSC52, title="t\x1b[2J")
            await wait_for(pilot, lambda: len(app._notifications))
            note = list(app._notifications)[-1]
            assert "\x1b" not in note.message + note.title
            assert "\\x1b]52;c;" in note.message and note.title == "t\\x1b[2J"
            app.show_error(ProviderError("the server said: " + OSC52))
            await wait_for(pilot, lambda: screen_name(app) == "ErrorScreen")
            await wait_for(pilot, lambda: app.screen.query("#error-message"))
            body = str(app.screen.query_one("#error-message").render())
            assert "\x1b" not in body and "\\x1b]52;c;ZXZpbA==\\x07" in body

    run(go())
