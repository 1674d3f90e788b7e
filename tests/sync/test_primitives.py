"""The sync primitives at the end of core/vault/store.py keep the vault file's
invariants: authenticated rows, the record-set digest, check-and-set, purged ids."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from core.errors import ConflictError, IntegrityError, ValidationError
from core.vault import Argon2Params, KeySource, Vault
from core.vault.store import (
    sync_diff,
    sync_drop,
    sync_key_slots,
    sync_read,
    sync_rows,
    sync_write,
)


@pytest.fixture
def vault(tmp_path: Path, key: KeySource) -> Vault:
    v = Vault.create(tmp_path / "v" / "vault.db", key, kdf=Argon2Params.fast())
    v.put("a", "one", description="first")
    v.put("a", "two")
    v.put("b", {"k": 1})
    return v


def _uid(vault: Vault, name: str) -> bytes:
    return bytes.fromhex(vault.record(name, include_deleted=True).uid)


def test_read_returns_every_version_and_write_keeps_the_digest(vault: Vault) -> None:
    [raw] = sync_read(vault, [_uid(vault, "a")])
    assert raw["name"] == "a" and [n for n, _, _ in raw["versions"]] == [1, 2]
    assert raw["versions"][0][2] == b"sone"  # encoded: type tag + payload
    meta = replace(
        raw["meta"], version=3, max_version=3, description="merged", stages={"PREVIOUS": 2}
    )
    info = {"at": 1.5, "who": "x", "why": "merge", "src": "merge", "dev": "d", "t": "str", "s": 5}
    rec = sync_write(
        vault, raw["uid"], "a", meta, [(3, info, b"sthree")], deleted=False, expected_rev=raw["rev"]
    )
    assert (rec.version, rec.rev) == (3, raw["rev"] + 1)
    assert vault.get("a").value == "three" and vault.record("a").description == "merged"
    assert vault.get("a", stage="PREVIOUS").value == "two"
    assert vault.history("a")[-1].why == "merge"
    vault.verify()


def test_write_is_check_and_set_and_never_overwrites_a_version(vault: Vault) -> None:
    [raw] = sync_read(vault, [_uid(vault, "a")])
    vault.put("a", "raced")
    with pytest.raises(ConflictError):
        sync_write(vault, raw["uid"], "a", raw["meta"], [], deleted=False, expected_rev=raw["rev"])
    [raw] = sync_read(vault, [_uid(vault, "a")])
    with pytest.raises(ConflictError):
        sync_write(
            vault,
            raw["uid"],
            "a",
            raw["meta"],
            [(1, {}, b"sx")],
            deleted=False,
            expected_rev=raw["rev"],
        )
    with pytest.raises(ValidationError):  # the current version must exist
        sync_write(
            vault,
            raw["uid"],
            "a",
            replace(raw["meta"], version=99),
            [],
            deleted=False,
            expected_rev=raw["rev"],
        )
    with pytest.raises(ConflictError):  # a new record must not exist yet
        sync_write(vault, raw["uid"], "a", raw["meta"], [], deleted=False, expected_rev=0)
    vault.verify()


def test_a_new_uid_for_an_existing_name_replaces_the_old_record(vault: Vault) -> None:
    old = _uid(vault, "b")
    [raw] = sync_read(vault, [old])
    new = bytes(16)  # sorts first
    with pytest.raises(ConflictError):
        sync_write(vault, new, "b", raw["meta"], raw["versions"], deleted=False, expected_rev=0)
    sync_write(
        vault,
        new,
        "b",
        raw["meta"],
        raw["versions"],
        deleted=False,
        expected_rev=0,
        drop_uids=(old,),
    )
    assert vault.record("b").uid == new.hex() and vault.get("b").value == {"k": 1}
    assert old.hex() in {u for u, _ in vault.purged_since(0)}
    assert old not in sync_rows(vault)
    vault.verify()
    sync_drop(vault, new)
    assert vault.record("b", include_deleted=True) is None
    vault.verify()


def test_diff_compares_ciphertexts_without_the_key(vault: Vault, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(vault.path, copy)
    pairs, same = sync_diff(vault, copy)
    assert (pairs, same) == ([], 2)
    other = Vault.open(copy, vault.key_source, device_id="other")
    other.put("a", "changed")
    other.put("c", "new")
    pairs, same = sync_diff(vault, copy)
    assert same == 1
    assert sorted(pairs) == sorted([(_uid(vault, "a"), _uid(vault, "a")), (_uid(other, "c"), None)])
    other.close()


def test_rows_written_by_sync_are_still_tamper_evident(vault: Vault) -> None:
    [raw] = sync_read(vault, [_uid(vault, "a")])
    sync_write(
        vault,
        raw["uid"],
        "a",
        replace(raw["meta"], description="x"),
        [],
        deleted=False,
        expected_rev=raw["rev"],
    )
    path = vault.path
    vault.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE versions SET version = version + 10 WHERE version = 1")
    conn.commit()
    conn.close()
    reopened = Vault.open(path, KeySource.from_key_file(Path(path).parent.parent / "shared.key"))
    with pytest.raises(IntegrityError):
        reopened.verify()


def test_key_slots_are_exported_as_stored(vault: Vault) -> None:
    [(kind, params, wrapped)] = sync_key_slots(vault)
    assert kind == "keyfile" and '"salt"' in params and len(wrapped) > 32
