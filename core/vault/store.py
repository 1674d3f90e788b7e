"""The vault file: one SQLite database in rollback-journal mode.

Layout (every secret byte encrypted with AES-256-GCM, see ``crypto.py``)::

    header      format, vault id, creation time, header MAC
    key_slots   the data key wrapped per passphrase / key file (see ``keys.py``)
    state       change sequence + record-set digest, MAC'd
    records     uid, HMAC(name), rev, seq, deleted, enc(name), enc(metadata)
    versions    uid, version, enc(value), enc(who/when/why)      -- the history
    purged      uid, seq                                         -- purged tombstones
    local_state per-file bookkeeping of other parts (sync cursors, leases)

Every ciphertext is bound by associated data to the vault id, the record uid and its
revision/version, so moving, swapping or editing a row fails authentication
(``IntegrityError``). A row that was valid once (an older revision put back) still
authenticates: ``state.digest`` (``digest.py``), a sum of a keyed value per row plus row
counts, updated in O(1) per write, is checked against every row when the file is opened
and before a value is read after another process changed the file, so a replayed,
duplicated, deleted or inserted row is caught before any value is returned. The schema
is checked on open too (``schema.py``). Writes are single ``BEGIN IMMEDIATE`` transactions with
``synchronous=EXTRA``: durable on return (power loss included), isolated between
processes, O(log n).
Reads never write.

The module holds the public API, :class:`Vault`. Its parts live beside it: the rows
and transactions in ``engine.py``, the metadata model in ``metadata.py``, opening and
the header in ``opening.py``, key slots in ``slot_admin.py``, staged rotation in
``staging.py``, batched reads and writes in ``bulk.py`` and the raw access of
core.sync in ``sync_access.py`` (re-exported here for older imports).
"""

from __future__ import annotations

import builtins
import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from core.errors import IntegrityError, NotFoundError, ValidationError
from core.vault import bulk
from core.vault.codec import decode_value, encode_value
from core.vault.crypto import aad, hkdf
from core.vault.engine import REC_COLS, Engine, sql_errors
from core.vault.gcpause import paused_gc
from core.vault.keys import Argon2Params, KeySource
from core.vault.metadata import (
    META_KEYS,
    Metadata,
    check_expected,
    clean_tags,
    history_entry,
)
from core.vault.names import validate_name
from core.vault.opening import FORMAT, create_engine, open_engine, slot_kinds
from core.vault.records import Secret, SecretRecord, VersionInfo, from_ts, utcnow
from core.vault.slot_admin import KeySlotAdmin
from core.vault.staging import STAGES, StagedRotation
from core.vault.sync_access import (
    sync_diff,
    sync_drop,
    sync_key_slots,
    sync_name_hash,
    sync_read,
    sync_rows,
    sync_write,
)

__all__ = [
    "FORMAT",
    "STAGES",
    "Vault",
    "sync_diff",
    "sync_drop",
    "sync_key_slots",
    "sync_name_hash",
    "sync_read",
    "sync_rows",
    "sync_write",
]


