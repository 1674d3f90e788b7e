"""A damaged vault is not a dead end in the app: Ctrl+R on the unlock screen recovers it."""

from __future__ import annotations

from core.config import Settings
from core.errors import IntegrityError
from core.secrets_manager import SecretsManager
from core.vault import KeySource, Vault
from tests.tui.conftest import SIZE, run, screen_name, wait_browser, wait_for
from vaultui.app import create_app
from vaultui.screens.dialogs import ConfirmScreen, ErrorScreen


def test_ctrl_r_recovers_a_damaged_vault_from_its_latest_backup(key_file_vault: Settings) -> None:
    manager = SecretsManager(key_file_vault)
    manager.backup_manager.create_backup("nightly")
    manager.close()
    data = bytearray(key_file_vault.vault_path.read_bytes())
    data[100] ^= 0xFF  # the file's header
    key_file_vault.vault_path.write_bytes(bytes(data))

    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen))
            assert "backup recover" in app.screen.message  # the hint names the way out
            await pilot.press("escape")
            unlock = app.screen
            assert screen_name(app) == "UnlockScreen" and unlock.damaged
            message = str(unlock.query_one("#unlock-message").render())
            assert "Press Ctrl+R to recover" in message
            await pilot.press("ctrl+r")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await wait_browser(pilot)
            assert app.browser().table.rows == ["app/api_key", "app/db", "web/session"]
            assert any("Recovered 3 secrets" in n.message for n in app._notifications)
        app.cleanup()
        aside = list(key_file_vault.vault_path.parent.glob("vault.db.damaged-*"))
        assert len(aside) == 1 and aside[0].read_bytes() == bytes(data)

    run(go())


def _damage_a_record(settings: Settings) -> None:
    """Flip one byte that the vault reports when reading a secret (not when opening)."""
    path = settings.vault_path
    original = path.read_bytes()
    for offset in range(4096, len(original), 97):
        data = bytearray(original)
        data[offset] ^= 0xFF
        path.write_bytes(bytes(data))
        try:
            vault = Vault.open(path, KeySource.from_key_file(settings.default_key_file))
        except IntegrityError:
            continue  # the file as a whole: not what this test wants
        try:
            for name in vault.names():
                vault.get(name)
        except IntegrityError:
            return
        finally:
            vault.close()
    path.write_bytes(original)
    raise AssertionError("no byte of a record found")


def test_after_a_lock_ctrl_r_recovers_a_vault_with_a_damaged_record(
    key_file_vault: Settings,
) -> None:
    manager = SecretsManager(key_file_vault)
    manager.backup_manager.create_backup("nightly")
    manager.close()

    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: screen_name(app) == "UnlockScreen")
            _damage_a_record(key_file_vault)  # e.g. a bad sector, found on the next read
            await pilot.press("ctrl+r")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await wait_browser(pilot)
            assert app.browser().table.rows == ["app/api_key", "app/db", "web/session"]
            assert app.manager.get_secret("app/api_key") == "canary-api-value-1"
        app.cleanup()
        assert len(list(key_file_vault.vault_path.parent.glob("vault.db.damaged-*"))) == 1

    run(go())
