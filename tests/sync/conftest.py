"""Fixtures for sync tests: a shared key, vault homes under a fast tmp folder, and the
provider servers and factory of tests/providers (imported, not copied)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.vault import KeySource, write_new_key_file
from tests.providers.conftest import (  # noqa: F401 - fixtures used by the sync tests
    FAST_RETRY,
    ProviderFactory,
    _quiet_servers,
    azure_emulator,
    factory,
    gcp_emulator,
    moto_server,
    openbao,
)
from tests.sync.homes import fast_tmpdir


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """Like pytest's tmp_path, but on tmpfs when available (fsync is free there)."""
    with fast_tmpdir() as tmp:
        yield Path(tmp)


@pytest.fixture
def key(tmp_path: Path) -> KeySource:
    """One key file shared by every home (they hold copies of one vault)."""
    return KeySource.from_key_file(write_new_key_file(tmp_path / "shared.key"))
