"""Small parts: points in time, the audit appendix read straight from the log file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.backup import BackupManager, body, container, parse_when
from core.backup.audit_tail import tail_file
from core.errors import ValidationError
from core.vault import Vault

NOW = datetime(2024, 1, 15, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW - timedelta(hours=2)),
        ("3d ago", NOW - timedelta(days=3)),
        ("90m", NOW - timedelta(minutes=90)),
        ("1w", NOW - timedelta(weeks=1)),
        ("2024-01-14T08:30:00+00:00", datetime(2024, 1, 14, 8, 30, tzinfo=UTC)),
        ("2024-01-14T08:30:00Z", datetime(2024, 1, 14, 8, 30, tzinfo=UTC)),
    ],
)
def test_points_in_time(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == expected


def test_naive_times_are_local_and_nonsense_is_refused() -> None:
    naive = datetime(2024, 1, 14, 8, 30)
    assert parse_when(naive, NOW) == naive.astimezone()
    assert parse_when(NOW.timestamp(), NOW) == NOW
    with pytest.raises(ValidationError, match="Cannot read the time"):
        parse_when("yesterday-ish", NOW)


def test_audit_events_read_from_the_file_when_no_audit_log(vault: Vault, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "secrets_audit.log"
    log.parent.mkdir()
    lines = [
        json.dumps({"operation": "read", "secret_name": f"s{i}", "success": True})
        for i in range(3000)
    ]
    log.write_text("\n".join(lines) + "\n{not json\n")
    assert [e["secret_name"] for e in tail_file(log, 2)] == ["s2998", "s2999"]
    manager = BackupManager(vault, tmp_path / "backups", audit_path=log)
    vault.put("x", "1")
    path = manager.create_backup("b")
    opened = container.open_file(path, vault.derive_key("backup"), vault.vault_id)
    events = body.decode(opened.body, "b").audit
    assert len(events) == 1000
    assert events[-1]["secret_name"] == "s2999"
    assert tail_file(tmp_path / "missing.log", 5) == []
