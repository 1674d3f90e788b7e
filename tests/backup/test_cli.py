"""``vaultui --batch backup ...`` end to end (in-process, through the real CLI runner)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.errors import EXIT_INTEGRITY, EXIT_NOT_FOUND, EXIT_OK
from vaultui.batch import runner
from vaultui.batch.runner import run


@pytest.fixture(autouse=True)
def only_this_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """No outside plugin: another plugin's parser cannot change these results."""
    monkeypatch.setattr(runner, "plugin_modules", lambda: [])


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(["--no-prompt", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def passphrase_home(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    secret = tmp_path / "pass.txt"
    secret.write_text("cli passphrase\n")
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(secret))
    return home


def _set(capsys: pytest.CaptureFixture[str], name: str, value: str, tmp_path: Path) -> None:
    src = tmp_path / "value.txt"
    src.write_text(value)
    code, _out, err = _run(capsys, "set", name, "--file", str(src))
    assert code == 0, err


def test_backup_commands(
    passphrase_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _set(capsys, "db/password", "first", tmp_path)
    code, out, _ = _run(capsys, "backup", "create", "--name", "nightly")
    assert code == EXIT_OK
    assert out.strip() == str(passphrase_home / "backups" / "nightly.vbak")
    _set(capsys, "db/password", "second", tmp_path)
    _set(capsys, "api/key", "k", tmp_path)
    code, out, _ = _run(capsys, "backup", "create", "--incremental", "--json")
    assert code == EXIT_OK and json.loads(out)["type"] == "incremental"

    code, out, _ = _run(capsys, "backup", "list", "--json")
    listed = json.loads(out)
    assert [b["type"] for b in listed] == ["full", "incremental"]
    assert {"name", "created_at", "secret_count", "size_mb"} <= set(listed[0])
    code, out, _ = _run(capsys, "backup", "list")
    assert out.splitlines()[0].split() == [
        "NAME", "TYPE", "PARENT", "AGE", "SIZE", "SECRETS", "VERIFIED", "STATUS"
    ]  # fmt: skip
    assert "nightly" in out.splitlines()[2]  # the incremental's parent

    code, out, _ = _run(capsys, "backup", "verify", listed[1]["name"])
    assert code == EXIT_OK and out.startswith("OK:")
    code, out, _ = _run(capsys, "backup", "restore", "nightly", "--dry-run")
    assert code == EXIT_OK
    assert "Would restore 1 secret from nightly" in out
    assert "db/password" in out and "api/key" in out  # changed back / left alone
    code, out, _ = _run(capsys, "backup", "restore", "nightly", "--exact", "--json")
    assert code == EXIT_OK
    result = json.loads(out)
    assert result["changed"] == ["db/password"] and result["deleted"] == ["api/key"]
    code, out, _ = _run(capsys, "get", "db/password")
    assert out.strip() == "first"
    code, out, _ = _run(capsys, "backup", "restore", "--at", "0s", "--dry-run", "--json")
    assert code == EXIT_OK and json.loads(out)["backup"] == listed[1]["name"]

    path = passphrase_home / "backups" / "nightly.vbak"
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    code, _out, err = _run(capsys, "backup", "verify", "nightly")
    assert code == EXIT_INTEGRITY
    assert "Backup integrity check failed: nightly" in err
    code, _out, err = _run(capsys, "backup", "restore", "nightly")
    assert code == EXIT_INTEGRITY
    code, _out, err = _run(capsys, "backup", "verify", "nope")
    assert code == EXIT_NOT_FOUND

    code, out, _ = _run(capsys, "backup", "cleanup", "--keep-days", "0", "--keep-last", "5")
    assert code == EXIT_OK and out.strip() == "Deleted 0 old backups"
    code, out, _ = _run(capsys, "backup", "schedule", "--on", "--keep-last", "3", "--json")
    assert json.loads(out)["enabled"] is True and json.loads(out)["keep_last"] == 3
    code, out, _ = _run(capsys, "backup", "run-scheduled")
    assert code == EXIT_OK and out.startswith("Made incremental backup scheduled_")


def test_restore_to_a_new_vault_needs_no_vault_in_the_home(
    passphrase_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _set(capsys, "keep/me", "precious", tmp_path)
    _run(capsys, "backup", "create", "--name", "last")
    usb = tmp_path / "usb"
    usb.mkdir()
    shutil.copy(passphrase_home / "backups" / "last.vbak", usb / "last.vbak")
    shutil.rmtree(passphrase_home)

    target = passphrase_home / "vault.db"
    code, out, err = _run(capsys, "backup", "restore", str(usb / "last.vbak"), "--to", str(target))
    assert code == EXIT_OK, err
    assert "Restored 1 secret from last into" in out
    assert sorted(p.name for p in passphrase_home.iterdir()) == ["device.id", "vault.db"]
    code, out, _ = _run(capsys, "get", "keep/me")
    assert out.strip() == "precious"

    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(tmp_path / "missing"))
    code, _out, err = _run(
        capsys, "backup", "restore", str(usb / "last.vbak"), "--to", str(tmp_path / "x.db")
    )
    assert code != EXIT_OK
    assert not (tmp_path / "x.db").exists()
