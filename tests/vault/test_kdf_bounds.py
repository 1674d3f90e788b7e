"""Key-derivation cost read from a file is bounded before anything is derived.

A vault key slot, a backup head, a sealed-sync head and a KeePass header all carry
Argon2 (or AES-KDF) parameters in the clear. Each test crafts a hostile value in a
real file made by vaultui (or pykeepass) and shows it is refused with the clear
KdfBoundsError in well under a second, instead of hanging, allocating gigabytes or
ending as an "unexpected error".
"""

from __future__ import annotations

import json
import sqlite3
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from core.backup import container, restore_backup_file
from core.config import Settings
from core.errors import BackupIntegrityError, ConfigError, KdfBoundsError, ValidationError
from core.providers.local import LocalProvider
from core.sync.sealed import bootstrap, sync_sealed
from core.vault import Argon2Params, KeySource, Vault, kdf_bounds, write_new_key_file
from tests.conftest import clean_env

PASSPHRASE = "correct horse battery staple"
HOSTILE = {
    "time cost 2**31": {"t": 2**31, "m": 1024, "p": 1},
    "memory 1 GiB": {"t": 1, "m": 1024 * 1024, "p": 1},
    "parallelism 0": {"t": 1, "m": 1024, "p": 0},
    "memory below 8 KiB per lane": {"t": 1, "m": 8, "p": 4},
    "a string for a number": {"t": "3", "m": 1024, "p": 1},
    "a float for a number": {"t": 1.5, "m": 1024, "p": 1},
}


@contextmanager
def within_a_second() -> Iterator[None]:
    start = time.monotonic()
    yield
    assert time.monotonic() - start < 1.0


def _passphrase_vault(path: Path) -> Path:
    v = Vault.create(path, KeySource.passphrase(PASSPHRASE), kdf=Argon2Params.fast())
    v.put("db/password", "hunter2")
    v.close()
    return path


