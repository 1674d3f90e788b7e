"""A damaged vault comes back from its backups: ``vaultui --batch backup recover``."""

from __future__ import annotations

import json
from pathlib import Path

from core.config import Settings
from core.errors import EXIT_INTEGRITY, IntegrityError
from core.secrets_manager import SecretsManager
from core.vault import KeySource, Vault
from tests.batch.conftest import run_vaultui

FIRST = {f"app/s{i}": f"backed-up-value-{i}" for i in range(5)}


def _home_with_backups(settings: Settings) -> None:
    """Five secrets in a full backup, a sixth in an incremental one, then a seventh."""
    manager = SecretsManager(settings)
    try:
        for name, value in FIRST.items():
            manager.store_secret(name, value)
        manager.backup_manager.create_backup("nightly")
        manager.store_secret("app/later", "in-the-incremental")
        manager.backup_manager.create_backup("hourly", incremental=True)
        manager.store_secret("app/lost", "after-the-last-backup")
    finally:
        manager.close()


def _damage(path: Path, offset: int) -> bytes:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return bytes(data)


def _vault(settings: Settings) -> Vault:
    return Vault.open(settings.vault_path, KeySource.from_key_file(settings.default_key_file))


def test_recover_moves_the_damaged_file_aside_and_restores_the_latest_chain(
    settings: Settings, home: Path
) -> None:
    _home_with_backups(settings)
    damaged = _damage(settings.vault_path, 100)  # the file's header

    dead = run_vaultui(home, "--batch", "get", "app/s1")
    assert dead.code == EXIT_INTEGRITY
    assert "vaultui --batch backup recover" in dead.err  # the hint names the way out
    assert run_vaultui(home, "--batch", "backup", "restore", "hourly").code == EXIT_INTEGRITY

    done = run_vaultui(home, "--batch", "backup", "recover")
    assert done.code == 0, done.err
    aside = sorted(home.glob("vault.db.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged  # kept, byte for byte
    assert f"Moved the damaged file aside to {aside[0]}" in done.out
    assert "Recovered 6 secrets from hourly (chain: nightly, hourly)" in done.out
    assert "backed-up-value" not in done.out + done.err

    vault = _vault(settings)
    try:
        assert {n: vault.get(n).value for n in FIRST} == FIRST
        assert vault.get("app/later").value == "in-the-incremental"
        assert vault.get("app/lost") is None  # written after the last backup
    finally:
        vault.close()
    got = run_vaultui(home, "--batch", "get", "app/s3")
    assert got.code == 0 and got.out.strip() == FIRST["app/s3"]


def test_recover_a_named_backup_after_a_damaged_record(settings: Settings, home: Path) -> None:
    _home_with_backups(settings)
    size = settings.vault_path.stat().st_size
    # find a byte whose damage the vault reports when reading (a record, not the header)
    original = settings.vault_path.read_bytes()
    for offset in range(4096, size, 97):
        _damage(settings.vault_path, offset)
        try:
            vault = _vault(settings)
            try:
                for name in vault.names():
                    vault.get(name)
            finally:
                vault.close()
        except IntegrityError:
            break
        settings.vault_path.write_bytes(original)
    else:
        raise AssertionError("no damaged record found")

    done = run_vaultui(home, "--batch", "backup", "recover", "nightly", "--json")
    assert done.code == 0, done.err
    result = json.loads(done.out)
    assert result["backup"] == "nightly" and result["restored_secrets"] == 5
    assert Path(result["moved_aside"]).exists()
    vault = _vault(settings)
    try:
        assert sorted(vault.names()) == sorted(FIRST)
    finally:
        vault.close()


def test_an_intact_vault_is_not_replaced(settings: Settings, home: Path) -> None:
    _home_with_backups(settings)
    before = settings.vault_path.read_bytes()
    refused = run_vaultui(home, "--batch", "backup", "recover")
    assert refused.code != 0
    assert "not damaged" in refused.err and "backup restore NAME" in refused.err
    assert settings.vault_path.read_bytes() == before
    assert not list(home.glob("vault.db.damaged-*"))
