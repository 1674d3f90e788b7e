"""A restore killed half way leaves the vault as it was; concurrent backups stay whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.backup import BackupManager
from core.vault import Argon2Params, KeySource, Vault
from tests.backup.conftest import live_state

ROOT = Path(__file__).resolve().parents[2]


def _child(*args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.backup._child", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase"
    path.write_text("kill-test passphrase")
    return path


@pytest.mark.slow
def test_sigkill_in_the_middle_of_a_restore_changes_nothing(tmp_path: Path, key_file: Path) -> None:
    vault_path = tmp_path / "vault.db"
    ks = KeySource.passphrase(key_file.read_text())
    vault = Vault.create(vault_path, ks, kdf=Argon2Params.fast())
    backups = tmp_path / "backups"
    n = 1500
    with vault.transaction():
        for i in range(n):
            vault.put(f"app/s{i:04d}", f"{i}-original-" + "x" * 4000)
    BackupManager(vault, backups).create_backup("before")
    with vault.transaction():
        for i in range(n):
            vault.put(f"app/s{i:04d}", f"{i}-changed")
        vault.delete("app/s0007")
        vault.put("app/new", "created after the backup")
    expected, seq = live_state(vault), vault.seq
    vault.close()

    marker = tmp_path / "half-way"
    child = _child(
        "restore_and_hang", str(vault_path), str(key_file), str(backups), "before", str(marker)
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the restore never got half way"
            time.sleep(0.02)
        # half the writes are made: the transaction is open and has touched the file
        assert Path(str(vault_path) + "-journal").exists()
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    assert child.returncode == -signal.SIGKILL

    reopened = Vault.open(vault_path, ks)
    try:
        assert reopened.verify()["seq"] == seq
        assert live_state(reopened) == expected
        # and the same restore, not interrupted, goes through
        result = BackupManager(reopened, backups).restore_backup("before")
        assert result["counts"]["changed"] == n - 1
        assert result["counts"]["added"] == 1
        assert reopened.get("app/s0007").value.startswith("7-original-")
    finally:
        reopened.close()


@pytest.mark.slow
def test_processes_backing_up_at_once_build_valid_chains(tmp_path: Path, key_file: Path) -> None:
    vault_path = tmp_path / "vault.db"
    ks = KeySource.passphrase(key_file.read_text())
    Vault.create(vault_path, ks, kdf=Argon2Params.fast()).close()
    backups = tmp_path / "backups"
    children = [
        _child("make_incrementals", str(vault_path), str(key_file), str(backups), str(i), "4")
        for i in range(3)
    ]
    for child in children:
        _out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
    vault = Vault.open(vault_path, ks)
    try:
        manager = BackupManager(vault, backups)
        listed = manager.list_backups()
        assert len(listed) == 12
        assert all(b["status"] == "ok" for b in listed)
        newest = max(listed, key=lambda b: b["seq_to"])
        assert manager.verify_backup(newest["name"])["valid"]
        assert not [p for p in backups.iterdir() if p.name.startswith(".tmp-")]
        before = live_state(vault)
        result = manager.restore_backup(newest["name"], exact=True, dry_run=True)
        assert result["counts"]["unchanged"] == len(before) == 12
    finally:
        vault.close()
