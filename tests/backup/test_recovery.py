"""Disaster recovery: a backup file plus the passphrase (or key file) rebuild the vault
on an empty machine, history included."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.backup import BackupManager, restore_backup_file
from core.backup.recovery import backup_root_key
from core.config import Settings
from core.errors import BackupError, WrongKeyError
from core.secrets_manager import SecretsManager
from core.vault import Argon2Params, KeySource, Vault, write_new_key_file
from tests.conftest import clean_env

PASSPHRASE = "the only thing I kept"


def _manager(home: Path, passphrase_file: Path) -> SecretsManager:
    env = clean_env(home, VAULTUI_PASSPHRASE_FILE=str(passphrase_file))
    return SecretsManager(Settings.from_env(env))


def test_new_machine_with_only_the_backup_and_the_passphrase(tmp_path: Path) -> None:
    secret_file = tmp_path / "pass.txt"
    secret_file.write_text(PASSPHRASE + "\n")
    old_home = tmp_path / "old-home"
    old = _manager(old_home, secret_file)
    old.store_secret("db_password", "v1", "Database password", {"env": "prod"})
    old.store_secret("db_password", "v2", None)  # None keeps the description
    old.store_secret("database_config", {"host": "db", "port": 5432})
    old.store_secret("gone", b"\x00bytes")
    old.create_backup("full")
    old.store_secret("db_password", "v3", None)
    old.delete_secret("gone")
    old.store_secret("late", "after the full backup")
    old.create_backup("inc", incremental=True)
    expected_id = old.vault.vault_id_hex
    old.close()

    usb = tmp_path / "usb"
    usb.mkdir()
    for name in ("full.vbak", "inc.vbak"):
        shutil.copy(old_home / "backups" / name, usb / name)
    shutil.rmtree(old_home)  # the machine is gone

    new_home = tmp_path / "new-home"
    assert not new_home.exists()
    with pytest.raises(WrongKeyError):
        restore_backup_file(usb / "inc.vbak", new_home / "vault.db", KeySource.passphrase("no"))
    assert not (new_home / "vault.db").exists()

    preview = restore_backup_file(
        usb / "inc", new_home / "vault.db", KeySource.passphrase(PASSPHRASE), dry_run=True
    )
    assert preview["added"] == ["database_config", "db_password", "late"]
    assert not (new_home / "vault.db").exists()

    result = restore_backup_file(
        usb / "inc.vbak", new_home / "vault.db", KeySource.passphrase(PASSPHRASE)
    )
    assert result["restored_secrets"] == 3
    assert result["chain"] == ["full", "inc"]
    assert sorted(p.name for p in new_home.iterdir()) == ["device.id", "vault.db"]

    new = _manager(new_home, secret_file)
    try:
        assert new.vault.vault_id_hex == expected_id
        assert new.retrieve_secret("db_password") == "v3"
        assert new.retrieve_secret("database_config") == {"host": "db", "port": 5432}
        assert new.retrieve_secret("late") == "after the full backup"
        assert new.retrieve_secret("gone") is None
        assert new.undelete_secret("gone")  # the tombstone came back too
        assert new.retrieve_secret("gone") == b"\x00bytes"
        history = new.history("db_password")
        assert [h.version for h in history] == [1, 2, 3]
        assert new.vault.get("db_password", version=1).value == "v1"
        assert new.list_secrets()["db_password"].description == "Database password"
        assert new.list_secrets()["db_password"].tags == {"env": "prod"}
        new.vault.verify()
        # the recovered vault keeps making backups that chain onto its own
        new.store_secret("after", "recovery")
        assert Path(new.create_backup("post")).exists()
        assert new.verify_backup("post")["valid"]
    finally:
        new.close()


def test_key_file_vaults_recover_with_the_key_file(tmp_path: Path) -> None:
    key = write_new_key_file(tmp_path / "my.key")
    vault = Vault.create(tmp_path / "a" / "vault.db", KeySource.from_key_file(key))
    vault.put("k", "v")
    path = BackupManager(vault, tmp_path / "a" / "backups").create_backup("b")
    vault.close()
    target = tmp_path / "b" / "vault.db"
    with pytest.raises(WrongKeyError):
        restore_backup_file(path, target, KeySource.passphrase("a passphrase"))
    restore_backup_file(path, target, KeySource.from_key_file(key))
    with Vault.open(target, KeySource.from_key_file(key)) as recovered:
        assert recovered.get("k").value == "v"


def test_restore_to_a_target_from_the_open_vault(tmp_path: Path) -> None:
    vault = Vault.create(
        tmp_path / "vault.db", KeySource.passphrase(PASSPHRASE), kdf=Argon2Params.fast()
    )
    manager = BackupManager(vault, tmp_path / "backups")
    vault.put("a", "1")
    manager.create_backup("one")
    # the passphrase changed since the backup: the open vault's key still unlocks it
    vault.change_passphrase(
        KeySource.passphrase(PASSPHRASE), KeySource.passphrase("new pass"), kdf=Argon2Params.fast()
    )
    target = tmp_path / "copy" / "vault.db"
    result = manager.restore_backup(
        "one", target=target, key_source=KeySource.passphrase("new pass")
    )
    assert result["added"] == ["a"]
    with Vault.open(target, KeySource.passphrase("new pass")) as copy:
        assert copy.get("a").value == "1"
    with pytest.raises(BackupError, match="already exists"):
        manager.restore_backup("one", target=target)
    assert backup_root_key(vault.data_key_for_agent()) == vault.derive_key("backup")
    vault.close()
