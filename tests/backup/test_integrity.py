"""Damaged, truncated, foreign and incomplete backups are refused and nothing is restored;
backup files contain nothing readable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.backup import BackupManager, container
from core.errors import BackupError, BackupIntegrityError, NotFoundError
from core.vault import Argon2Params, KeySource, Vault
from tests.backup.conftest import live_state

NAME = "prod/db-password-XYZZY"
VALUE = "hunter2-PLUGH-value"
DESCRIPTION = "DESCRIPTION-QUUX-text"


def _fill(vault: Vault) -> None:
    vault.put(NAME, VALUE, description=DESCRIPTION, tags={"team": "TAG-FROBOZZ"})
    vault.put("api/token-GRUE", {"user": "DICT-USER-ZORK", "port": 5432})
    vault.put("raw/blob-BLORB", b"BYTES-VALUE-ZEMBLA")


@pytest.fixture
def chain(vault: Vault, backups: BackupManager) -> tuple[Path, Path]:
    """A full backup and an incremental one on top of it, then changes since."""
    _fill(vault)
    full = backups.create_backup("full")
    vault.put(NAME, "second-VALUE-XYZZY")
    vault.delete("raw/blob-BLORB")
    inc = backups.create_backup("inc", incremental=True)
    vault.put(NAME, "third")
    vault.put("late/secret", "created after")
    return full, inc


def _restore_refused(vault: Vault, backups: BackupManager, name: str) -> None:
    before, seq = live_state(vault), vault.seq
    with pytest.raises((BackupIntegrityError, BackupError)) as info:
        backups.restore_backup(name)
    assert vault.seq == seq
    assert live_state(vault) == before
    return info.value


def test_every_flipped_byte_is_caught(
    chain: tuple[Path, Path], vault: Vault, backups: BackupManager
) -> None:
    _full, inc = chain
    original = inc.read_bytes()
    root = vault.derive_key("backup")
    container.open_bytes(original, "inc", root, vault.vault_id)
    assert backups.verify_backup("inc")["valid"]
    for pos in range(len(original)):
        damaged = bytearray(original)
        damaged[pos] ^= 0x01 << (pos % 8)
        # what verify and restore run on every file, for every single byte position
        with pytest.raises(BackupIntegrityError, match=r"^Backup integrity check failed: inc"):
            container.open_bytes(bytes(damaged), "inc", root, vault.vault_id)
        if pos % 11 == 0 or pos < 80:  # and through the public call, for a sample
            inc.write_bytes(bytes(damaged))
            report = backups.verify_backup("inc")
            assert not report["valid"], f"byte {pos} flipped went unnoticed"
            assert report["errors"][0].startswith("Backup integrity check failed: inc")
    inc.write_bytes(original)
    assert backups.verify_backup("inc")["valid"]


def test_a_flipped_byte_refuses_the_restore_and_changes_nothing(
    chain: tuple[Path, Path], vault: Vault, backups: BackupManager
) -> None:
    _full, inc = chain
    original = inc.read_bytes()
    positions = sorted({0, 9, 30, 60, len(original) // 2, len(original) - 33, len(original) - 1})
    positions += list(range(0, len(original), 97))
    for pos in positions:
        damaged = bytearray(original)
        damaged[pos] ^= 0xFF
        inc.write_bytes(bytes(damaged))
        error = _restore_refused(vault, backups, "inc")
        assert "Backup integrity check failed" in str(error)


def test_a_damaged_parent_refuses_the_child(
    chain: tuple[Path, Path], vault: Vault, backups: BackupManager
) -> None:
    full, _inc = chain
    data = bytearray(full.read_bytes())
    data[len(data) // 2] ^= 0x40
    full.write_bytes(bytes(data))
    report = backups.verify_backup("inc")
    assert not report["valid"]
    assert any(e.startswith("Backup integrity check failed: full") for e in report["errors"])
    _restore_refused(vault, backups, "inc")


@pytest.mark.parametrize("keep", [0, 1, 7, 13, 40, -1, -32, -33, -100])
def test_truncated_files_are_refused(
    chain: tuple[Path, Path], vault: Vault, backups: BackupManager, keep: int
) -> None:
    _full, inc = chain
    data = inc.read_bytes()
    inc.write_bytes(data[:keep] if keep >= 0 else data[: len(data) + keep])
    report = backups.verify_backup("inc")
    assert not report["valid"]
    assert report["errors"][0].startswith("Backup integrity check failed")
    _restore_refused(vault, backups, "inc")


def test_appended_bytes_are_refused(
    chain: tuple[Path, Path], vault: Vault, backups: BackupManager
) -> None:
    _full, inc = chain
    inc.write_bytes(inc.read_bytes() + b"\x00")
    assert not backups.verify_backup("inc")["valid"]
    _restore_refused(vault, backups, "inc")


def test_a_missing_link_is_reported(
    vault: Vault, backups: BackupManager, chain: tuple[Path, Path]
) -> None:
    vault.put("more", "x")
    backups.create_backup("inc2", incremental=True)
    (backups.backups_dir / "inc.vbak").unlink()
    report = backups.verify_backup("inc2")
    assert not report["valid"]
    assert "Backup chain incomplete" in report["errors"][0]
    assert "'inc'" in report["errors"][0]
    listed = {b["name"]: b for b in backups.list_backups()}
    assert listed["inc2"]["status"] == "broken chain"
    assert listed["full"]["status"] == "ok"
    error = _restore_refused(vault, backups, "inc2")
    assert "missing" in str(error)


def test_a_backup_of_another_vault_is_refused(
    tmp_path: Path, vault: Vault, backups: BackupManager, chain: tuple[Path, Path]
) -> None:
    other = Vault.create(tmp_path / "other.db", KeySource.passphrase("x"), kdf=Argon2Params.fast())
    try:
        foreign = BackupManager(other, backups.backups_dir)
        report = foreign.verify_backup("full")
        assert not report["valid"]
        assert "another vault" in report["errors"][0]
        with pytest.raises(BackupIntegrityError):
            foreign.restore_backup("full")
        assert other.names() == []
        listed = foreign.list_backups()
        assert {b["status"] for b in listed} == {"damaged"}
    finally:
        other.close()


def test_backup_files_hold_no_plaintext(
    chain: tuple[Path, Path], vault: Vault, backups: BackupManager
) -> None:
    needles = [
        NAME,
        VALUE,
        "second-VALUE-XYZZY",
        DESCRIPTION,
        "TAG-FROBOZZ",
        "api/token-GRUE",
        "DICT-USER-ZORK",
        "BYTES-VALUE-ZEMBLA",
        "raw/blob-BLORB",
        "XYZZY",
        "PLUGH",
        vault.vault_id_hex,
        "passphrase",
        "argon2",
        "tester",
    ]
    for path in chain:
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, f"{needle!r} readable in {path.name}"
            assert needle.encode("utf-16-le") not in data
        assert vault.vault_id not in data


def test_unknown_backup_names(backups: BackupManager) -> None:
    with pytest.raises(NotFoundError):
        backups.verify_backup("nope")
    with pytest.raises(NotFoundError):
        backups.restore_backup("nope")
    with pytest.raises(BackupError, match="Invalid backup name"):
        backups.create_backup("../escape")
    backups.create_backup("taken")
    with pytest.raises(BackupError, match="already exists"):
        backups.create_backup("taken")


def test_backup_files_are_private(backups: BackupManager, vault: Vault) -> None:
    vault.put("a", "1")
    path = backups.create_backup("p")
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert oct(backups.backups_dir.stat().st_mode & 0o777) == oct(0o700)
    assert [p.name for p in backups.backups_dir.iterdir() if p.name != ".lock"] == ["p.vbak"]
    assert not [p for p in os.listdir(backups.backups_dir) if p.startswith(".tmp-")]


def test_no_value_in_reprs_logs_or_results(
    chain: tuple[Path, Path],
    vault: Vault,
    backups: BackupManager,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from core.backup import body, vault_io
    from core.backup.restore import build_state, plan_restore

    caplog.set_level(logging.DEBUG)
    _full, inc = chain
    snapshot = vault_io.export(vault, 0)
    opened = container.open_file(inc, vault.derive_key("backup"), vault.vault_id)
    decoded = body.decode(opened.body, "inc")
    entries = build_state([decoded], "inc")
    plan = plan_restore(vault, entries, exact=True)
    results = [
        backups.restore_backup("full", dry_run=True),
        backups.verify_backup("inc"),
        backups.list_backups(),
        backups.restore_backup("inc", exact=True),
    ]
    texts = [repr(x) for x in (snapshot, opened, decoded, entries, plan, backups, *results)]
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        for value in (VALUE, "second-VALUE-XYZZY", "BYTES-VALUE-ZEMBLA", "DICT-USER-ZORK"):
            assert value not in text
