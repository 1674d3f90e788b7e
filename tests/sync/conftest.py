"""Fixtures for sync tests: a shared key and vault homes under tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.vault import KeySource, write_new_key_file
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
