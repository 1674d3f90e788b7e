"""Raw record access for core.sync (vault-file merge and sealed sync).

Kept apart from the public ``Vault`` API. Each function keeps the file's invariants
through the row-level :class:`~core.vault.engine.Engine`: every ciphertext is sealed
with the same associated data as any write, every added or removed row is folded into
the record-set digest, and writes join (or open) one transaction.

A raw record (:func:`sync_read`) carries its :class:`~core.vault.metadata.Metadata`,
which a merge reads and writes back (changed) with :func:`sync_write`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.errors import ConflictError, IntegrityError, ValidationError
from core.vault.engine import EngineOwner, ct_eq, edge, sql_errors
from core.vault.metadata import Metadata
from core.vault.names import validate_name
from core.vault.records import SecretRecord
from core.vault.schema import check_schema, harden


def sync_rows(vault: EngineOwner) -> dict[bytes, tuple[bytes, bytes, int]]:
    """uid -> (name hash, nonce+tag of the metadata ciphertext, deleted) for every record.

    Nothing is decrypted. Two copies of one vault share name hashes; a record whose
    metadata ciphertext is byte-identical in both copies is the same revision.
    """
    engine = vault.engine
    with engine.lock, sql_errors("list records"):
        rows = engine.conn.execute("SELECT uid, name_hash, meta, deleted FROM records").fetchall()
    return {bytes(uid): (bytes(nh), edge(meta), deleted) for uid, nh, meta, deleted in rows}


def sync_name_hash(vault: EngineOwner, name: str) -> bytes:
    """The keyed lookup hash of ``name`` (equal in every copy of the vault)."""
    return vault.engine.name_hash(name)


def sync_read(vault: EngineOwner, uids: list[bytes]) -> list[dict[str, Any]]:
    """Decrypt whole records: metadata plus every version with its history entry.

    Returns one dict per uid found (missing uids are skipped): ``uid`` (bytes),
    ``name``, ``rev``, ``seq``, ``deleted`` (bool), ``meta`` (its
    :class:`~core.vault.metadata.Metadata`) and ``versions``: a list of ``(version,
    info dict, encoded value)`` in version order, PENDING included.
    """
    return vault.engine.checked(lambda: _sync_read(vault, uids))


def _sync_read(vault: EngineOwner, uids: list[bytes]) -> list[dict[str, Any]]:
    engine = vault.engine
    out: list[dict[str, Any]] = []
    with engine.lock, sql_errors("read records"):
        for uid in uids:
            row = engine.row_by_uid(uid)
            if row is None:
                continue
            meta = engine.open_meta(row)
            name = engine.open_name(row)
            if name != meta.name or not ct_eq(engine.name_hash(meta.name), row[1]):
                raise IntegrityError("A vault record's name does not match its lookup hash")
            versions = []
            for version, value, info in engine.conn.execute(
                "SELECT version, value, info FROM versions WHERE uid = ? ORDER BY version",
                (uid,),
            ).fetchall():
                encoded = engine.open_value(uid, version, value)
                versions.append((version, engine.open_info(uid, version, info), encoded))
            out.append(
                {
                    "uid": bytes(uid),
                    "name": meta.name,
                    "rev": meta.rev,
                    "seq": meta.seq,
                    "deleted": meta.deleted,
                    "meta": meta,
                    "versions": versions,
                }
            )
    return out


def sync_drop(vault: EngineOwner, uid: bytes) -> None:
    """Remove record ``uid`` and its versions as a purge does (listed in purged_since)."""
    engine = vault.engine
    with engine.transaction():
        row = engine.row_by_uid(uid)
        if row is None:
            return
        engine.drop_row(row)


def sync_write(
    vault: EngineOwner,
    uid: bytes,
    name: str,
    meta: Metadata,
    new_versions: list[tuple[int, dict[str, Any], bytes]],
    *,
    deleted: bool,
    expected_rev: int,
    drop_uids: tuple[bytes, ...] = (),
) -> SecretRecord:
    """Write record ``uid`` exactly as given (a merge result), atomically.

    ``meta`` gives the stored fields (its name, row fields and tombstone flag are
    replaced by ``name``, the row's and ``deleted``). ``new_versions`` are ``(version,
    info, encoded value)`` rows to add; they must not exist yet. ``expected_rev`` is
    the revision the caller read (0: the record must not exist), else ConflictError.
    ``drop_uids`` are removed first (another uid that held the same name). Bumps
    ``rev`` and ``seq`` like any write.
    """
    validate_name(name)
    engine = vault.engine
    with engine.transaction():
        for other in drop_uids:
            if other != uid:
                sync_drop(vault, other)
        row = engine.row_by_uid(uid)
        current_rev = 0 if row is None else row[2]
        if current_rev != expected_rev:
            raise ConflictError(f"Secret {name!r} changed while it was being merged")
        if row is not None and engine.open_meta(row).name != name:
            raise ValidationError("A record's name cannot change in a merge")
        clash = engine.conn.execute(
            "SELECT uid FROM records WHERE name_hash = ?", (engine.name_hash(name),)
        ).fetchone()
        if clash is not None and bytes(clash[0]) != uid:
            raise ConflictError(f"Secret {name!r} exists under another record id")
        for version, info, encoded in new_versions:
            if engine.version_exists(uid, version):
                raise ConflictError(f"Secret {name!r} already has a version {version}")
            engine.write_version(uid, version, encoded, info)
        seq = 0 if row is None else row[3]
        record = replace(meta, uid=uid, rev=current_rev, seq=seq, deleted=deleted, name=name)
        if not engine.version_exists(uid, int(record.version)):
            raise ValidationError(f"Secret {name!r}: the current version row is missing")
        return engine.write_record(record, row, name, is_new=row is None)


def sync_key_slots(vault: EngineOwner) -> list[tuple[str, str, bytes]]:
    """The raw key slots (kind, params JSON, wrapped data key), as stored."""
    engine = vault.engine
    with engine.lock, sql_errors("read key slots"):
        rows = engine.conn.execute(
            "SELECT kind, params, wrapped FROM key_slots ORDER BY id"
        ).fetchall()
    return [(k, p, bytes(w)) for k, p, w in rows]


def sync_diff(
    vault: EngineOwner, other_path: Path | str
) -> tuple[list[tuple[bytes, bytes | None]], int]:
    """Records of the vault file at ``other_path`` that differ from ``vault``'s.

    Returns ``[(other uid, local uid or None)]`` (the local record with the same uid,
    else with the same name) for every record whose metadata ciphertext is not
    byte-identical here, and the number of identical ones. Compared inside SQLite on
    a separate read-only connection (nothing decrypted, nothing written).
    """
    from urllib.parse import quote

    def uri(path: Path | str) -> str:
        return f"file:{quote(str(Path(path).resolve()))}?mode=ro"

    with sql_errors("compare vault files"):
        conn = sqlite3.connect(uri(vault.engine.path), uri=True, timeout=30.0)
    try:
        with sql_errors("compare vault files"):
            harden(conn)
            conn.execute("ATTACH DATABASE ? AS other", (uri(other_path),))
            check_schema(conn, db="other", what=f"The vault file {Path(other_path).name}")
            rows = conn.execute(
                "SELECT o.uid, COALESCE(l.uid, n.uid) FROM other.records o "
                "LEFT JOIN main.records l ON l.uid = o.uid "
                "LEFT JOIN main.records n ON l.uid IS NULL AND n.name_hash = o.name_hash "
                "WHERE l.uid IS NULL OR l.meta != o.meta"
            ).fetchall()
            total = conn.execute("SELECT count(*) FROM other.records").fetchone()[0]
    finally:
        conn.close()
    pairs = [(bytes(o), bytes(mine) if mine is not None else None) for o, mine in rows]
    return pairs, total - len(pairs)
