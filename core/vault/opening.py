"""Creating and opening a vault file: the header, its MAC and the device id.

The header (format, vault id, creation time) and the key slots are covered by one MAC
under a subkey of the data key, checked on every open before anything else is read.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from core.errors import ConfigError, IntegrityError, NotFoundError, VaultError, WrongKeyError
from core.private_file import check_own_file
from core.vault.crypto import mac, random_key
from core.vault.digest import Digest
from core.vault.engine import (
    DataKeys,
    Engine,
    connect,
    ct_eq,
    header_mac,
    sql_errors,
    write_header_mac,
)
from core.vault.kdf_bounds import MAX_KEY_SLOTS, check_slot_count
from core.vault.keys import Argon2Params, KeySlot, KeySource, make_slot, unwrap
from core.vault.records import utcnow
from core.vault.schema import SCHEMA, check_schema, harden

FORMAT = "vaultui-vault/1"
_DIGEST_ZERO = Digest().encode()


def create_engine(
    path: Path,
    key_source: KeySource,
    kdf: Argon2Params | None,
    device_id: str | None,
    vault_id: bytes | None,
    data_key: bytes | None,
) -> Engine:
    """A new vault file at ``path`` (mode 0600), open. See ``Vault.create``."""
    if path.exists() and path.stat().st_size > 0:
        raise ConfigError(f"A vault already exists at {path}")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    check_own_file(path)  # an empty file that was already there: not a planted one
    vault_id = vault_id or os.urandom(16)
    data_key = data_key or random_key()
    keys = DataKeys(data_key)
    conn = connect(path)
    with sql_errors("create the vault"):
        conn.execute("PRAGMA journal_mode=DELETE")
        # executescript commits any open transaction first, so BEGIN inside it
        conn.executescript("BEGIN IMMEDIATE;" + SCHEMA)
        header = {
            "format": FORMAT.encode(),
            "vault_id": vault_id,
            "created_at": str(utcnow().timestamp()).encode(),
        }
        conn.executemany("INSERT INTO header VALUES (?, ?)", header.items())
        kind, params, wrapped = make_slot(vault_id, data_key, key_source, kdf)
        conn.execute(
            "INSERT INTO key_slots(kind, params, wrapped) VALUES (?, ?, ?)",
            (kind, params, wrapped),
        )
        conn.execute(
            "INSERT INTO state VALUES (1, 0, ?, ?)",
            (_DIGEST_ZERO, mac(keys.header, b"state", b"0", _DIGEST_ZERO)),
        )
        engine = Engine(path, conn, vault_id, keys, device_id or device_id_of(path))
        write_header_mac(engine)
        conn.execute("COMMIT")
    return engine


def open_engine(path: Path, key_source: KeySource, device_id: str | None) -> Engine:
    """The vault file at ``path``, unlocked and checked. See ``Vault.open``."""
    if not path.exists():
        raise NotFoundError(f"No vault at {path}")
    conn = connect(path)
    try:
        with sql_errors("open the vault"):
            conn.execute("BEGIN")
            try:
                check_schema(conn, what=f"The vault file {path.name}")
                header = dict(conn.execute("SELECT key, value FROM header"))
                # one past the bound, so a file with a million slots reads 33
                slot_rows = conn.execute(
                    "SELECT id, kind, params, wrapped FROM key_slots ORDER BY id LIMIT ?",
                    (MAX_KEY_SLOTS + 1,),
                ).fetchall()
                check_slot_count(len(slot_rows), where=f"The vault {path.name}")
                slots = [KeySlot(i, k, json.loads(p), w) for i, k, p, w in slot_rows]
            finally:
                conn.execute("COMMIT")
        if header.get("format") != FORMAT.encode():
            raise IntegrityError(f"{path} is not a vaultui vault (unknown format)")
        vault_id = bytes(header["vault_id"])
        if key_source.kind == "data_key":
            data_key = key_source.secret
        else:
            data_key = unwrap(vault_id, slots, key_source)
        keys = DataKeys(data_key)
        # the MAC covers the slots' stored text, not a re-serialisation of it
        expected = header_mac(keys, header, [(k, p, w) for _i, k, p, w in slot_rows])
        if not ct_eq(expected, bytes(header.get("header_mac", b""))):
            if key_source.kind == "data_key":
                raise WrongKeyError("The unlock agent holds the key of another vault")
            raise IntegrityError("The vault header or its key slots were modified")
        engine = Engine(path, conn, vault_id, keys, device_id or device_id_of(path))
        engine.check_file()  # before any value is returned from it
        return engine
    except (VaultError, ValueError, KeyError, TypeError) as exc:
        conn.close()
        if isinstance(exc, VaultError):
            raise
        raise IntegrityError(f"The vault header of {path} is damaged") from None


def slot_kinds(path: Path) -> list[str]:
    """The kinds of key slot of the vault file at ``path``, read without a key."""
    if not path.exists():
        raise NotFoundError(f"No vault at {path}")
    with sql_errors("read the vault's key slots"):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
        try:
            harden(conn)
            check_schema(conn, what=f"The vault file {path.name}")
            return [k for (k,) in conn.execute("SELECT kind FROM key_slots ORDER BY id")]
        finally:
            conn.close()


def device_id_of(vault_path: Path) -> str:
    """This home's device id, kept beside the vault file (not inside: copies differ)."""
    path = vault_path.parent / "device.id"
    try:
        return path.read_text().strip() or _new_device_id(path)
    except FileNotFoundError:
        return _new_device_id(path)
    except OSError:
        return "unknown-device"


def _new_device_id(path: Path) -> str:
    value = base64.b32encode(os.urandom(10)).decode().lower().rstrip("=")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip() or value
    except OSError:
        return value
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def key_slot_rows(engine: Engine) -> list[Any]:
    """The key slot rows (id, kind, params JSON, wrapped key), as stored."""
    with engine.lock, sql_errors("read key slots"):
        return engine.conn.execute(
            "SELECT id, kind, params, wrapped FROM key_slots ORDER BY id"
        ).fetchall()
