"""What leaves the app besides a copied secret: text copied from the screen clears
itself too, and no screenshot of a revealed secret can be saved."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import SIZE, run, wait_browser, wait_for
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


def test_text_copied_from_the_screen_clears_itself(demo_app) -> None:
    """Any copy (here: a selection in the filter box, ctrl+c), not only ``c`` on a
    secret, is taken off the clipboard after the delay."""

    async def go() -> None:
        app = demo_app(clipboard_clear_seconds=1)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await pilot.press("slash", *"pasted-by-hand", "ctrl+shift+a", "ctrl+c")
            await wait_for(pilot, lambda: app.clipboard == "pasted-by-hand")
            await wait_for(pilot, lambda: app.clipboard == "", timeout=3)

    run(go())
