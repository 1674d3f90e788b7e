"""Replayed, duplicated and smuggled rows, built with sqlite3 on real vault files.

Every row of a vault authenticates on its own (AES-GCM with its place as associated
data), so an *old* row put back still decrypts. The record-set digest, checked when a
file is opened and again whenever another process changed it, is what refuses it; the
schema check refuses files whose tables, triggers or views were altered.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from core.errors import IntegrityError, SyncError
from core.sync.merge import merge_file
from core.vault import Argon2Params, KeySource, Vault
from core.vault.crypto import mac
from core.vault.digest import legacy_digest

REVOKED = "sk_live_REVOKED_by_the_admin"
CURRENT = "sk_live_current"


@pytest.fixture
def path(tmp_path: Path, key_source: KeySource) -> Path:
    p = tmp_path / "vault.db"
    v = Vault.create(p, key_source, kdf=Argon2Params.fast())
    for i in range(20):
        v.put(f"app/other_{i}", f"value {i}")
    v.put("payments/api_key", REVOKED)
    v.close()
    return p


def _db(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _record_row(path: Path, uid: bytes | None = None) -> tuple:
    db = _db(path)
    try:
        if uid is None:  # the newest record: payments/api_key
            return db.execute("SELECT * FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return db.execute("SELECT * FROM records WHERE uid = ?", (uid,)).fetchone()
    finally:
        db.close()


def _put_back(path: Path, old: tuple, state: tuple | None = None) -> None:
    """Write an old records row (and optionally an old state row) over the current one."""
    db = _db(path)
    db.execute("BEGIN")
    db.execute("DELETE FROM records WHERE uid = ?", (old[1],))
    db.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", old)
    if state is not None:
        db.execute("UPDATE state SET seq = ?, digest = ?, mac = ? WHERE id = 1", state[1:])
    db.execute("COMMIT")
    db.close()


def _revoke(path: Path, key_source: KeySource) -> None:
    with Vault.open(path, key_source) as v:
        v.put("payments/api_key", CURRENT, why="revoked the leaked key")


def test_a_replayed_record_row_is_refused_on_open(path: Path, key_source: KeySource) -> None:
    old = _record_row(path)
    _revoke(path, key_source)
    _put_back(path, old)
    with pytest.raises(IntegrityError, match="replayed"):
        Vault.open(path, key_source)


def test_a_replayed_row_with_its_own_genuine_state_is_refused(
    path: Path, key_source: KeySource
) -> None:
    """The old state row is MAC'd and consistent with the old records row, but not
    with the version rows written since."""
    old = _record_row(path)
    db = _db(path)
    old_state = db.execute("SELECT * FROM state").fetchone()
    db.close()
    _revoke(path, key_source)
    _put_back(path, old, old_state)
    with pytest.raises(IntegrityError):
        Vault.open(path, key_source)


def test_a_row_replayed_under_a_running_process_is_refused_before_any_value(
    path: Path, key_source: KeySource
) -> None:
    old = _record_row(path)
    _revoke(path, key_source)
    with Vault.open(path, key_source) as v:
        assert v.get("payments/api_key").value == CURRENT
        _put_back(path, old)  # another process (or a file-sync tool) writes the file
        with pytest.raises(IntegrityError, match="replayed"):
            v.get("payments/api_key")
        with pytest.raises(IntegrityError):
            v.get("payments/api_key", version=1)
        with pytest.raises(IntegrityError):
            v.history_values("app/other_3")


def test_honest_writes_by_another_process_are_read_normally(
    path: Path, key_source: KeySource
) -> None:
    with Vault.open(path, key_source) as reader, Vault.open(path, key_source) as writer:
        assert reader.get("payments/api_key").value == REVOKED
        writer.put("payments/api_key", CURRENT)
        writer.purge("app/other_0")
        assert reader.get("payments/api_key").value == CURRENT
        assert reader.get("app/other_0") is None
        assert reader.verify()["records"] == 20


def test_a_duplicated_old_row_does_not_cancel_out(path: Path, key_source: KeySource) -> None:
    """With an XOR of per-row MACs two copies of a row cancel; a sum with counts does
    not. The table is rebuilt without its UNIQUE constraints to hold the copies."""
    old = _record_row(path)
    _revoke(path, key_source)
    current = _record_row(path, old[1])
    db = _db(path)
    db.executescript(
        "BEGIN;"
        "CREATE TABLE r2 AS SELECT * FROM records;"
        "DROP TABLE records; ALTER TABLE r2 RENAME TO records;"
        "COMMIT;"
    )
    # the current row moves behind two copies of the old one (rid is in no digest)
    db.execute("UPDATE records SET rid = 100000 WHERE uid = ?", (current[1],))
    db.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (1000, *old[1:]))
    db.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (1001, *old[1:]))
    db.close()
    with pytest.raises(IntegrityError, match="schema"):
        Vault.open(path, key_source)
    # and the digest alone, computed over the duplicated rows, does not match either
    with _keys(path, key_source) as (rows, stored):
        db = _db(path)
        try:
            assert rows.scan(db) != stored
        finally:
            db.close()


class _keys:
    """The digest keys of the vault at ``path`` and its stored digest (read without
    Vault.open, which would refuse the file)."""

    def __init__(self, path: Path, key_source: KeySource) -> None:
        from core.vault.digest import Digest
        from core.vault.engine import DataKeys
        from core.vault.keys import KeySlot, unwrap

        db = _db(path)
        header = dict(db.execute("SELECT key, value FROM header"))
        slots = [
            KeySlot(i, k, json.loads(p), w)
            for i, k, p, w in db.execute("SELECT id, kind, params, wrapped FROM key_slots")
        ]
        self.rows = DataKeys(unwrap(bytes(header["vault_id"]), slots, key_source)).rows
        self.stored = Digest.decode(db.execute("SELECT digest FROM state").fetchone()[0])
        db.close()

    def __enter__(self):
        return self.rows, self.stored

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TRIGGER spy AFTER UPDATE ON records BEGIN "
        "INSERT INTO local_state VALUES (hex(new.uid), new.meta); END",
        "CREATE VIEW v AS SELECT * FROM records",
        "CREATE TABLE extra(x)",
        "CREATE INDEX by_meta ON records(meta)",
        "DROP INDEX records_by_seq",
    ],
    ids=["trigger", "view", "table", "index", "dropped index"],
)
def test_a_file_with_an_altered_schema_is_refused(
    path: Path, key_source: KeySource, sql: str
) -> None:
    db = _db(path)
    db.execute(sql)
    db.close()
    with pytest.raises(IntegrityError, match="schema"):
        Vault.open(path, key_source)
    with pytest.raises(IntegrityError, match="schema"):
        Vault.slot_kinds(path)


def test_every_connection_distrusts_the_schema(path: Path, key_source: KeySource) -> None:
    with Vault.open(path, key_source) as v:
        assert v.engine.conn.execute("PRAGMA trusted_schema").fetchone()[0] == 0


def test_merge_refuses_a_conflict_copy_with_a_trigger(
    tmp_path: Path, path: Path, key_source: KeySource
) -> None:
    copy = tmp_path / "vault (conflicted copy).db"
    shutil.copy(path, copy)
    db = _db(copy)
    db.execute("CREATE TRIGGER t AFTER INSERT ON local_state BEGIN DELETE FROM records; END")
    db.close()
    with Vault.open(path, key_source) as v:
        with pytest.raises((IntegrityError, SyncError), match="schema"):
            merge_file(v, copy)
        assert v.get("payments/api_key").value == REVOKED


def _make_legacy(path: Path, key_source: KeySource) -> None:
    """Rewrite the state as a file written before the format-2 digest (XOR of HMACs)."""
    with Vault.open(path, key_source) as v:
        keys = v.engine.keys
    db = _db(path)
    seq = db.execute("SELECT seq FROM state").fetchone()[0]
    digest = legacy_digest(keys.digest, db)
    tag = mac(keys.header, b"state", str(seq).encode(), digest)
    db.execute("UPDATE state SET digest = ?, mac = ?", (digest, tag))
    db.close()


def test_a_file_with_the_old_digest_opens_and_migrates_on_its_first_write(
    path: Path, key_source: KeySource
) -> None:
    _make_legacy(path, key_source)
    with Vault.open(path, key_source) as v:
        assert v.get("payments/api_key").value == REVOKED
        v.verify()
        v.put("payments/api_key", CURRENT)
        v.verify()
    db = _db(path)
    assert len(db.execute("SELECT digest FROM state").fetchone()[0]) == 41
    db.close()
    with Vault.open(path, key_source) as v:
        assert v.get("payments/api_key").value == CURRENT


def test_a_replayed_row_in_a_file_with_the_old_digest_is_refused(
    path: Path, key_source: KeySource
) -> None:
    old = _record_row(path)
    _revoke(path, key_source)
    _make_legacy(path, key_source)
    _put_back(path, old)
    with pytest.raises(IntegrityError, match="replayed"):
        Vault.open(path, key_source)


def test_git_diff_of_a_file_with_a_view_shows_no_rows_from_it(path: Path) -> None:
    """Without a key the diff driver reads record ids straight from the file: a view
    named like a table must not feed it rows."""
    from core.sync.gitdriver import describe

    assert describe(path, None)[0].startswith("vaultui vault: 21 record(s)")
    db = _db(path)
    db.executescript(
        "ALTER TABLE records RENAME TO real_records;"
        "CREATE VIEW records AS SELECT rid, x'00' AS uid, 666 AS rev, 0 AS deleted "
        "FROM real_records;"
    )
    db.close()
    lines = describe(path, None)
    assert lines == ["vaultui vault: unexpected schema (modified outside vaultui?)"]


def test_a_renamed_and_a_replacing_rename_keep_the_digest_sound(
    path: Path, key_source: KeySource
) -> None:
    from core.vault.rename import rename

    with Vault.open(path, key_source) as v:
        rename(v, "app/other_1", "app/renamed")
        v.delete("app/other_2")
        rename(v, "app/other_3", "app/other_2", replace=True)
        assert v.verify()["records"] == 20
    with Vault.open(path, key_source) as v:  # the open-time check passes too
        assert v.get("app/renamed").value == "value 1"
        assert v.get("app/other_2").value == "value 3"
