"""The scheduled daily backup that the rotation worker runs, with retention."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.backup import BackupManager, Schedule
from core.errors import ValidationError
from core.vault import Vault
from tests.backup.conftest import Clock


def test_off_by_default(backups: BackupManager) -> None:
    assert backups.get_schedule() == Schedule()
    assert backups.run_scheduled() == {"ran": False, "reason": "scheduled backups are off"}
    assert backups.list_backups() == []


def test_daily_backups_weekly_fulls_and_retention(
    vault: Vault, backups: BackupManager, clock: Clock, tmp_path: Path
) -> None:
    offsite = tmp_path / "offsite"
    backups.set_schedule(
        enabled=True, full_every_days=7, keep_days=14, keep_last=3, offsite_dir=str(offsite)
    )
    first = backups.run_scheduled()
    assert first["ran"] and first["type"] == "full"
    assert (offsite / f"{first['backup']}.vbak").read_bytes() == (
        backups.backups_dir / f"{first['backup']}.vbak"
    ).read_bytes()
    clock.advance(hours=3)
    assert backups.run_scheduled()["reason"] == "not due"
    kinds = []
    for day in range(1, 41):
        clock.advance(hours=21 if day == 1 else 24)
        vault.put(f"day/{day % 5}", f"value {day}")
        result = backups.run_scheduled()
        assert result["ran"], result
        kinds.append(result["type"])
    assert kinds[:7] == ["incremental"] * 6 + ["full"]
    listed = backups.list_backups()
    # 14 days kept, plus whatever their chains need (back to a weekly full)
    assert 14 <= len(listed) <= 14 + 7
    assert all(b["status"] == "ok" for b in listed)
    assert listed[0]["type"] == "full"
    newest = listed[-1]["name"]
    assert backups.verify_backup(newest)["valid"]
    assert backups.restore_backup(newest, dry_run=True)["counts"]["unchanged"] == 5
    assert backups.next_due() is not None and backups.next_due() > clock.now


def test_the_schedule_is_validated(backups: BackupManager) -> None:
    with pytest.raises(ValidationError):
        backups.set_schedule(enabled=True, keep_last=0)
    with pytest.raises(ValidationError):
        backups.set_schedule(enabled=True, interval_hours=0)
    assert backups.set_schedule(enabled=True, interval_hours=12).interval_hours == 12
    assert backups.get_schedule().enabled
