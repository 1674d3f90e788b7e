"""Rekey: a new data key for every record, history version and key slot, in one
transaction, so that an old copy's key slots and the old passphrase read nothing
written afterwards (which changing the passphrase alone does not give)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from core.errors import IntegrityError, WrongKeyError
from core.vault import Argon2Params, KeySource, Vault, write_new_key_file
from core.vault.crypto import Sealer, hkdf
from core.vault.engine import Aads
from core.vault.rekey import SlotsUnavailableError, rekey

OLD = "old passphrase, leaked"
NEW = "new passphrase after the leak"
LATE = "written-after-the-rekey-7f3a"


@pytest.fixture
def pw_vault(tmp_path: Path):
    """A passphrase vault with history, a tombstone, a purge and bookkeeping."""
    v = Vault.create(tmp_path / "vault.db", KeySource.passphrase(OLD), kdf=Argon2Params.fast())
    v.put("db/password", "v1", description="db", tags={"env": "prod"})
    v.put("db/password", "v2")
    v.put("cfg", {"host": "db", "port": 5432})
    v.put("blob", b"\x00\x01bytes")
    v.put("gone", "soon deleted")
    v.delete("gone")
    v.put("purged", "x")
    v.delete("purged")
    v.purge("purged")
    v.set_local("sync/config", b'{"remote": 1}')
    v.set_local("backup.made", b'{"b1": 3}')
    yield v
    v.close()


def _slot_rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT kind, params, wrapped FROM key_slots ORDER BY id").fetchall()


def _transplant(path: Path, rows: list[tuple]) -> None:
    """Put ``rows`` (another copy's key slots) into the vault file at ``path``."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM key_slots")
        conn.executemany("INSERT INTO key_slots(kind, params, wrapped) VALUES (?, ?, ?)", rows)
    conn.close()


def _key_from_slots(path: Path, passphrase: str) -> bytes:
    """What an attacker holding the file at ``path`` gets from its key slots and
    ``passphrase``: the data key (WrongKeyError if no slot opens)."""
    import json

    from core.vault.keys import KeySlot, unwrap

    with sqlite3.connect(path) as conn:
        vault_id = bytes(dict(conn.execute("SELECT key, value FROM header"))["vault_id"])
        rows = conn.execute("SELECT id, kind, params, wrapped FROM key_slots").fetchall()
    slots = [KeySlot(i, k, json.loads(p), bytes(w)) for i, k, p, w in rows]
    return unwrap(vault_id, slots, KeySource.passphrase(passphrase))


def _readable_with(path: Path, data_key: bytes) -> int:
    """How many value ciphertexts in the file ``data_key`` decrypts (AAD checks aside:
    any success would be a leak, so try the right AAD the vault uses)."""
    with sqlite3.connect(path) as conn:
        vault_id = dict(conn.execute("SELECT key, value FROM header"))["vault_id"]
        rows = conn.execute("SELECT uid, version, value FROM versions").fetchall()
    aads = Aads(bytes(vault_id))
    sealer = Sealer(hkdf(data_key, b"vaultui/records"))
    ok = 0
    for uid, version, blob in rows:
        try:
            sealer.open(bytes(blob), aads.value(uid, version))
            ok += 1
        except IntegrityError:
            pass
    return ok


def test_passwd_alone_does_not_revoke_an_old_copy(pw_vault, tmp_path):
    """The problem rekey solves: after a passphrase change, old slots + old passphrase
    still read what is written later."""
    old_slots = _slot_rows(pw_vault.path)
    pw_vault.change_passphrase(KeySource.passphrase(OLD), KeySource.passphrase(NEW))
    pw_vault.put("late", LATE)
    copy = tmp_path / "copy.db"
    shutil.copy(pw_vault.path, copy)
    _transplant(copy, old_slots)
    old_key = _key_from_slots(copy, OLD)
    assert _readable_with(copy, old_key) == 6  # every value, the late one included


def test_old_slots_and_old_passphrase_read_nothing_after_a_rekey(pw_vault, tmp_path):
    old_copy = tmp_path / "old-copy.db"
    shutil.copy(pw_vault.path, old_copy)
    old_slots = _slot_rows(old_copy)
    old_key = pw_vault.data_key_for_agent()
    before = {n: pw_vault.get(n).value for n in pw_vault.names()}
    history = [(i.version, val) for i, val in pw_vault.history_values("db/password")]

    result = rekey(
        pw_vault,
        [KeySource.passphrase(OLD)],
        new_passphrase=KeySource.passphrase(NEW),
        kdf=Argon2Params.fast(),
    )
    assert (result.records, result.versions) == (4, 5) and not result.slots_dropped
    pw_vault.put("late", LATE)
    assert pw_vault.data_key_for_agent() != old_key
    assert pw_vault.verify()["records"] == 5
    pw_vault.close()

    # the rekeyed file opens with the new passphrase, everything intact
    with Vault.open(tmp_path / "vault.db", KeySource.passphrase(NEW)) as v:
        assert {n: v.get(n).value for n in before} == before
        assert [(i.version, val) for i, val in v.history_values("db/password")] == history
        assert v.record("gone", include_deleted=True).deleted
        assert v.get_local("sync/config") == b'{"remote": 1}'
        assert v.get_local("backup.made") is None  # next backup is a full one
        assert v.get("late").value == LATE
    with pytest.raises(WrongKeyError):
        Vault.open(tmp_path / "vault.db", KeySource.passphrase(OLD))

    # the old copy's slots transplanted into the new file, with the old passphrase
    attacked = tmp_path / "attacked.db"
    shutil.copy(tmp_path / "vault.db", attacked)
    _transplant(attacked, old_slots)
    with pytest.raises((WrongKeyError, IntegrityError)):
        Vault.open(attacked, KeySource.passphrase(OLD))
    # and even the data key those slots unwrap with the old passphrase opens nothing
    assert _key_from_slots(attacked, OLD) == old_key
    assert _readable_with(attacked, old_key) == 0
    assert _readable_with(old_copy, old_key) == 5  # sanity: it does open the old copy
    assert LATE.encode() not in attacked.read_bytes()


def test_every_slot_is_rewrapped_or_the_rekey_is_refused(tmp_path):
    keyfile = KeySource.from_key_file(write_new_key_file(tmp_path / "k.key"))
    v = Vault.create(tmp_path / "vault.db", KeySource.passphrase(OLD), kdf=Argon2Params.fast())
    v.add_key_slot(keyfile)
    v.put("a", "1")
    key = v.data_key_for_agent()
    with pytest.raises(SlotsUnavailableError, match="keyfile"):
        rekey(v, [KeySource.passphrase(OLD)])
    assert v.data_key_for_agent() == key and v.get("a").value == "1"  # nothing changed
    v.close()
    with Vault.open(tmp_path / "vault.db", keyfile) as again:
        assert again.data_key_for_agent() == key

        # with both secrets present, both slots get the new key
        result = rekey(again, [keyfile, KeySource.passphrase(OLD)])
        assert sorted(s["kind"] for s in result.slots_kept) == ["keyfile", "passphrase"]
    for source in (keyfile, KeySource.passphrase(OLD)):
        with Vault.open(tmp_path / "vault.db", source) as v2:
            assert v2.get("a").value == "1"

    with Vault.open(tmp_path / "vault.db", KeySource.passphrase(OLD)) as v3:
        result = rekey(v3, [KeySource.passphrase(OLD)], drop_unavailable=True)
        assert [s["kind"] for s in result.slots_dropped] == ["keyfile"]
    with pytest.raises(WrongKeyError):
        Vault.open(tmp_path / "vault.db", keyfile)


def test_audit_key_is_carried_and_backup_key_is_not(pw_vault):
    audit, fp, backup = (pw_vault.derive_key(p) for p in ("audit", "sync/fingerprint", "backup"))
    rekey(pw_vault, [KeySource.passphrase(OLD)])
    assert pw_vault.derive_key("audit") == audit
    assert pw_vault.derive_key("sync/fingerprint") == fp
    assert pw_vault.derive_key("backup") != backup
    rekey(pw_vault, [KeySource.passphrase(OLD)])  # a second rekey carries it again
    assert pw_vault.derive_key("audit") == audit
    path = pw_vault.path
    pw_vault.close()
    with Vault.open(path, KeySource.passphrase(OLD)) as v:
        assert v.derive_key("audit") == audit


def test_a_tampered_vault_is_refused_not_resealed(pw_vault):
    with sqlite3.connect(pw_vault.path) as conn:
        conn.execute("DELETE FROM versions WHERE version = 1")  # history row removed
    key = pw_vault.data_key_for_agent()
    with pytest.raises(IntegrityError, match="refusing to rekey"):
        rekey(pw_vault, [KeySource.passphrase(OLD)])
    assert pw_vault.data_key_for_agent() == key
    with pytest.raises(IntegrityError):
        pw_vault.verify()


def test_a_process_still_holding_the_old_key_cannot_write(pw_vault, tmp_path):
    other = Vault.open(tmp_path / "vault.db", KeySource.passphrase(OLD))  # another process
    try:
        rekey(pw_vault, [KeySource.passphrase(OLD)])
        with pytest.raises(IntegrityError):
            other.put("stale/writer", "under the old key")
        # reads find nothing under the old name hashes (or fail authentication)
        try:
            stale = other.get("db/password")
        except IntegrityError:
            stale = None
        assert stale is None
    finally:
        other.close()
    assert pw_vault.verify()["records"] == 4
    assert pw_vault.get("stale/writer") is None
    with Vault.open(tmp_path / "vault.db", KeySource.passphrase(OLD)) as reopened:
        assert reopened.get("db/password").value == "v2"
