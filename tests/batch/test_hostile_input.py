"""Hostile input on the command line and in files: names with a trailing newline,
deeply nested JSON, replayed rows, unreadable homes, huge stdin and weak key files each
end in a clear error (right exit code, a hint, never a value), not in "unexpected
error" or a blow-up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.audit.alerts import AlertRule
from core.backup.catalog import check_name
from core.errors import BackupError, InvalidNameError, ValidationError
from core.vault.names import validate_name
from tests.batch.conftest import ROOT
from tests.conftest import clean_env

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


def test_an_audit_operation_with_a_newline_is_refused(tmp_path: Path) -> None:
    from core.audit.log import AuditLog

    log = AuditLog(tmp_path / "audit.log", b"k" * 32, durable=False, alert_rules=[])
    try:
        log.log("read", "db/pass", success=True)
        with pytest.raises(ValidationError, match="Invalid audit operation"):
            log.log("read\n", "db/pass", success=True)
    finally:
        log.close()
    assert (tmp_path / "audit.log").read_text().count("\n") == 1
    with pytest.raises(ValidationError):
        AlertRule.parse("failures>10/1h:read\nx")
    assert AlertRule.parse("failures>10/1h:read\n").threshold == 10  # trailing space ok


# ---------------------------------------------------------------- errors, not crashes


def test_a_deeply_nested_json_import_is_a_clear_error(cli, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    r = cli("--batch", "import", str(deep))
    assert r.code == 2 and "nested too deeply" in r.err and "unexpected" not in r.err
    r = cli("--batch", "set", "conf", "--type", "dict", stdin=b'{"a":' * 100_000)
    assert r.code == 2 and "nested too deeply" in r.err


def test_a_write_over_a_replayed_row_is_an_integrity_error(cli, home: Path) -> None:
    import sqlite3

    assert cli("--batch", "set", "db/pass", stdin=b"version-one").code == 0
    db = sqlite3.connect(home / "vault.db")
    old = db.execute("SELECT * FROM records").fetchone()
    db.close()
    assert cli("--batch", "set", "db/pass", stdin=b"version-two").code == 0
    db = sqlite3.connect(home / "vault.db")
    with db:  # put the old row back, as a replay of an older copy of the file would
        db.execute("DELETE FROM records")
        db.execute(f"INSERT INTO records VALUES ({','.join('?' * len(old))})", old)
    db.close()
    r = cli("--batch", "set", "db/pass", stdin=SECRET.encode())
    assert r.code == 5 and "restore from a backup" in r.err
    assert "unexpected" not in r.err and SECRET not in r.err


def _without_root_powers() -> list[str]:
    """A command prefix that runs the child as root without the powers to read or chmod
    other users' files, so it meets another user's folder as anyone else would."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to meet a folder owned by another user")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


@pytest.mark.parametrize("command", ["set", "list", "status"])
def test_a_home_owned_by_another_user_is_a_clear_error(tmp_path: Path, command: str) -> None:
    prefix = _without_root_powers()
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    os.chown(home, 65534, 65534)  # another user's private folder
    argv = ["--batch", command] + (["db/pass"] if command == "set" else [])
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "vaultui", *argv],
        input=SECRET.encode(),
        capture_output=True,
        cwd=ROOT,
        env=clean_env(home),
        timeout=60,
    )
    err = proc.stderr.decode()
    assert "unexpected" not in err and "Traceback" not in err
    assert proc.returncode == 1 and f"Cannot use the folder {home}" in err
    assert "belongs to user id 65534" in err and "VAULTUI_HOME" in err


# ---------------------------------------------------------------- input size


def _peak_rss_kib(home: Path, stdin: bytes, *argv: str) -> tuple[int, subprocess.CompletedProcess]:
    """Run vaultui under a small parent that reports its child's peak RSS (KiB)."""
    probe = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, '-m', 'vaultui', *sys.argv[1:]])\n"
        "sys.stdout.write(f'{p.returncode} "
        "{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, *argv],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=clean_env(home),
        timeout=120,
    )
    code, rss = proc.stdout.decode().split()
    proc.returncode = int(code)
    return int(rss), proc