def _edit_slot_params(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    db = sqlite3.connect(path)
    slot_id, params = db.execute("SELECT id, params FROM key_slots ORDER BY id").fetchone()
    data = json.loads(params)
    edit(data)
    db.execute("UPDATE key_slots SET params = ? WHERE id = ?", (json.dumps(data), slot_id))
    db.commit()
    db.close()


# ---------------------------------------------------------------- vault key slots


@pytest.mark.parametrize("argon2", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_vault_slot_with_hostile_argon2_cost_is_refused_at_once(
    tmp_path: Path, argon2: dict[str, Any]
) -> None:
    path = _passphrase_vault(tmp_path / "vault.db")
    _edit_slot_params(path, lambda p: p.update(argon2=argon2))
    with within_a_second(), pytest.raises(KdfBoundsError) as err:
        Vault.open(path, KeySource.passphrase(PASSPHRASE))
    assert err.value.exit_code == 5
    assert "key-derivation" in str(err.value).lower() or "argon2" in str(err.value).lower()


@pytest.mark.parametrize("salt", ["", "QUJD", "A" * 200], ids=["empty", "3 bytes", "150 bytes"])
def test_a_vault_slot_with_a_hostile_salt_is_refused(tmp_path: Path, salt: str) -> None:
    path = _passphrase_vault(tmp_path / "vault.db")
    _edit_slot_params(path, lambda p: p.update(salt=salt))
    with within_a_second(), pytest.raises(KdfBoundsError, match="salt"):
        Vault.open(path, KeySource.passphrase(PASSPHRASE))


def test_a_vault_with_thousands_of_slots_is_refused_before_deriving(tmp_path: Path) -> None:
    path = _passphrase_vault(tmp_path / "vault.db")
    db = sqlite3.connect(path)
    kind, params, wrapped = db.execute("SELECT kind, params, wrapped FROM key_slots").fetchone()
    # each copy is a real Argon2 slot: trying them all would take minutes at a real cost
    db.executemany(
        "INSERT INTO key_slots(kind, params, wrapped) VALUES (?, ?, ?)",
        [(kind, params, wrapped)] * 5000,
    )
    db.commit()
    db.close()
    with within_a_second(), pytest.raises(KdfBoundsError, match="key slots"):
        Vault.open(path, KeySource.passphrase(PASSPHRASE))


def test_vaultui_never_writes_a_slot_it_would_refuse(tmp_path: Path, key_source: KeySource) -> None:
    v = Vault.create(tmp_path / "vault.db", key_source)
    try:
        with pytest.raises(KdfBoundsError):
            v.add_key_slot(
                KeySource.passphrase("x"), kdf=Argon2Params(time_cost=1, memory_kib=2**21)
            )
        for i in range(kdf_bounds.MAX_KEY_SLOTS - 1):
            v.add_key_slot(KeySource.passphrase(f"pw {i}"), kdf=Argon2Params.fast())
        with pytest.raises(ValidationError, match="at most"):
            v.add_key_slot(KeySource.passphrase("one too many"), kdf=Argon2Params.fast())
    finally:
        v.close()
    # the fullest vault vaultui writes still opens, with every one of its passphrases
    Vault.open(tmp_path / "vault.db", KeySource.passphrase("pw 7")).close()


def test_the_default_cost_and_the_test_setting_are_inside_the_bounds(tmp_path: Path) -> None:
    default = Argon2Params()
    kdf_bounds.check_argon2(
        default.time_cost, default.memory_kib, default.parallelism, where="the default"
    )
    settings = Settings.from_env(clean_env(tmp_path))
    assert settings.argon2 is not None  # the tests' cheap VAULTUI_ARGON2
    kdf_bounds.check_argon2(*settings.argon2, where="VAULTUI_ARGON2")
    with pytest.raises(ConfigError, match="VAULTUI_ARGON2"):
        Settings.from_env(clean_env(tmp_path, VAULTUI_ARGON2="t=99,m=65536,p=4"))


# ---------------------------------------------------------------- backup head


def _rewrite_backup_head(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Change the first key slot's parameters in a backup's (masked, public) head."""
    data = path.read_bytes()
    magic, version, seed, head_len = container._PREFIX.unpack_from(data, 0)
    start = container._PREFIX.size
    head = container._decode_head(container._mask(seed, data[start : start + head_len]), "b")
    slot = head.slots[0]
    params = json.loads(slot.params)
    edit(params)
    crafted = container.Head(
        head.vault_id,
        head.backup_id,
        head.salt,
        (container.KeySlotRow(slot.kind, json.dumps(params), slot.wrapped), *head.slots[1:]),
    )
    raw = container._mask(seed, container._encode_head(crafted))
    prefix = container._PREFIX.pack(magic, version, seed, len(raw))
    path.write_bytes(prefix + raw + data[start + head_len :])


def _backup_with_passphrase(tmp_path: Path) -> Path:
    from core.secrets_manager import SecretsManager

    secret_file = tmp_path / "pass.txt"
    secret_file.write_text(PASSPHRASE + "\n")
    home = tmp_path / "home"
    manager = SecretsManager(
        Settings.from_env(clean_env(home, VAULTUI_PASSPHRASE_FILE=str(secret_file)))
    )
    manager.store_secret("db/password", "hunter2")
    manager.create_backup("full")
    manager.close()
    return home / "backups" / "full.vbak"


@pytest.mark.parametrize(
    "argon2", [HOSTILE["time cost 2**31"], HOSTILE["memory 1 GiB"]], ids=["t", "m"]
)
def test_a_backup_head_with_hostile_argon2_cost_is_refused_at_once(
    tmp_path: Path, argon2: dict[str, Any]
) -> None:
    backup = _backup_with_passphrase(tmp_path)
    _rewrite_backup_head(backup, lambda p: p.update(argon2=argon2))
    with within_a_second(), pytest.raises(KdfBoundsError):
        restore_backup_file(backup, tmp_path / "new" / "vault.db", KeySource.passphrase(PASSPHRASE))
    assert not (tmp_path / "new" / "vault.db").exists()


def test_a_backup_head_claiming_millions_of_slots_is_refused(tmp_path: Path) -> None:
    backup = _backup_with_passphrase(tmp_path)
    data = bytearray(backup.read_bytes())
    seed = bytes(data[10:26])
    start = container._PREFIX.size
    head_len = container._PREFIX.unpack_from(data, 0)[3]
    head = bytearray(container._mask(seed, bytes(data[start : start + head_len])))
    head[48:52] = struct.pack(">I", 10_000_000)
    data[start : start + head_len] = container._mask(seed, bytes(head))
    backup.write_bytes(bytes(data))
    with within_a_second(), pytest.raises(BackupIntegrityError, match="key slots"):
        restore_backup_file(backup, tmp_path / "new" / "vault.db", KeySource.passphrase(PASSPHRASE))


# ---------------------------------------------------------------- sealed-sync head


def test_a_sealed_head_with_hostile_argon2_cost_is_refused_at_once(tmp_path: Path) -> None:
    store_home = tmp_path / "store"
    store = Vault.create(
        store_home / "vault.db",
        KeySource.from_key_file(write_new_key_file(tmp_path / "store.key")),
    )
    settings = Settings.from_env(clean_env(store_home))
    provider = LocalProvider(settings, vault=store)
    mine = Vault.create(
        tmp_path / "a" / "vault.db", KeySource.passphrase(PASSPHRASE), kdf=Argon2Params.fast()
    )
    mine.put("db/password", "hunter2")
    sync_sealed(mine, provider)
    mine.close()
    (head_name,) = [e.name for e in provider.list() if e.name.endswith("/head")]
    doc = json.loads(provider.get(head_name).value)
    kind, params, wrapped = doc["slots"][0]
    params = json.loads(params)
    params["argon2"] = HOSTILE["time cost 2**31"]
    doc["slots"][0] = [kind, json.dumps(params), wrapped]
    provider.put(head_name, json.dumps(doc))
    try:
        with within_a_second(), pytest.raises(KdfBoundsError):
            bootstrap(provider, tmp_path / "b" / "vault.db", KeySource.passphrase(PASSPHRASE))
    finally:
        store.close()


# ---------------------------------------------------------------- KeePass header


def _kdbx(tmp_path: Path) -> Path:
    pykeepass = pytest.importorskip("pykeepass")
    path = tmp_path / "db.kdbx"
    db = pykeepass.create_database(str(path), password=PASSPHRASE)
    db.add_entry(db.root_group, "GitHub", "me", "hunter2")
    db.save()
    return path


def _set_kdbx_kdf(path: Path, name: bytes, value: bytes) -> None:
    """Overwrite one entry of the KDF variant dictionary (field 11) of a KDBX 4 header."""
    data = bytearray(path.read_bytes())
    assert struct.unpack_from("<H", data, 10)[0] == 4
    pos = 12
    while data[pos] != 11:
        pos += 5 + struct.unpack_from("<I", data, pos + 1)[0]
    at = data.index(struct.pack("<I", len(name)) + name, pos) + 4 + len(name)
    assert struct.unpack_from("<I", data, at)[0] == len(value)
    data[at + 4 : at + 4 + len(value)] = value
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (b"I", struct.pack("<Q", 2**40)),  # iterations
        (b"M", struct.pack("<Q", 1 << 30)),  # 1 GiB of memory
        (b"P", struct.pack("<I", 0)),  # no lanes: argon2 would fail oddly
    ],
    ids=["iterations", "memory", "parallelism"],
)
def test_a_kdbx_with_hostile_kdf_parameters_is_refused_at_once(
    tmp_path: Path, name: bytes, value: bytes
) -> None:
    from core.importexport.keepass import parse_kdbx

    path = _kdbx(tmp_path)
    assert parse_kdbx(path, PASSPHRASE)[0]["value"]["password"] == "hunter2"
    _set_kdbx_kdf(path, name, value)
    with within_a_second(), pytest.raises(KdfBoundsError, match="KeePass"):
        parse_kdbx(path, PASSPHRASE)
