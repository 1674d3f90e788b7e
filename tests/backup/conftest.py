"""Fixtures for the backup tests: a vault, a controllable clock, a BackupManager."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.backup import BackupManager
from core.vault import Argon2Params, KeySource, Vault

PASSPHRASE = "correct horse battery staple"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2024, 1, 15, 10, 0, tzinfo=UTC))


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    v = Vault.create(
        tmp_path / "vault.db", KeySource.passphrase(PASSPHRASE), kdf=Argon2Params.fast()
    )
    yield v
    v.close()


@pytest.fixture
def backups(vault: Vault, tmp_path: Path, clock: Clock) -> BackupManager:
    return BackupManager(vault, tmp_path / "backups", clock=clock, user="tester")


def live_state(vault: Vault) -> dict[str, Any]:
    """name -> (value, description) of every live secret."""
    out = {}
    for record in vault.list():
        secret = vault.get(record.name)
        assert secret is not None
        out[record.name] = (secret.value, record.description)
    return out
