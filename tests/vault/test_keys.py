"""Property 4: the key hierarchy (data key wrapped by passphrase / key file / master key)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.errors import KeyMissingError, WrongKeyError
from core.vault import Argon2Params, KeySource, Vault, write_new_key_file


def _record_bytes(path: Path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return (
            db.execute("SELECT * FROM records ORDER BY rid").fetchall()
            + db.execute("SELECT * FROM versions ORDER BY uid, version").fetchall()
        )
    finally:
        db.close()


def test_wrong_passphrase_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    Vault.create(path, KeySource.passphrase("correct horse"), kdf=Argon2Params.fast()).close()
    with pytest.raises(WrongKeyError, match="Wrong passphrase"):
        Vault.open(path, KeySource.passphrase("wrong horse"))


def test_changing_the_passphrase_rewraps_only(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    v = Vault.create(path, KeySource.passphrase("old pass"), kdf=Argon2Params.fast())
    for i in range(10):
        v.put(f"s{i}", f"v{i}")
    before = _record_bytes(path)
    v.change_passphrase(
        KeySource.passphrase("old pass"), KeySource.passphrase("new pass"), kdf=Argon2Params.fast()
    )
    v.close()
    assert _record_bytes(path) == before  # not one record re-encrypted
    with pytest.raises(WrongKeyError):
        Vault.open(path, KeySource.passphrase("old pass"))
    with Vault.open(path, KeySource.passphrase("new pass")) as v2:
        assert v2.get("s3").value == "v3"


def test_change_passphrase_with_a_wrong_current_one_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    v = Vault.create(path, KeySource.passphrase("pass one"), kdf=Argon2Params.fast())
    with pytest.raises(WrongKeyError):
        v.change_passphrase(
            KeySource.passphrase("nope"), KeySource.passphrase("x"), kdf=Argon2Params.fast()
        )
    v.close()
    Vault.open(path, KeySource.passphrase("pass one")).close()


def test_key_file_and_passphrase_slots_open_the_same_vault(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    key = write_new_key_file(tmp_path / "k.key")
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    v = Vault.create(path, KeySource.passphrase("pass"), kdf=Argon2Params.fast())
    v.put("a", "b")
    v.add_key_slot(KeySource.from_key_file(key))
    v.close()
    with Vault.open(path, KeySource.from_key_file(key)) as v2:
        assert v2.get("a").value == "b"
        assert [s["kind"] for s in v2.key_slots()] == ["passphrase", "keyfile"]
    other = write_new_key_file(tmp_path / "other.key")
    with pytest.raises(WrongKeyError, match="key file"):
        Vault.open(path, KeySource.from_key_file(other))


def test_default_argon2_parameters_are_at_least_owasp() -> None:
    p = Argon2Params()
    # OWASP: m >= 19 MiB with t >= 2, or m >= 46 MiB with t >= 1 (p = 1)
    assert p.memory_kib >= 46 * 1024 and p.time_cost >= 1


def test_argon2_parameters_are_stored_in_the_slot(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    Vault.create(
        path,
        KeySource.passphrase("p"),
        kdf=Argon2Params(time_cost=2, memory_kib=2048, parallelism=1),
    ).close()
    db = sqlite3.connect(path)
    (params,) = db.execute("SELECT params FROM key_slots").fetchone()
    db.close()
    assert '"argon2":{"m":2048,"p":1,"t":2}' in params


def test_missing_key_file_is_a_key_missing_error(tmp_path: Path) -> None:
    with pytest.raises(KeyMissingError):
        KeySource.from_key_file(tmp_path / "absent.key")


def test_a_data_key_from_another_vault_is_refused(tmp_path: Path) -> None:
    a = Vault.create(tmp_path / "a.db", KeySource.passphrase("p"), kdf=Argon2Params.fast())
    Vault.create(tmp_path / "b.db", KeySource.passphrase("p"), kdf=Argon2Params.fast()).close()
    with pytest.raises(WrongKeyError):
        Vault.open(tmp_path / "b.db", KeySource.data_key(a.data_key_for_agent()))
    with Vault.open(tmp_path / "a.db", KeySource.data_key(a.data_key_for_agent())) as again:
        assert again.vault_id == a.vault_id
