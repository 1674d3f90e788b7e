"""Backups somewhere else: ``backup create --to DIR``, ``--from DIR`` for list, verify
and restore, VAULTUI_BACKUP_DIRS with ``--everywhere`` and ``destinations``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from core.errors import EXIT_ERROR, EXIT_NOT_FOUND, EXIT_OK
from vaultui.batch import runner
from vaultui.batch.runner import run

VALUE = "Offsite-Value-8842"


@pytest.fixture(autouse=True)
def only_this_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load only commands_backup, so another plugin's parser cannot change these results."""
    monkeypatch.setattr(runner, "plugin_modules", lambda: ["vaultui.commands_backup"])


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(["--no-prompt", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _set(capsys, tmp_path: Path, name: str, value: str) -> None:
    src = tmp_path / "value.txt"
    src.write_text(value)
    assert _run(capsys, "set", name, "--file", str(src))[0] == 0


def test_create_to_a_drive_then_list_verify_restore_from_it(home, tmp_path, capsys):
    drive = tmp_path / "usb"
    drive.mkdir()
    dest = drive / "vaultui-backups"
    _set(capsys, tmp_path, "db/password", VALUE)
    code, out, err = _run(capsys, "backup", "create", "--to", str(dest), "--name", "offsite")
    assert code == EXIT_OK, err
    made = dest / "offsite.vbak"
    assert out.strip() == str(made)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert VALUE.encode() not in made.read_bytes() and b"db/password" not in made.read_bytes()
    assert not list((home / "backups").glob("*.vbak"))  # nothing in the home's folder

    # the same name again is refused: files are created exclusively
    code, _, err = _run(capsys, "backup", "create", "--to", str(dest), "--name", "offsite")
    assert code != EXIT_OK and "already exists" in err

    code, out, _ = _run(capsys, "backup", "list", "--from", str(dest), "--json")
    assert [b["name"] for b in json.loads(out)] == ["offsite"]
    assert _run(capsys, "backup", "list", "--json")[1].strip() == "[]"
    code, out, _ = _run(capsys, "backup", "verify", "--from", str(dest), "offsite")
    assert code == EXIT_OK and out.startswith("OK: offsite")

    _set(capsys, tmp_path, "db/password", "changed-later")
    code, out, _ = _run(capsys, "backup", "restore", "--from", str(dest), "offsite")
    assert code == EXIT_OK, out
    code, out, _ = _run(capsys, "get", "db/password", "-n")
    assert out == VALUE

    # disaster recovery from the drive into a new vault file
    target = tmp_path / "recovered" / "vault.db"
    code, out, err = _run(
        capsys, "backup", "restore", "--from", str(dest), "offsite", "--to", str(target)
    )
    assert code == EXIT_OK, err
    assert target.exists()


def test_an_unmounted_drive_is_never_created_on_the_local_disk(home, tmp_path, capsys):
    _set(capsys, tmp_path, "a", "x")
    missing = tmp_path / "not-mounted" / "vaultui"
    code, _, err = _run(capsys, "backup", "create", "--to", str(missing))
    assert code != EXIT_OK and "does not exist" in err and "mounted" in err
    assert not missing.parent.exists()
    code, _, err = _run(capsys, "backup", "list", "--from", str(missing))
    assert code == EXIT_NOT_FOUND and "No backups folder" in err


def test_configured_destinations_everywhere_and_listed(home, tmp_path, capsys, monkeypatch):
    one, two = tmp_path / "nas", tmp_path / "usb"
    one.mkdir()
    unplugged = tmp_path / "gone" / "backups"
    monkeypatch.setenv(
        "VAULTUI_BACKUP_DIRS", os.pathsep.join([str(one / "vaultui"), str(two), str(unplugged)])
    )
    two.mkdir()
    _set(capsys, tmp_path, "a", "x")
    code, out, err = _run(capsys, "backup", "create", "--everywhere", "--name", "weekly")
    assert code == EXIT_ERROR  # one destination could not be written
    written = out.split()
    assert written == [
        str(home / "backups" / "weekly.vbak"),
        str(one / "vaultui" / "weekly.vbak"),
        str(two / "weekly.vbak"),
    ]
    assert str(unplugged) in err and "mounted" in err

    code, out, _ = _run(capsys, "backup", "destinations", "--json")
    described = json.loads(out)
    assert [(d["kind"], d["count"], d["available"]) for d in described] == [
        ("home", 1, True),
        ("configured", 1, True),
        ("configured", 1, True),
        ("configured", 0, False),
    ]
    assert described[1]["newest"] == "weekly"
    code, out, _ = _run(capsys, "backup", "destinations")
    assert "[configured]  1 backup, newest weekly" in out
