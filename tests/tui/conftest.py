"""Fixtures for the app's tests: vault homes, the demo app, and waiting helpers."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable

import pytest

from core.config import Settings
from core.unlock import open_vault
from core.vault import Argon2Params, KeySource, Vault
from vaultui.app import VaultApp, create_app

SIZE = (120, 36)


async def wait_for(pilot, condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Let the app run until ``condition()`` is truthy (fails the test on timeout)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.02)


async def wait_browser(pilot) -> None:
    """Wait until the browser shows the vault with all metadata loaded."""
    app = pilot.app
    await wait_for(pilot, lambda: app.browser() is not None and app.browser().loaded)
    await pilot.pause()


async def filter_to(pilot, text: str) -> None:
    """Put ``text`` in the browser's filter box at once (typing costs ~80 ms a key)."""
    browser = pilot.app.browser()
    browser.query_one("#filter").value = text
    await pilot.pause()


def screen_name(app: VaultApp) -> str:
    return type(app.screen).__name__


@pytest.fixture
def key_file_vault(settings: Settings) -> Settings:
    """A home with a vault opened by an auto-generated key file, holding three secrets."""
    vault = open_vault(settings)  # no key configured: generates vault.key
    try:
        vault.put("app/api_key", "canary-api-value-1", description="API key", tags={"env": "prod"})
        vault.put(
            "app/db",
            {"host": "db.local", "port": 5432, "password": "canary-db-pw"},
            description="database",
            tags={"env": "prod", "team": "core"},
        )
        vault.put(
            "web/session", "canary-session-value", description="cookie key", tags={"env": "dev"}
        )
    finally:
        vault.close()
    return settings


@pytest.fixture
def passphrase_vault(settings: Settings) -> Settings:
    """A home with a vault protected by the passphrase 'correct horse battery'."""
    from core.config import ensure_home

    ensure_home(settings)
    vault = Vault.create(
        settings.vault_path, KeySource.passphrase("correct horse battery"), kdf=Argon2Params.fast()
    )
    vault.put("only/secret", "canary-only-value")
    vault.close()
    return settings


@pytest.fixture
def demo_app(settings: Settings):
    """A factory for the demo app (fixed sample secrets), with an optional settings change."""
    apps: list[VaultApp] = []

    def make(**changes) -> VaultApp:
        s = dataclasses.replace(settings, **changes) if changes else settings
        app = create_app(s, demo=True)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.cleanup()


def other_process_vault(settings: Settings) -> Vault:
    """Open the home's vault again, as another process would (its own connection)."""
    return Vault.open(settings.vault_path, KeySource.from_key_file(settings.default_key_file))


def run(coro):
    return asyncio.run(coro)
