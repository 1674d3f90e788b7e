"""Hostile input on the command line and in files: names with a trailing newline,
deeply nested JSON, replayed rows, unreadable homes, huge stdin and weak key files each
end in a clear error (right exit code, a hint, never a value), not in "unexpected
error" or a blow-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.audit.alerts import AlertRule
from core.backup.catalog import check_name
from core.errors import BackupError, InvalidNameError, ValidationError
from core.vault.names import validate_name

SECRET = "hostile-input-secret-value"


# ---------------------------------------------------------------- trailing newlines


@pytest.mark.parametrize("name", ["db/pass\n", "db/pass\r", "\ndb/pass", "db/pa\nss"])
def test_a_secret_name_with_a_newline_is_refused(cli, name: str) -> None:
    assert cli("--batch", "set", "db/pass", stdin=SECRET.encode()).code == 0
    r = cli("--batch", "set", name, stdin=b"other")
    assert r.code == 2 and "may only contain" in r.err
    assert cli("--batch", "list").out.splitlines() == ["db/pass"]
    assert cli("--batch", "get", name).code == 2
    with pytest.raises(InvalidNameError):
        validate_name(name)


def test_a_backup_name_with_a_newline_is_refused(cli) -> None:
    assert cli("--batch", "set", "db/pass", stdin=SECRET.encode()).code == 0
    r = cli("--batch", "backup", "create", "--name", "nightly\n")
    assert r.code != 0 and "Invalid backup name" in r.err
    assert "unexpected" not in r.err
    with pytest.raises(BackupError):
        check_name("nightly\n")
    assert check_name("nightly") == "nightly"


def test_a_run_env_name_with_a_newline_is_refused(cli) -> None:
    assert cli("--batch", "set", "db/pass", stdin=SECRET.encode()).code == 0
    r = cli("--batch", "run", "--env", "DB_PASS\n=db/pass", "--", "true")
    assert r.code == 2 and "Bad --env" in r.err
    assert SECRET not in r.err


def test_other_whole_string_checks_refuse_a_trailing_newline() -> None:
    from core.audit.log import _OP
    from core.providers.codec import _RFC3339

    assert _OP.fullmatch("read") and not _OP.fullmatch("read\n")
    with pytest.raises(ValidationError):
        AlertRule.parse("failures>10/1h:read\nx")
    assert AlertRule.parse("failures>10/1h:read\n").threshold == 10  # trailing space ok
    assert _RFC3339.fullmatch("2025-01-15T10:30:00Z") and not _RFC3339.fullmatch(
        "2025-01-15T10:30:00Z\n"
    )
