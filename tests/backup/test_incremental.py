"""Incremental backups hold only what changed (deletions and purges included), and
the public-API fallback of the bulk reader gives the same backups."""

from __future__ import annotations

from core.backup import BackupManager
from core.vault import Vault
from tests.backup.conftest import live_state


def _manifest(backups: BackupManager, name: str) -> dict:
    return backups._resolve(name).manifest


def test_only_changes_since_the_parent_are_stored(vault: Vault, backups: BackupManager) -> None:
    with vault.transaction():
        for i in range(1000):
            vault.put(f"bulk/{i:03d}", f"value {i}", description="d")
    full = backups.create_backup("full")
    vault.put("bulk/001", "changed")
    vault.update_meta("bulk/002", description="new description")
    vault.delete("bulk/003")
    vault.purge("bulk/004")
    inc = backups.create_backup("inc", incremental=True)
    m_full, m_inc = _manifest(backups, "full"), _manifest(backups, "inc")
    assert m_inc["type"] == "incremental"
    assert m_inc["parent"]["name"] == "full"
    assert m_inc["seq_from"] == m_full["seq_to"] < m_inc["seq_to"] == vault.seq
    assert m_inc["counts"]["records"] == 3  # changed, re-described, tombstone
    assert m_inc["counts"]["tombstones"] == 1
    assert m_inc["counts"]["purged"] == 1
    assert m_inc["secret_count"] == 998
    assert inc.stat().st_size * 10 < full.stat().st_size
    empty = backups.create_backup("nothing", incremental=True)
    assert _manifest(backups, "nothing")["counts"]["records"] == 0
    assert empty.exists()

    state = live_state(vault)
    vault.put("bulk/001", "later")
    vault.put("bulk/004", "re-created after purge")
    backups.restore_backup("nothing", exact=True)
    assert live_state(vault) == state


def test_incremental_without_a_parent_is_full(vault: Vault, backups: BackupManager) -> None:
    vault.put("a", "1")
    backups.create_backup("first", incremental=True)
    assert _manifest(backups, "first")["type"] == "full"
    backups.create_backup("second", incremental=True)
    assert _manifest(backups, "second")["parent"]["name"] == "first"
    (backups.backups_dir / "first.vbak").unlink()  # the chain is broken: start a new one
    backups.create_backup("third", incremental=True)
    assert _manifest(backups, "third")["type"] == "full"
