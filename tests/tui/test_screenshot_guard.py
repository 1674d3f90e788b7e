"""The command palette cannot save a screenshot of a revealed secret."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import SIZE, run, wait_for
from tests.tui.test_detail_editor import open_detail, shown

REVEALED = "demo-password-not-real"


def test_no_screenshot_of_a_revealed_value(demo_app, tmp_path: Path, monkeypatch) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    # where Textual's palette command would save it
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(downloads))
    monkeypatch.setenv("HOME", str(tmp_path))

    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot, "prod/db/password")
            await pilot.press("r")
            await wait_for(pilot, lambda: REVEALED in shown(app, "#detail-value"))
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert "Screenshot" not in titles and "Quit" in titles
            # the palette: typing the command's name offers nothing to run
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
            await pilot.press(*"screenshot")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause(0.5)
            # the action (bindable, or run by name) refuses as well
            await app.run_action(f"screenshot('shot.svg', '{downloads}')")
            await pilot.pause(0.3)
            saved = list(downloads.iterdir()) + list(tmp_path.glob("*.svg"))
            assert saved == [], saved
            assert all(REVEALED not in p.read_text() for p in saved)

    run(go())
