"""The idle lock keeps the app running on the lock screen, and keys apply in order.

Keys are posted straight into the app's queue here, all at once, as a terminal delivers
a paste or an auto-typed burst (``pilot.press`` waits for each key to be handled).
"""

from __future__ import annotations

import dataclasses

import pytest
from textual import events

from core.config import Settings
from core.errors import VaultError
from core.vault import KeySource, Vault
from tests.tui.conftest import SIZE, run, screen_name, wait_browser, wait_for
from vaultui.app import VaultApp, create_app

PASSPHRASE = "correct horse battery"


def _burst(app: VaultApp, *keys: str) -> None:
    """Queue ``keys`` in the app at once (Textual key names or single characters)."""
    for key in keys:
        if len(key) == 1:
            app.post_message(events.Key(key, key))
        else:
            app.post_message(events.Key(key, {"enter": "\r", "tab": "\t"}.get(key)))


def _message(app: VaultApp) -> str:
    return str(app.screen.query_one("#unlock-message").render())


def test_idle_lock_shows_the_lock_screen_and_forgets_the_key(passphrase_vault: Settings) -> None:
    s = dataclasses.replace(passphrase_vault, idle_lock_seconds=1)

    async def go() -> None:
        app = create_app(s)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: screen_name(app) == "UnlockScreen")
            app.screen.query_one("#passphrase").value = PASSPHRASE
            await pilot.press("enter")
            await wait_browser(pilot)
            closed_vault = app.manager.vault
            await wait_for(pilot, lambda: app.locks == 1, timeout=5)
            await pilot.pause(1.5)  # well past the idle time: still there, still locked
            assert app.is_running and app.return_value is None
            assert screen_name(app) == "UnlockScreen" and app.screen.mode == "unlock"
            assert app.manager is None and len(app.screen_stack) == 2
            with pytest.raises(VaultError):  # the vault it had open is closed
                closed_vault.names()
            # and it opens again with the passphrase
            app.screen.query_one("#passphrase").value = PASSPHRASE
            await pilot.press("enter")
            await wait_browser(pilot)
            assert app.browser().table.rows == ["only/secret"]
        app.cleanup()
        log = (passphrase_vault.logs_dir / "secrets_audit.log").read_text()
        assert '"operation": "lock"' in log

    run(go())


def test_time_spent_suspended_counts_toward_the_idle_lock(
    passphrase_vault: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app reads the suspend-aware clock (core.clock): a jump of that clock alone,
    as after a lid close, locks the app although the event loop's clock barely moved."""
    import vaultui.app as app_module

    s = dataclasses.replace(passphrase_vault, idle_lock_seconds=600)
    slept = [0.0]
    real = app_module.elapsed_clock
    monkeypatch.setattr(app_module, "elapsed_clock", lambda: real() + slept[0])

    async def go() -> None:
        app = create_app(s)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: screen_name(app) == "UnlockScreen")
            app.screen.query_one("#passphrase").value = PASSPHRASE
            await pilot.press("enter")
            await wait_browser(pilot)
            await pilot.pause(1.2)
            assert app.locks == 0
            slept[0] = 3600.0  # an hour asleep
            await wait_for(pilot, lambda: app.locks == 1, timeout=5)
            assert screen_name(app) == "UnlockScreen" and app.manager is None

    run(go())


def test_passphrase_and_enter_in_one_burst_unlock(passphrase_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(passphrase_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: screen_name(app) == "UnlockScreen")
            _burst(app, *PASSPHRASE, "enter")
            await wait_browser(pilot)
            assert app.browser().table.rows == ["only/secret"]
        app.cleanup()
        log = (passphrase_vault.logs_dir / "secrets_audit.log").read_text()
        assert '"success": false' not in log

    run(go())


def test_create_mode_two_passphrases_in_one_burst(settings: Settings) -> None:
    async def go() -> None:
        app = create_app(settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: screen_name(app) == "UnlockScreen")
            _burst(app, *PASSPHRASE, "enter", *PASSPHRASE, "enter")
            await wait_browser(pilot)
        app.cleanup()
        Vault.open(settings.vault_path, KeySource.passphrase(PASSPHRASE)).close()

    run(go())


def test_name_tab_tab_value_in_one_burst_fill_each_field(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            await pilot.pause()
            _burst(app, *"burst/name", "tab", "tab", *"burst-value", "ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            await pilot.pause()
        app.cleanup()
        vault = Vault.open(
            key_file_vault.vault_path, KeySource.from_key_file(key_file_vault.default_key_file)
        )
        try:
            assert vault.get("burst/name").value == "burst-value"
        finally:
            vault.close()

    run(go())


def test_a_screen_change_then_typing_in_one_burst(key_file_vault: Settings) -> None:
    """Esc (back to the list), / (to the filter) and text, at once: the text is filtered."""

    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            await pilot.pause()
            _burst(app, "escape", "slash", *"web")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            browser = app.browser()
            await wait_for(pilot, lambda: browser.query_one("#filter").value == "web")
            await wait_for(pilot, lambda: browser.table.rows == ["web/session"])
        app.cleanup()

    run(go())
