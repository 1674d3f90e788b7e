"""Member key slots in the vault file: bound to their vault, and hostile slot params
refused as an integrity error before any decryption is tried."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from core.errors import IntegrityError
from core.vault import Argon2Params, KeySource, Vault
from core.vault.members import add_member_slot, parse_recipient


def _vault_with_carol(path: Path, carol_pub: str) -> None:
    with Vault.create(path, KeySource.passphrase("owner pass"), kdf=Argon2Params.fast()) as v:
        v.put("db/password", "s3cret-value")
        add_member_slot(v, "carol", parse_recipient(carol_pub), "now", "test")


@pytest.fixture
def carol(tmp_path: Path) -> tuple[Path, str]:
    import pyrage

    ident = pyrage.x25519.Identity.generate()
    key = tmp_path / "carol.key"
    key.write_text(f"{ident}\n")
    return key, str(ident.to_public())


def _carol_row(path: Path) -> tuple[int, str, bytes]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT id, params, wrapped FROM key_slots WHERE kind = 'age'"
        ).fetchone()


def test_a_member_slot_from_another_vault_opens_nothing(tmp_path, carol):
    key, pub = carol
    _vault_with_carol(tmp_path / "a.db", pub)
    _vault_with_carol(tmp_path / "b.db", pub)
    with Vault.open(tmp_path / "a.db", KeySource.identity(key)) as v:
        assert v.get("db/password").value == "s3cret-value"
    # b's slot for the same key, put into a: it names b's data key, and says so
    _sid, _params, wrapped_b = _carol_row(tmp_path / "b.db")
    conn = sqlite3.connect(tmp_path / "a.db")
    with conn:
        conn.execute("UPDATE key_slots SET wrapped = ? WHERE kind = 'age'", (wrapped_b,))
    conn.close()
    with pytest.raises(IntegrityError, match="of this vault"):
        Vault.open(tmp_path / "a.db", KeySource.identity(key))


@pytest.mark.parametrize(
    "change",
    [
        {"recipient": "ssh-ed25519 " + "A" * 5000},
        {"recipient": "not a key"},
        {"member": "bad name\x1b[2J"},
        {"member": 7},
        {"added_by": ["x"]},
    ],
)
def test_hostile_member_params_are_an_integrity_error(tmp_path, carol, change):
    key, pub = carol
    _vault_with_carol(tmp_path / "a.db", pub)
    sid, params, _wrapped = _carol_row(tmp_path / "a.db")
    conn = sqlite3.connect(tmp_path / "a.db")
    with conn:
        conn.execute(
            "UPDATE key_slots SET params = ? WHERE id = ?",
            (json.dumps({**json.loads(params), **change}), sid),
        )
    conn.close()
    with pytest.raises(IntegrityError):
        Vault.open(tmp_path / "a.db", KeySource.identity(key))


def test_exposure_marks_accumulate_and_clear_on_a_new_value_or_delete(tmp_path):
    import pyrage

    from core.members import exposed_secrets, revoke

    owner = KeySource.passphrase("owner pass")
    with Vault.create(tmp_path / "v.db", owner, kdf=Argon2Params.fast()) as v:
        for name in ("a", "b", "c"):
            v.put(name, f"value-{name}")
        for who in ("bob", "carol"):
            pub = str(pyrage.x25519.Identity.generate().to_public())
            add_member_slot(v, who, parse_recipient(pub), "now", "test")
        revoke(v, "carol", [owner])
        v.put("b", "rotated")
        revoke(v, "bob", [owner])
        v.delete("c")
        shown = {e["name"]: e["members"] for e in exposed_secrets(v)}
        # a: read by both; b: carol's mark cleared by the new value, bob read the new one
        assert shown == {"a": ["carol", "bob"], "b": ["bob"]}
    # the marks are sealed in the file and survive reopening (with the new data key)
    with Vault.open(tmp_path / "v.db", owner) as v:
        assert [e["name"] for e in exposed_secrets(v)] == ["a", "b"]
