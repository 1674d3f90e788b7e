"""Unlock, create, key sources, and locking (by key and after idle time)."""

from __future__ import annotations

import dataclasses

from core.config import Settings
from core.vault import KeySource, Vault
from tests.tui.conftest import SIZE, run, screen_name, wait_browser, wait_for
from vaultui.app import create_app


def _message(app) -> str:
    return str(app.screen.query_one("#unlock-message").render())


def test_first_run_creates_a_vault_with_a_passphrase_typed_twice(settings: Settings) -> None:
    async def go() -> None:
        app = create_app(settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: screen_name(app) == "UnlockScreen")
            assert app.screen.mode == "create"
            # too short
            await pilot.press(*"short", "enter", *"short", "enter")
            assert "Too short" in _message(app)
            # the strength meter follows the first field
            first = app.screen.query_one("#passphrase")
            first.value = "correct horse battery"
            await pilot.pause()
            meter = app.screen.query_one("#strength")
            assert meter.strength.label in ("strong", "very strong")
            # a different second passphrase is refused
            first.focus()
            await pilot.press("enter")
            app.screen.query_one("#passphrase2").value = "correct horse batterx"
            await pilot.press("enter")
            assert "differ" in _message(app)
            app.screen.query_one("#passphrase2").value = "correct horse battery"
            await pilot.press("enter")
            await wait_browser(pilot)
            assert screen_name(app) == "BrowserScreen"
        app.cleanup()
        # the vault really is protected by that passphrase (and no key file was made)
        assert not settings.default_key_file.exists()
        Vault.open(settings.vault_path, KeySource.passphrase("correct horse battery")).close()

    run(go())


def test_first_run_can_use_a_generated_key_file_instead(settings: Settings) -> None:
    async def go() -> None:
        app = create_app(settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: screen_name(app) == "UnlockScreen")
            await pilot.press("ctrl+n")
            await wait_browser(pilot)
        app.cleanup()
        assert settings.default_key_file.exists()

    run(go())


def test_wrong_passphrase_says_so_and_counts_attempts(passphrase_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(passphrase_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: screen_name(app) == "UnlockScreen")
            assert app.screen.mode == "unlock"
            screen = app.screen
            await pilot.press(*"wrong one", "enter")
            await wait_for(pilot, lambda: screen.failed_attempts == 1 and not screen.busy)
            assert "Wrong passphrase. 1 failed attempt." in _message(app)
            assert screen.query_one("#passphrase").value == ""
            await pilot.press(*"wrong two", "enter")
            await wait_for(pilot, lambda: screen.failed_attempts == 2 and not screen.busy)
            assert "2 failed attempts" in _message(app)
            screen.query_one("#passphrase").value = "correct horse battery"
            await pilot.press("enter")
            await wait_browser(pilot)
            assert app.browser().table.rows == ["only/secret"]
        app.cleanup()
        log = (passphrase_vault.logs_dir / "secrets_audit.log").read_text()
        assert "wrong one" not in log and "correct horse" not in log

    run(go())


def test_a_key_file_skips_the_prompt(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            assert app.browser().table.rows == ["app/api_key", "app/db", "web/session"]
        app.cleanup()

    run(go())


def test_the_master_key_variable_skips_the_prompt_even_on_first_run(settings: Settings) -> None:
    s = dataclasses.replace(settings, master_key="seed-style master key for tests")

    async def go() -> None:
        app = create_app(s)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            assert app.manager.get_status()["key_source"] == "FEDZK_ENCRYPTION_MASTER_KEY"
        app.cleanup()

    run(go())


def test_lock_key_forgets_the_key_and_enter_reopens(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await pilot.press("enter")  # a detail screen on top
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: screen_name(app) == "UnlockScreen")
            assert app.manager is None and app.screen.mode == "locked"
            assert len(app.screen_stack) == 2  # nothing of the vault left underneath
            await pilot.press("enter")
            await wait_browser(pilot)
        app.cleanup()
        log = (key_file_vault.logs_dir / "secrets_audit.log").read_text()
        assert '"operation": "lock"' in log
        assert log.count('"operation": "unlock"') == 2  # opened twice, both audited

    run(go())


def test_idle_timeout_locks_the_vault(key_file_vault: Settings) -> None:
    s = dataclasses.replace(key_file_vault, idle_lock_seconds=1)

    async def go() -> None:
        app = create_app(s)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await wait_for(pilot, lambda: screen_name(app) == "UnlockScreen", timeout=4)
            assert app.manager is None and app.locks == 1
        app.cleanup()

    run(go())
