"""Rename (``m``) and copy to a new name (``M``) from the detail screen."""

from __future__ import annotations

from core.config import Settings
from tests.trail import app_events, has_event
from tests.tui.conftest import SIZE, filter_to, run, screen_name, wait_browser, wait_for
from vaultui.app import create_app


async def open_detail(pilot, name: str) -> None:
    app = pilot.app
    await wait_browser(pilot)
    await filter_to(pilot, name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
    await wait_for(pilot, lambda: app.screen.record is not None)


async def answer(pilot, key: str, new_name: str) -> None:
    app = pilot.app
    await pilot.press(key)
    await wait_for(pilot, lambda: screen_name(app) == "NewNameScreen")
    box = app.screen.query_one("#new-name")
    box.value = new_name
    await pilot.press("enter")


def test_rename_from_the_detail_screen(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot, "app/api_key")
            await answer(pilot, "m", "bad name!")  # refused in the dialog, which stays
            error = app.screen.query_one("#new-name-error")
            await wait_for(pilot, lambda: str(error.render()) != "")
            assert screen_name(app) == "NewNameScreen"
            app.screen.query_one("#new-name").value = "app/renamed_key"
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            browser = app.screen
            await wait_for(pilot, lambda: "app/renamed_key" in browser.index.records)
            assert "app/api_key" not in browser.index.records
            vault = app.manager.vault
            assert vault.get("app/renamed_key").value == "canary-api-value-1"
            assert vault.record("app/renamed_key").tags == {"env": "prod"}
            assert vault.record("app/api_key") is None
            assert has_event(app_events(app), operation="rename", secret_name="app/api_key")

    run(go())


def test_copy_to_and_replace_after_asking(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot, "web/session")
            await answer(pilot, "M", "web/session_copy")
            await wait_for(pilot, lambda: app.manager.vault.record("web/session_copy") is not None)
            assert screen_name(app) == "DetailScreen"  # a copy keeps the screen
            assert app.manager.vault.get("web/session_copy").value == "canary-session-value"
            # copying over an existing secret asks first
            await answer(pilot, "M", "app/api_key")
            await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
            await pilot.press("y")
            await wait_for(
                pilot,
                lambda: app.manager.vault.get("app/api_key").value == "canary-session-value",
            )
            assert app.manager.vault.record("app/api_key").version == 2

    run(go())
