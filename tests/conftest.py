"""Shared fixtures: an isolated vault home per test, with the environment cleaned."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import Settings
from core.vault import Argon2Params

# Variables that would make a test touch the developer's real vault or a real cloud.
_SCRUB_PREFIXES = ("FEDZK_", "VAULTUI_", "VAULT_", "AWS_", "AZURE_", "GOOGLE_", "GCP_")

FAST_ARGON2 = "t=1,m=1024,p=1"


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A copy of os.environ without vaultui/provider settings, pointing at ``home``.

    Argon2 is set cheap (VAULTUI_ARGON2) so tests that create passphrase vaults are fast.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES)}
    env["VAULTUI_HOME"] = str(home)
    env["VAULTUI_ARGON2"] = FAST_ARGON2
    env.update(extra)
    return env


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty vault home; os.environ points at it and holds no vaultui settings."""
    h = tmp_path / "home"
    for key in list(os.environ):
        if key.startswith(_SCRUB_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.setenv("VAULTUI_HOME", str(h))
    monkeypatch.setenv("VAULTUI_ARGON2", FAST_ARGON2)
    return h


@pytest.fixture
def settings(home: Path) -> Settings:
    """Settings read from the cleaned environment."""
    return Settings.from_env()


@pytest.fixture
def fast_kdf() -> Argon2Params:
    """Cheap Argon2 parameters for tests (never for real data)."""
    return Argon2Params.fast()


@pytest.fixture
def manager(settings: Settings) -> Iterator[object]:
    """A SecretsManager on a fresh home with an auto-generated key file."""
    from core.secrets_manager import SecretsManager, reset_secrets_manager

    mgr = SecretsManager(settings)
    yield mgr
    mgr.close()
    reset_secrets_manager()
