"""The line format: seed fields, shell recipes, never a value."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from core.audit import AuditLog
from core.errors import ValidationError

from .conftest import KEY, lines_of

CANARY = "canary-5f3c9e1b-value-never-logged"


def test_one_json_object_per_line_with_seed_fields(make_log, log_path: Path) -> None:
    log = make_log()
    log.log("read", "api_key", version=3, ip_address="10.0.0.7")
    log.log("read", "api_key", success=False, error_message="secret not found")
    raw = lines_of(log_path)
    assert len(raw) == 2
    first = json.loads(raw[0])
    assert list(first)[:7] == [
        "timestamp",
        "operation",
        "secret_name",
        "user",
        "success",
        "error_message",
        "ip_address",
    ]
    # the name is sealed on disk (deterministic token), in clear when read back
    assert first["operation"] == "read" and first["secret_name"].startswith("enc:n1:")
    assert b"api_key" not in log_path.read_bytes()
    assert log.get_audit_events()[0]["secret_name"] == "api_key"
    assert first["user"] == "alice" and first["success"] is True
    assert first["ip_address"] == "10.0.0.7" and first["version"] == 3
    assert first["source"] == "api" and first["host"] == "testhost"
    assert first["pid"] == os.getpid()
    assert first["seq"] == 1 and re.fullmatch(r"[0-9a-f]{64}", first["chain"])
    # ISO 8601, UTC, with the offset
    stamp = datetime.fromisoformat(first["timestamp"])
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0
    assert first["timestamp"].endswith("+00:00")


def test_seed_shell_recipes_work(make_log, log_path: Path) -> None:
    log = make_log()
    log.log("read", "api_key")
    log.log("read", "db_password", success=False, error_message="wrong key")
    log.log("write", "api_key")
    log.log("delete", "db_password", success=False, error_message="not found")
    failed = subprocess.run(
        ["grep", '"success": false', str(log_path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert len(failed) == 2
    assert all(json.loads(line)["success"] is False for line in failed)
    # what `jq -r .operation` and `jq -r .secret_name` read: every line is one object
    ops = [json.loads(line)["operation"] for line in lines_of(log_path)]
    assert sorted(ops) == ["delete", "read", "read", "write"]


def test_value_like_extra_fields_are_dropped_and_named(make_log, log_path: Path) -> None:
    log = make_log()
    event = log.log(
        "write",
        "api_key",
        value=CANARY,
        password=CANARY,
        details={"new_value": CANARY, "length": 40},
        reason="manual",
    )
    assert event["redacted"] == ["details.new_value", "password", "value"]
    assert event["details"] == {"length": 40} and event["reason"] == "manual"
    assert CANARY.encode() not in log_path.read_bytes()


def test_canary_never_reaches_any_audit_file(make_log, log_path: Path) -> None:
    log = make_log()
    # every way a caller might hand over a value by mistake, plus queries and reports
    log.log("write", "svc/token", value=CANARY, version=1)
    log.log("read", "svc/token", secret_value=CANARY)
    log.log("copy", "svc/token", token=CANARY, target={"plaintext": CANARY})
    log.log("run", "svc/token", env={"passphrase": CANARY})
    log.log_many([{"operation": "export", "secret_name": "svc/token", "value": CANARY}])
    log.get_audit_events(secret_name="svc/token")
    log.stats("svc/token")
    from core.audit.report import build

    for fmt in ("md", "html", "csv", "json"):
        assert CANARY not in build(log, "1d", fmt)
    view = log.view()
    view.reload()
    view.export(log_path.parent / "export.csv")
    for path in log_path.parent.iterdir():
        assert CANARY.encode() not in path.read_bytes(), path.name


def test_reserved_fields_and_bad_operations_are_refused(make_log) -> None:
    log = make_log()
    with pytest.raises(ValidationError):
        log.log("read", "x", seq=5)
    with pytest.raises(ValidationError):
        log.log("read", "x", chain="0" * 64)
    with pytest.raises(ValidationError):
        log.log("has space")
    with pytest.raises(ValidationError):
        log.log("read", 42)  # type: ignore[arg-type]


def test_repr_shows_no_key_material(make_log) -> None:
    log = make_log()
    assert KEY.hex() not in repr(log) and str(KEY) not in repr(log)
    assert "keyed" in repr(log)


def test_keyless_events_are_recorded_and_marked(make_log, log_path: Path) -> None:
    locked = make_log(key=None)
    locked.log("unlock", success=False, error_message="wrong passphrase")
    line = json.loads(lines_of(log_path)[0])
    assert line["kid"] is None and line["success"] is False and line["secret_name"] is None
    unlocked = make_log()
    unlocked.log("unlock")
    last = json.loads(lines_of(log_path)[-1])
    assert last["kid"] == unlocked.key_id and last["seq"] == 2
    assert unlocked.verify().ok


def test_long_error_messages_are_cut(make_log) -> None:
    event = make_log().log("read", "x", success=False, error_message="e" * 5000)
    assert len(event["error_message"]) <= 500


def test_files_are_private(make_log, log_path: Path) -> None:
    make_log().log("read", "x")
    assert (log_path.stat().st_mode & 0o777) == 0o600
    assert (log_path.parent.stat().st_mode & 0o777) == 0o700
    assert (log_path.with_name("secrets_audit.state").stat().st_mode & 0o777) == 0o600


def test_core_audit_imports_without_textual() -> None:
    code = (
        "import sys, core.audit, core.audit.report, core.audit.view\n"
        "assert 'textual' not in sys.modules, 'core.audit imported textual'\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([os.sys.executable, "-c", code], cwd=root, check=True)


def test_a_log_is_usable_from_an_unwritable_query_side(make_log, tmp_path: Path) -> None:
    # queries on a home that has no log yet return empty results, not errors
    log = make_log(path=tmp_path / "nowhere" / "logs" / "secrets_audit.log")
    assert log.get_audit_events() == []
    assert log.stats("x")["total_accesses"] == 0
    assert log.verify().ok
    assert isinstance(log, AuditLog)