def test_a_huge_value_on_stdin_is_refused_without_reading_it_all(home: Path) -> None:
    small, proc = _peak_rss_kib(home, b"small value", "--batch", "set", "small")
    assert proc.returncode == 0, proc.stderr
    huge, proc = _peak_rss_kib(home, b"x" * (50 << 20), "--batch", "set", "huge")
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "stdin holds more than" in err and "1 MiB" in err
    # the old code held the 50 MB (and its decoded copy) in memory
    assert huge - small < 20 * 1024, f"peak RSS grew by {(huge - small) // 1024} MiB"


def test_a_huge_value_file_and_an_endless_one_are_refused(cli, tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * ((1 << 20) + 1))
    r = cli("--batch", "set", "big", "--file", str(big))
    assert r.code == 2 and "holds more than" in r.err
    r = cli("--batch", "set", "zero", "--file", "/dev/zero")
    assert r.code == 2 and "holds more than" in r.err
    exact = tmp_path / "exact"
    exact.write_bytes(b"y" * (1 << 20))
    assert cli("--batch", "set", "exact", "--file", str(exact)).code == 0


# ---------------------------------------------------------------- key files


@pytest.mark.parametrize(
    "content", [b"a" * 32, b"ab" * 32, b"password" * 4, b"0123456789abcdef" * 4, b"\0" * 64]
)
def test_an_obviously_weak_key_file_is_refused(cli, tmp_path: Path, monkeypatch, content) -> None:
    key = tmp_path / "weak.key"
    key.write_bytes(content)
    monkeypatch.setenv("VAULTUI_KEY_FILE", str(key))
    r = cli("--batch", "set", "db/pass", stdin=SECRET.encode())
    assert r.code == 2 and "too weak" in r.err and "head -c 32 /dev/urandom" in r.err
    assert not (tmp_path / "home" / "vault.db").exists() or cli("--batch", "list").code != 0


def test_random_key_files_are_accepted_and_dev_zero_is_refused(cli, tmp_path, monkeypatch) -> None:
    key = tmp_path / "good.key"
    key.write_bytes(os.urandom(32))
    monkeypatch.setenv("VAULTUI_KEY_FILE", str(key))
    assert cli("--batch", "set", "db/pass", stdin=SECRET.encode()).code == 0
    monkeypatch.setenv("VAULTUI_KEY_FILE", "/dev/zero")
    r = cli("--batch", "get", "db/pass")
    assert r.code == 2 and "holds more than" in r.err


# ---------------------------------------------------------------- patterns off argv


def test_grep_reads_its_patterns_from_a_file_or_stdin(cli, tmp_path: Path) -> None:
    assert cli("--batch", "set", "db/pass", stdin=b"hunter2-and-more").code == 0
    assert cli("--batch", "set", "api/key", stdin=b"AKIAABCDEFGHIJKLMNOP").code == 0
    assert cli("--batch", "set", "other", stdin=b"nothing to see").code == 0
    r = cli("--batch", "grep", "-f", "-", stdin=b"hunter2\n")
    assert r.code == 0 and r.out.splitlines() == ["db/pass"]
    patterns = tmp_path / "patterns"
    patterns.write_text("AKIA[0-9A-Z]{16}\n\nHUNTER2\n")
    r = cli("--batch", "grep", "-i", "-f", str(patterns))
    assert r.code == 0 and sorted(r.out.splitlines()) == ["api/key", "db/pass"]
    patterns.write_text("a.d\n(x\n")
    r = cli("--batch", "grep", "-F", "-f", str(patterns))  # literal: '(' is no error
    assert r.code == 3 and r.out == ""
    r = cli("--batch", "grep", "-f", str(patterns))
    assert r.code == 2 and "Bad pattern on line 2" in r.err
    r = cli("--batch", "grep", "hunter2", "-f", str(patterns))
    assert r.code == 2 and "not both" in r.err
    r = cli("--batch", "grep", "-f", "-", stdin=b"\n")
    assert r.code == 2 and "No pattern" in r.err
