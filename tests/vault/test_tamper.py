"""Property 3: every ciphertext is bound to its place; tampering is an IntegrityError.

The fuzz test flips random bytes in a copy of a real vault: every read returns the exact
value or raises a core error, and whatever a lookup cannot see, ``verify()`` reports.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from core.errors import IntegrityError, VaultError, WrongKeyError
from core.vault import Argon2Params, KeySource, Vault

VALUES = {f"app/secret_{i}": f"value-{i}-" + "x" * (i % 7) for i in range(40)}
VALUES["cfg"] = {"host": "db", "port": 5432}


@pytest.fixture
def original(tmp_path: Path, key_source: KeySource) -> Path:
    path = tmp_path / "orig.db"
    v = Vault.create(path, key_source, kdf=Argon2Params.fast())
    for name, value in VALUES.items():
        v.put(name, value, description="d", tags={"t": "1"})
    v.put("app/secret_1", "changed")
    v.delete("app/secret_2")
    v.close()
    return path


def _expected(name: str):
    if name == "app/secret_1":
        return "changed"
    if name == "app/secret_2":
        return None
    return VALUES[name]


def test_random_byte_flips_never_yield_wrong_data(
    tmp_path: Path, original: Path, key_source: KeySource
) -> None:
    rng = random.Random(1234)
    size = original.stat().st_size
    outcomes = {"exact": 0, "error": 0, "detected_by_verify": 0, "harmless": 0}
    for trial in range(120):
        copy = tmp_path / f"t{trial}.db"
        shutil.copy(original, copy)
        data = bytearray(copy.read_bytes())
        for _ in range(rng.choice([1, 1, 2, 8])):
            pos = rng.randrange(size)
            data[pos] ^= 1 << rng.randrange(8)
        copy.write_bytes(bytes(data))
        try:
            v = Vault.open(copy, key_source)
        except VaultError:
            outcomes["error"] += 1
            continue
        missing = False
        with v:
            for name in VALUES:
                try:
                    got = v.get(name)
                except VaultError:
                    outcomes["error"] += 1
                    continue
                expected = _expected(name)
                if got is None and expected is not None:
                    missing = True  # an index page lost the entry: must be caught below
                    continue
                assert (got.value if got else None) == expected, f"wrong data in trial {trial}"
                outcomes["exact"] += 1
            if missing:
                with pytest.raises(VaultError):
                    v.verify()
                outcomes["detected_by_verify"] += 1
            else:
                try:
                    v.verify()
                    outcomes["harmless"] += 1  # e.g. a flip in free space
                except VaultError:
                    outcomes["error"] += 1
    assert outcomes["error"] > 0 and outcomes["exact"] > 0


def _rows(path: Path):
    return sqlite3.connect(path)


def test_swapping_two_records_values_is_detected(original: Path, key_source: KeySource) -> None:
    db = _rows(original)
    # two live records whose current value is version 1 (so get() reads the swapped row)
    (u1, _v1), (_u2, v2) = db.execute(
        "SELECT uid, value FROM versions WHERE version = 1 AND uid IN "
        "(SELECT uid FROM records WHERE deleted = 0 AND cur = 1) LIMIT 2"
    ).fetchall()
    db.execute("UPDATE versions SET value = ? WHERE uid = ? AND version = 1", (v2, u1))
    db.commit()
    db.close()
    # caught when the file is opened (the digest), before any value is read
    with pytest.raises(IntegrityError), Vault.open(original, key_source) as v:
        for name in VALUES:
            v.get(name)


def test_replaying_an_old_record_row_is_detected_on_open(
    original: Path, key_source: KeySource
) -> None:
    v = Vault.open(original, key_source)
    db = _rows(original)
    old = db.execute("SELECT * FROM records WHERE rev = 1 LIMIT 1").fetchone()
    db.close()
    uid = old[1]
    target_name = next(r.name for r in v.list() if r.uid == bytes(uid).hex())
    v.put(target_name, "newer value")
    v.close()
    db = _rows(original)
    db.execute("DELETE FROM records WHERE uid = ?", (uid,))
    db.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", old)
    db.commit()
    db.close()
    with pytest.raises(IntegrityError, match="replayed"), Vault.open(original, key_source) as v2:
        v2.verify()


def test_deleting_a_row_is_detected_on_open(original: Path, key_source: KeySource) -> None:
    db = _rows(original)
    db.execute("DELETE FROM records WHERE rid = (SELECT max(rid) FROM records)")
    db.commit()
    db.close()
    with pytest.raises(IntegrityError, match="digest"), Vault.open(original, key_source) as v:
        v.verify()


def test_editing_the_header_or_a_key_slot_is_detected(
    original: Path, key_source: KeySource, tmp_path: Path
) -> None:
    edited = tmp_path / "h.db"
    shutil.copy(original, edited)
    db = _rows(edited)
    db.execute("UPDATE header SET value = ? WHERE key = 'created_at'", (b"0",))
    db.commit()
    db.close()
    with pytest.raises(IntegrityError, match="header"):
        Vault.open(edited, key_source)
    shutil.copy(original, edited)
    db = _rows(edited)
    db.execute("UPDATE header SET value = ? WHERE key = 'vault_id'", (b"\x00" * 16,))
    db.commit()
    db.close()
    with pytest.raises((IntegrityError, WrongKeyError)):
        Vault.open(edited, key_source)


def test_a_file_that_is_not_a_vault_is_a_clear_error(tmp_path: Path, key_source: KeySource) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(IntegrityError):
        Vault.open(junk, key_source)


def test_undecodable_schema_text_is_an_integrity_error(tmp_path) -> None:
    """A damaged byte in the schema text SQLite keeps in the file (found by the fuzz
    test): a clear IntegrityError, not a UnicodeDecodeError."""
    from core.errors import IntegrityError
    from core.vault import KeySource, Vault, write_new_key_file

    key = KeySource.from_key_file(write_new_key_file(tmp_path / "k.key"))
    path = tmp_path / "vault.db"
    Vault.create(path, key).close()
    data = bytearray(path.read_bytes())
    at = data.index(b"CREATE TABLE header")
    data[at + 7] = 0x80  # "CREATE \x80ABLE": not UTF-8
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        Vault.open(path, key).close()
