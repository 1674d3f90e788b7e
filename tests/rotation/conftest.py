"""Fixtures for the rotation tests: a real vault file, a settable clock, an audit sink."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.rotation import RotationManager
from core.vault import Argon2Params, KeySource, Vault, write_new_key_file

START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class RecordingAudit:
    """Collects audit events the way core.audit.AuditLog.log is called."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def log(self, operation: str, secret_name: str | None = None, **kw: Any) -> None:
        self.events.append({"operation": operation, "secret_name": secret_name, **kw})

    def of(self, operation: str, name: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["operation"] == operation and (name is None or e["secret_name"] == name)
        ]


def make_vault(folder: Path) -> tuple[Vault, Path]:
    """A new vault in ``folder`` opened with a fresh key file; returns (vault, key file)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = write_new_key_file(folder / "vault.key")
    vault = Vault.create(folder / "vault.db", KeySource.from_key_file(key), kdf=Argon2Params.fast())
    return vault, key


@pytest.fixture
def vault_and_key(tmp_path: Path) -> Iterator[tuple[Vault, Path]]:
    vault, key = make_vault(tmp_path / "v")
    yield vault, key
    vault.close()


@pytest.fixture
def vault(vault_and_key: tuple[Vault, Path]) -> Vault:
    return vault_and_key[0]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def audit() -> RecordingAudit:
    return RecordingAudit()


@pytest.fixture
def manager(vault: Vault, audit: RecordingAudit, clock: FakeClock) -> Iterator[RotationManager]:
    mgr = RotationManager(
        vault, audit=audit, clock=clock, user="tester", env={"PATH": "/usr/bin:/bin"}
    )
    yield mgr
    mgr.stop_rotation_scheduler()