class Vault(KeySlotAdmin, StagedRotation):
    """An open, unlocked vault file. Thread-safe; many processes may open one file.

    Create with :meth:`create`, open with :meth:`open`. See docs/VAULT_API.md.
    :attr:`engine` is the row level (``engine.py``) that the vault's own modules use.
    """

    def __init__(self, engine: Engine, key_source: KeySource) -> None:
        self.engine = engine
        self.path: Path = engine.path
        self.vault_id: bytes = engine.vault_id
        self.key_source = key_source

    def __repr__(self) -> str:
        return f"Vault({str(self.path)!r}, id={self.vault_id_hex})"

    @property
    def device_id(self) -> str:
        """This machine's device id, recorded with every change it writes."""
        return self.engine.device_id

    # ------------------------------------------------------------------ opening

    @classmethod
    def create(
        cls,
        path: Path | str,
        key_source: KeySource,
        *,
        kdf: Argon2Params | None = None,
        device_id: str | None = None,
        vault_id: bytes | None = None,
        data_key: bytes | None = None,
    ) -> Vault:
        """Create a new vault file at ``path`` (mode 0600) protected by ``key_source``.

        ``vault_id`` and ``data_key`` are given only when recreating a copy of an existing
        vault (sealed sync on a new machine); otherwise both are random.
        Raises ConfigError if the file already exists.
        """
        engine = create_engine(Path(path), key_source, kdf, device_id, vault_id, data_key)
        return cls(engine, key_source)

    @classmethod
    def open(
        cls, path: Path | str, key_source: KeySource, *, device_id: str | None = None
    ) -> Vault:
        """Open an existing vault. Raises NotFoundError, WrongKeyError or IntegrityError."""
        return cls(open_engine(Path(path), key_source, device_id), key_source)

    @staticmethod
    def slot_kinds(path: Path | str) -> list[str]:
        """The kinds of key slot a vault file has ('passphrase', 'keyfile'), without a key.

        Lets a caller decide whether to prompt for a passphrase. Opens the file read-only.
        """
        return slot_kinds(Path(path))

    def close(self) -> None:
        """Close the file. The object cannot be used afterwards."""
        with self.engine.lock:
            self.engine.conn.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def vault_id_hex(self) -> str:
        return self.vault_id.hex()

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte subkey of the data key for ``purpose`` (e.g. 'audit', 'backup');
        for the purposes a rekey keeps stable, the key it carried over (carried.py)."""
        from core.vault.carried import carried_key

        with self.engine.lock, sql_errors("read the vault header"):
            kept = carried_key(self, purpose)
        return kept or hkdf(self.engine.keys.data_key, b"vaultui/purpose/" + purpose.encode())

    def data_key_for_agent(self) -> bytes:
        """The raw data key, for handing to the unlock agent over its private socket."""
        return self.engine.keys.data_key

    # ------------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Vault]:
        """Group writes into one atomic, durable transaction (all or nothing).

        Nested use joins the outer transaction.
        """
        with self.engine.transaction():
            yield self

    @property
    def seq(self) -> int:
        """The current change sequence (monotonic; every write bumps it)."""
        with self.engine.lock:
            return self.engine.read_state()[0]

    # ------------------------------------------------------------------ reads

    def record(self, name: str, *, include_deleted: bool = False) -> SecretRecord | None:
        """Metadata of ``name`` (no value decrypted), or None if absent or deleted."""
        validate_name(name)
        with self.engine.lock:
            meta = self.engine.meta_by_name(name)
        if meta is None or (meta.deleted and not include_deleted):
            return None
        return meta.to_record()

    def get(
        self, name: str, *, version: int | None = None, stage: str | None = None
    ) -> Secret | None:
        """The value of ``name`` (CURRENT, a ``stage`` or a ``version``), or None if absent.

        A deleted secret returns None. An unknown version or empty stage raises NotFoundError.
        A file changed on disk since it was last checked is checked in full first
        (IntegrityError for a replayed, deleted or added row).
        """
        if version is None and stage is None:
            return self.engine.checked(lambda: self._get_current(validate_name(name)))
        return self.engine.checked(lambda: self._get(name, version=version, stage=stage))

    def _get(
        self,
        name: str,
        *,
        version: int | None = None,
        stage: str | None = None,
        _again: bool = False,
    ) -> Secret | None:
        validate_name(name)
        if version is None and stage is None:
            return self._get_current(name)
        engine = self.engine
        with engine.lock:
            # No read transaction: version rows are immutable once written, so the value
            # of the version the metadata names is still there after a concurrent write.
            meta = engine.meta_by_name(name)
            if meta is None or meta.deleted:
                return None
            record = meta.to_record()
            if version is None:
                wanted = record.stage_version(stage or "CURRENT")
                if wanted is None:
                    raise NotFoundError(f"Secret {name!r} has no {(stage or '').upper()} version")
            else:
                wanted = int(version)
                if wanted < 1 or wanted > record.max_version:
                    raise NotFoundError(f"Secret {name!r} has no version {wanted}")
            try:
                data = engine.read_value(meta.uid, wanted)
            except IntegrityError:
                if not engine.version_exists(meta.uid, wanted):
                    if version is not None:
                        raise NotFoundError(f"Secret {name!r} has no version {wanted}") from None
                    # purged or rotated away between our two reads: read again, once
                    if not _again:
                        return self._get(name, stage=stage, _again=True)
                raise
        return Secret(decode_value(data), record, wanted)

    def _get_current(self, name: str) -> Secret | None:
        """CURRENT value in one query (the hot path: records joined to its version row)."""
        engine = self.engine
        nh = engine.name_hash(name)
        with engine.lock:
            try:
                row = engine.conn.execute(
                    "SELECT r.uid, r.name_hash, r.rev, r.seq, r.deleted, r.meta, r.name_ct, "
                    "r.cur, v.value FROM records r LEFT JOIN versions v "
                    "ON v.uid = r.uid AND v.version = r.cur WHERE r.name_hash = ?",
                    (nh,),
                ).fetchone()
            except sqlite3.DatabaseError:
                row = None
                with sql_errors("read a secret"):
                    raise
        if row is None or row[4]:
            return None
        record = engine.fast_record(row)
        if record.name != name or record.version != row[7] or row[8] is None:
            if record.name != name:
                raise IntegrityError("A vault record is filed under another name (swapped rows)")
            return self._get(name, stage="CURRENT", _again=True)  # changed meanwhile, or damaged
        data = engine.open_value(row[0], record.version, row[8])
        return Secret(decode_value(data), record, record.version)

    def exists(self, name: str) -> bool:
        """True if ``name`` is a live (not deleted) secret."""
        return self.record(name) is not None

    def list(self, *, include_deleted: bool = False) -> list[SecretRecord]:
        """Every secret's metadata, sorted by name."""
        engine = self.engine
        with engine.lock, sql_errors("list secrets"):
            rows = engine.conn.execute(f"SELECT {REC_COLS} FROM records").fetchall()
        fast = engine.fast_record
        with paused_gc():
            out = [fast(row) for row in rows if include_deleted or not row[4]]
        out.sort(key=lambda r: r.name)
        return out

    def names(self, *, include_deleted: bool = False) -> builtins.list[str]:
        """Every secret's name, sorted (decrypts only the names)."""
        engine = self.engine
        with engine.lock, sql_errors("list secret names"):
            rows = engine.conn.execute(
                "SELECT uid, name_hash, name_ct, deleted FROM records"
            ).fetchall()
        prefix = engine.aads.name_prefix
        plain = engine.keys.sealer.open_many(
            [
                (nct, prefix + uid + nh)
                for uid, nh, nct, deleted in rows
                if include_deleted or not deleted
            ],
            "name",
        )
        names = [n.decode() for n in plain]
        names.sort()
        return names

    def count(self) -> int:
        """The number of live secrets."""
        with self.engine.lock, sql_errors("count secrets"):
            sql = "SELECT count(*) FROM records WHERE deleted = 0"
            return int(self.engine.conn.execute(sql).fetchone()[0])

    def history(self, name: str) -> builtins.list[VersionInfo]:
        """Every stored version of ``name``, oldest first (deleted secrets included)."""
        validate_name(name)
        engine = self.engine
        with engine.lock:
            meta = engine.meta_by_name(name)
            if meta is None:
                raise NotFoundError(f"Secret {name!r} does not exist")
            uid = meta.uid
            with sql_errors("read history"):
                rows = engine.conn.execute(
                    "SELECT version, info FROM versions WHERE uid = ? ORDER BY version", (uid,)
                ).fetchall()
        stages = {v: s for s, v in (meta.stages or {}).items()}
        stages[meta.version] = "CURRENT"
        out = []
        for version, info in rows:
            i = engine.open_info(uid, version, info)
            out.append(
                VersionInfo(
                    version=version,
                    created_at=from_ts(i.get("at")),
                    who=i.get("who", ""),
                    why=i.get("why", ""),
                    source=i.get("src", ""),
                    device=i.get("dev", ""),
                    type=i.get("t", ""),
                    size=i.get("s", 0),
                    stage=stages.get(version),
                )
            )
        return out

    def history_values(self, name: str) -> builtins.list[tuple[VersionInfo, Any]]:
        """Every version of ``name`` with its decrypted value, oldest first."""
        return self.engine.checked(lambda: self._history_values(name))

    def _history_values(self, name: str) -> builtins.list[tuple[VersionInfo, Any]]:
        infos = self.history(name)
        engine = self.engine
        meta = engine.meta_by_name(name)
        assert meta is not None
        with engine.lock:
            return [(i, decode_value(engine.read_value(meta.uid, i.version))) for i in infos]

    def changes_since(self, seq: int) -> builtins.list[SecretRecord]:
        """Records (tombstones included) changed after change sequence ``seq``, by seq.

        Uses the ``seq`` index: cost proportional to the number of changes, not the vault.
        """
        engine = self.engine
        with engine.lock, sql_errors("read changes"):
            rows = engine.conn.execute(
                f"SELECT {REC_COLS} FROM records WHERE seq > ? ORDER BY seq", (seq,)
            ).fetchall()
        return [engine.fast_record(r) for r in rows]

    def purged_since(self, seq: int) -> builtins.list[tuple[str, int]]:
        """(uid hex, seq) of records purged after ``seq``."""
        with self.engine.lock, sql_errors("read changes"):
            rows = self.engine.conn.execute(
                "SELECT uid, seq FROM purged WHERE seq > ? ORDER BY seq", (seq,)
            ).fetchall()
        return [(bytes(u).hex(), s) for u, s in rows]

    # ------------------------------------------------------------------ bulk reads

    META_KEYS = META_KEYS
    """The order of the fields of a record's metadata array (see :meth:`record_metas`):
    name, type, description, tags, created, updated, deleted, version, max version,
    size, stages, rotation, extra, device."""

    def export_records(self, since_seq: int = 0) -> bulk.RecordExport:
        """Every record changed after ``since_seq`` (all when 0), tombstones included,
        with every stored version decrypted, the purges after ``since_seq`` and the key
        slots, read in one transaction (consistent with the returned ``seq``).

        For backups: 100,000 records with their history in about a second, where a
        ``history_values`` call per name takes several. Raises IntegrityError if any row
        fails authentication.
        """
        return self.engine.checked(lambda: bulk.export_records(self, since_seq))

    def record_metas(self) -> builtins.list[bulk.RecordMeta]:
        """Every record (tombstones included) with its decrypted metadata array, in
        one read: what a restore compares a backup against."""
        return bulk.record_metas(self)

    def encoded_values(self, wanted: Iterable[tuple[bytes, int]]) -> dict[tuple[bytes, int], bytes]:
        """The encoded values (see ``encode_value``) of (uid, version) pairs, decrypted
        in bulk; pairs that do not exist are left out."""
        wanted = list(wanted)
        return self.engine.checked(lambda: bulk.encoded_values(self, wanted))

    # ------------------------------------------------------------------ writes

    def put(
        self,
        name: str,
        value: object,
        *,
        description: str | None = None,
        tags: dict[str, str] | builtins.list[str] | None = None,
        expected_version: int | None = None,
        who: str | None = None,
        why: str | None = None,
        source: str | None = None,
        rotation: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> SecretRecord:
        """Store a new version of ``name`` (creating or undeleting it) durably.

        ``expected_version`` makes it a check-and-set: ConflictError unless the current
        version is exactly that (0 = must not exist). ``description``/``tags`` of None keep
        the existing ones.
        """
        validate_name(name)
        encoded = encode_value(value)
        tags = clean_tags(tags)
        now = (at or utcnow()).timestamp()
        engine = self.engine
        with self.transaction():
            meta, row = engine.meta_and_row(name)
            check_expected(name, meta, expected_version, None)
            is_new = meta is None
            if meta is None:
                meta = Metadata.new(name, now)
            version = meta.advance(
                is_new,
                encoded,
                now,
                engine.device_id,
                description=description,
                tags=tags,
                rotation=rotation,
                extra=extra,
            )
            entry = history_entry(encoded, who, why, source, now, engine.device_id)
            engine.write_version(meta.uid, version, encoded, entry)
            return engine.write_record(meta, row, name, is_new=is_new)

    def put_many(self, items: Iterable[Any]) -> int:
        """Store many secrets in one durable transaction; returns how many were stored.

        ``items`` are ``(name, value)`` or ``(name, value, options)`` where options are
        :meth:`put`'s keyword arguments (``description``, ``tags``, ``expected_version``,
        ``who``, ``why``, ``source``, ``rotation``, ``extra``, ``at``). The effect is
        exactly that of calling :meth:`put` for each item in order inside one
        :meth:`transaction`: all are stored or none (a bad name, a bad value or a failed
        check-and-set anywhere writes nothing). Several times faster per item than
        :meth:`put`, for imports, restores and recovery of many secrets.
        """
        return bulk.put_many(self, items)

    def update_meta(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        rotation: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        expected_rev: int | None = None,
    ) -> SecretRecord:
        """Change metadata only (no new value version); bumps ``rev`` and ``seq``."""
        validate_name(name)
        tags = clean_tags(tags)
        with self.transaction():
            meta, row = self.engine.meta_and_row(name)
            if meta is None or meta.deleted:
                raise NotFoundError(f"Secret {name!r} does not exist")
            check_expected(name, meta, None, expected_rev)
            meta.set_fields(description, tags, rotation, extra)
            return self.engine.write_record(meta, row, name, is_new=False)

    def delete(
        self,
        name: str,
        *,
        expected_version: int | None = None,
        who: str | None = None,
        why: str | None = None,
    ) -> SecretRecord:
        """Tombstone ``name``: reads return None, history stays, :meth:`undelete` undoes it."""
        validate_name(name)
        with self.transaction():
            meta, row = self.engine.meta_and_row(name)
            if meta is None or meta.deleted:
                raise NotFoundError(f"Secret {name!r} does not exist")
            check_expected(name, meta, expected_version, None)
            meta.deleted = True
            meta.deleted_at = utcnow().timestamp()
            meta.device = self.engine.device_id
            return self.engine.write_record(meta, row, name, is_new=False)

    def undelete(self, name: str) -> SecretRecord:
        """Bring back a deleted (not purged) secret with its last value."""
        validate_name(name)
        with self.transaction():
            meta, row = self.engine.meta_and_row(name)
            if meta is None:
                raise NotFoundError(f"Secret {name!r} was never stored or has been purged")
            if not meta.deleted:
                raise ValidationError(f"Secret {name!r} is not deleted")
            meta.deleted = False
            meta.deleted_at = None
            meta.updated = utcnow().timestamp()
            meta.device = self.engine.device_id
            return self.engine.write_record(meta, row, name, is_new=False)

    def purge(self, name: str) -> None:
        """Erase a secret and its history for good (secure_delete overwrites the pages)."""
        validate_name(name)
        with self.transaction():
            meta, row = self.engine.meta_and_row(name)
            if meta is None:
                raise NotFoundError(f"Secret {name!r} does not exist")
            assert row is not None
            self.engine.drop_row(row)

    def rollback(
        self,
        name: str,
        version: int,
        *,
        who: str | None = None,
        why: str | None = None,
        source: str | None = None,
    ) -> SecretRecord:
        """Make the value of ``version`` current again, as a new version."""
        old = self.get(name, version=version)
        if old is None:
            raise NotFoundError(f"Secret {name!r} does not exist")
        return self.put(
            name, old.value, who=who, why=why or f"rollback to version {version}", source=source
        )

    # ------------------------------------------------------------------ local state

    def get_local(self, key: str) -> bytes | None:
        """Sealed per-file bookkeeping (sync cursors, leases), decrypted; None if unset."""
        with self.engine.lock, sql_errors("read local state"):
            row = self.engine.conn.execute(
                "SELECT value FROM local_state WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        sealer = self.engine.keys.sealer
        return sealer.open(row[0], aad(b"local", self.vault_id, key), "local state")

    def set_local(self, key: str, value: bytes | None) -> None:
        """Set (or with None, clear) a sealed bookkeeping entry; joins a transaction."""
        conn = self.engine.conn
        with self.transaction():
            if value is None:
                conn.execute("DELETE FROM local_state WHERE key = ?", (key,))
            else:
                ct = self.engine.keys.sealer.seal(value, aad(b"local", self.vault_id, key))
                conn.execute("INSERT OR REPLACE INTO local_state VALUES (?, ?)", (key, ct))

    # ------------------------------------------------------------------ verification

    def verify(self) -> dict[str, Any]:
        """Check every row and the record-set digest; raise IntegrityError on any damage.

        Returns counts on success. Catches edited, swapped, replayed, deleted or inserted
        rows that a single lookup cannot see.
        """
        return self.engine.verify_rows()
