"""The writes behind the stored vault vectors (``vectors/``), through the public API
only, so that the same steps run on any version of the code.

Every timestamp and the device id are fixed, so the metadata and history entries these
writes seal are the same bytes on every run: what the vectors compare.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from core.vault import KeySource, Vault, write_new_key_file
from core.vault.rename import rename

DATA_KEY = bytes(range(32))
VAULT_ID = bytes(range(100, 116))
DEVICE = "vector-device"
AT1 = datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)
AT2 = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
AT3 = datetime(2026, 3, 4, 5, 6, 7, 125000, tzinfo=UTC)
# records whose metadata holds the time of the write (deleted, undeleted, promoted)
CLOCKED = frozenset({"old/gone", "rotated/key", "back/again"})
# (name, version) whose history entry holds the time of the write (staged versions)
CLOCKED_VERSIONS = frozenset({("config/database", 2), ("rotated/key", 2)})


def create(path: Path) -> Vault:
    """An empty vault with the fixed data key, vault id and device id."""
    key = KeySource.from_key_file(write_new_key_file(path.parent / "vector.key"))
    return Vault.create(path, key, data_key=DATA_KEY, vault_id=VAULT_ID, device_id=DEVICE)


def build(vault: Vault) -> None:
    """The writes: every kind of value and every metadata field, staged versions,
    tombstones, a purge, a rename and a batched put."""
    vault.put(
        "db/password",
        "s3cret",
        description="main db",
        tags={"env": "prod"},
        who="alice",
        why="init",
        source="batch",
        at=AT1,
    )
    vault.put("db/password", "s3cret-2 ünïcode", who="bob", at=AT2)
    vault.put("api/token", b"\x00\x01\xffbytes", at=AT1)
    vault.put(
        "config/database",
        {"host": "db.internal", "port": 5432, "ssl": True, "ratio": 0.5, "none": None},
        rotation={"policy": "DAILY", "generator": "password"},
        extra={"provider": "local", "n": 3},
        tags=["a", "b"],
        at=AT1,
    )
    vault.update_meta("api/token", description="updated", tags={"team": "x", "empty": ""})
    vault.stage_pending("config/database", {"host": "db2.internal", "port": 5432})
    vault.put("rotated/key", "k1", at=AT1)
    vault.stage_pending("rotated/key", "k2")
    vault.promote_pending("rotated/key")
    vault.put("old/gone", "bye", at=AT2)
    vault.delete("old/gone")
    vault.put("back/again", "here", at=AT2)
    vault.delete("back/again")
    vault.undelete("back/again")
    vault.put("tmp/purged", "x", at=AT3)
    vault.purge("tmp/purged")
    vault.put_many(
        [
            ("bulk/a", "1", {"at": AT3}),
            ("bulk/b", "2", {"at": AT3, "description": "b", "who": "importer"}),
            ("bulk/a", "1b", {"at": AT3, "tags": {"k": "v"}}),
        ]
    )
    rename(vault, "bulk/a", "bulk/renamed")


def plaintexts(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The sealed metadata of each record (by name) and the history entry of each
    version (by ``name#version``) of the vault file at ``path``, decrypted straight
    from the rows with the fixed data key (no vault code but the cipher)."""
    import sqlite3
    import struct

    from core.vault.crypto import Sealer, aad, hkdf

    sealer = Sealer(hkdf(DATA_KEY, b"vaultui/records"))
    conn = sqlite3.connect(path)
    try:
        records = conn.execute(
            "SELECT uid, name_hash, rev, seq, deleted, meta, name_ct FROM records"
        )
        metas, names = {}, {}
        for uid, nh, rev, seq, deleted, meta, name_ct in records.fetchall():
            name = sealer.open(name_ct, aad(b"vaultui/name", VAULT_ID) + uid + nh).decode()
            bound = aad(b"vaultui/meta", VAULT_ID) + struct.pack(">qqq", rev, seq, deleted)
            metas[name] = sealer.open(meta, bound + uid + nh).decode()
            names[uid] = name
        infos = {}
        for uid, version, info in conn.execute("SELECT uid, version, info FROM versions"):
            bound = aad(b"vaultui/info", VAULT_ID) + struct.pack(">q", version) + uid
            infos[f"{names[uid]}#{version}"] = sealer.open(info, bound).decode()
    finally:
        conn.close()
    return metas, infos
