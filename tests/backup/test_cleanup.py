"""Cleanup by age never breaks a chain that a kept backup needs."""

from __future__ import annotations

import os
import time

import pytest

from core.backup import BackupManager
from core.errors import ValidationError
from core.vault import Vault
from tests.backup.conftest import Clock


def _names(backups: BackupManager) -> list[str]:
    return [b["name"] for b in backups.list_backups()]


def _make(backups: BackupManager, vault: Vault, clock: Clock, name: str, inc: bool) -> None:
    vault.put(f"s/{name}", name)
    backups.create_backup(name, incremental=inc)
    clock.advance(days=10)


def test_old_chains_go_and_needed_parents_stay(
    vault: Vault, backups: BackupManager, clock: Clock
) -> None:
    # day 0 .. 60, ten days apart: chain 1 = f1 <- i1 <- i2 ; chain 2 = f2 <- i3 <- i4 <- i5
    _make(backups, vault, clock, "f1", False)
    _make(backups, vault, clock, "i1", True)
    _make(backups, vault, clock, "i2", True)
    _make(backups, vault, clock, "f2", False)
    _make(backups, vault, clock, "i3", True)
    _make(backups, vault, clock, "i4", True)
    _make(backups, vault, clock, "i5", True)
    # now = day 70: keep 15 days -> only i5 (day 60) is young, but it needs f2, i3, i4
    assert backups.cleanup_old_backups(keep_days=15) == 3
    assert _names(backups) == ["f2", "i3", "i4", "i5"]
    for name in _names(backups):
        assert backups.verify_backup(name)["valid"]
    assert backups.restore_backup("i5", dry_run=True)["errors"] == []
    # nothing younger than 5 days: everything is old, nothing is needed
    assert backups.cleanup_old_backups(keep_days=5, keep_last=1) == 0  # i5 kept -> chain kept
    assert backups.cleanup_old_backups(keep_days=5) == 4
    assert _names(backups) == []


def test_keep_last_keeps_the_newest_and_their_chains(
    vault: Vault, backups: BackupManager, clock: Clock
) -> None:
    _make(backups, vault, clock, "f1", False)
    _make(backups, vault, clock, "i1", True)
    _make(backups, vault, clock, "f2", False)
    _make(backups, vault, clock, "i2", True)
    clock.advance(days=100)
    assert backups.cleanup_old_backups(keep_days=30, keep_last=1) == 2
    assert _names(backups) == ["f2", "i2"]
    assert backups.cleanup_old_backups(keep_days=30, keep_last=5) == 0


def test_seed_call_and_default_keeps_young_backups(
    vault: Vault, backups: BackupManager, clock: Clock
) -> None:
    _make(backups, vault, clock, "young", False)
    assert backups.cleanup_old_backups(keep_days=30) == 0
    assert backups.cleanup_old_backups() == 0
    with pytest.raises(ValidationError):
        backups.cleanup_old_backups(keep_days=-1)


def test_damaged_files_are_not_deleted_and_leftovers_are(
    vault: Vault, backups: BackupManager, clock: Clock
) -> None:
    _make(backups, vault, clock, "old", False)
    damaged = backups.backups_dir / "mystery.vbak"
    damaged.write_bytes(b"not a backup")
    leftover = backups.backups_dir / ".tmp-crashed.vbak-abc"
    leftover.write_bytes(b"half written")
    past = time.time() - 7200
    os.utime(leftover, (past, past))
    clock.advance(days=365)
    assert backups.cleanup_old_backups(keep_days=30) == 1
    assert damaged.exists()
    assert not leftover.exists()
    assert [b["status"] for b in backups.list_backups()] == ["damaged"]
