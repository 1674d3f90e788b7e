"""Bulk reads of the vault for backup and restore: the one module that knows the vault's
insides.

A 100,000-secret backup must take under two seconds, which the per-secret public API
(``history_values`` per name, ~50 µs each) cannot do. :func:`export` therefore reads the
rows in one read transaction and decrypts them in bulk, through the vault's own
associated-data builders and sealer. It only reads. If the vault's internals are not
the ones this module expects (``core.vault`` changed), it falls back to the public API
(slower, same result) and logs a warning once.

Proposed for ``core.vault`` (so this module can drop its private access):
``Vault.export_records(since_seq)`` returning exactly
:class:`Snapshot`, ``Vault.wrapped_key_slots()``, and ``Vault.put_many(items)``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from core.backup.body import RecordDump, Version, no_gc
from core.backup.container import KeySlotRow
from core.errors import IntegrityError, VaultError
from core.vault import SecretRecord, Vault, encode_value

log = logging.getLogger(__name__)

# The order of a record's metadata array (the vault's own order; listed in each manifest).
META_KEYS = ("n", "t", "d", "g", "c", "u", "x", "v", "mv", "s", "st", "r", "e", "dev")
_warned = False


@dataclass
class Snapshot:
    """A consistent read of the vault: records changed after ``since``, with history.

    Kept as columns (what the body encoder writes), not one object per record:
    ``rows`` (uid, rev, seq, deleted) and ``metas`` per record, ``counts`` of versions
    per record, and ``versions``/``infos``/``values`` for every version, grouped by
    record in the same order. :attr:`records` builds the per-record view on demand.
    """

    seq: int
    live_count: int
    rows: list[tuple[bytes, int, int, int]] = field(repr=False)
    metas: list[bytes] = field(repr=False)
    counts: list[int] = field(repr=False)
    versions: list[int] = field(repr=False)
    infos: list[bytes] = field(repr=False)
    values: list[bytes] = field(repr=False)
    purged: list[tuple[bytes, int]] = field(repr=False)
    slots: list[KeySlotRow] = field(repr=False)
    meta_keys: tuple[str, ...] = META_KEYS

    @property
    def records(self) -> list[RecordDump]:
        """One :class:`RecordDump` per record (built on demand)."""
        out, j = [], 0
        for (uid, rev, seq, deleted), meta, n in zip(
            self.rows, self.metas, self.counts, strict=True
        ):
            mine = [
                Version(self.versions[k], self.infos[k], self.values[k]) for k in range(j, j + n)
            ]
            out.append(RecordDump(uid, rev, seq, bool(deleted), meta, mine))
            j += n
        return out

    @classmethod
    def from_records(
        cls,
        seq: int,
        live_count: int,
        records: list[RecordDump],
        purged: list[tuple[bytes, int]],
        slots: list[KeySlotRow],
    ) -> Snapshot:
        """The columns of per-record dumps."""
        every = [v for r in records for v in r.versions]
        return cls(
            seq,
            live_count,
            [(r.uid, r.rev, r.seq, int(r.deleted)) for r in records],
            [r.meta for r in records],
            [len(r.versions) for r in records],
            [v.version for v in every],
            [v.info for v in every],
            [v.value for v in every],
            purged,
            slots,
        )


class CurrentRecord(NamedTuple):
    """A record of the live vault as the restore planner sees it."""

    uid: bytes
    rev: int
    deleted: bool
    meta: bytes  # JSON array in META_KEYS order


def _fast_ok(vault: Vault) -> bool:
    global _warned
    try:
        from core.vault import store

        ok = (
            tuple(store._META_KEYS) == META_KEYS
            and callable(vault._meta_aad)
            and callable(vault._value_aad)
            and callable(vault._info_aad)
            and hasattr(vault._keys.sealer, "open_many")
            and hasattr(vault, "_conn")
        )
    except AttributeError:
        ok = False
    if not ok and not _warned:
        _warned = True
        log.warning("core.vault changed shape: backups use the slower public API")
    return ok


class _ReadTx:
    """One read transaction on the vault's connection (joins an open write one)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.own = True

    def __enter__(self) -> Any:
        self.vault._lock.acquire()
        # only after taking the lock: another thread's transaction holds it meanwhile
        self.own = not getattr(self.vault, "_tx_depth", 0)
        if self.own:
            try:
                self.vault._conn.execute("BEGIN")
            except Exception:
                self.vault._lock.release()
                raise
        return self.vault._conn

    def __exit__(self, *exc: object) -> None:
        try:
            if self.own:
                self.vault._conn.execute("COMMIT")
        finally:
            self.vault._lock.release()


def export(vault: Vault, since_seq: int = 0) -> Snapshot:
    """Records changed after ``since_seq`` (all when 0), tombstones included, each with
    every stored version, plus purges after ``since_seq`` and the key slots.

    Read in one transaction, so the snapshot is consistent with ``seq``.
    """
    if _fast_ok(vault):
        try:
            return _export_fast(vault, since_seq)
        except (AttributeError, TypeError) as exc:
            log.warning("fast vault export failed (%s): using the public API", type(exc).__name__)
    return _export_public(vault, since_seq)


def _export_fast(vault: Vault, since: int) -> Snapshot:
    with no_gc():
        seq, live, recs, vers, purged, slots = _read_rows(vault, since)
        recs.sort(key=itemgetter(0))  # versions come in uid order: records follow it
        per_uid = Counter(v[0] for v in vers)
        sealer = vault._keys.sealer
        meta_aad = vault._meta_aad
        metas = sealer.open_many(
            [(r[5], meta_aad(r[0], r[2], r[3], r[4], r[1])) for r in recs], "record"
        )
        value_aad, info_aad = vault._value_aad, vault._info_aad
        values = sealer.open_many([(v[2], value_aad(v[0], v[1])) for v in vers], "value")
        infos = sealer.open_many([(v[3], info_aad(v[0], v[1])) for v in vers], "history entry")
        return Snapshot(
            seq,
            live,
            [(r[0], r[2], r[3], r[4]) for r in recs],
            metas,
            [per_uid.get(r[0], 0) for r in recs],
            [v[1] for v in vers],
            infos,
            values,
            [(bytes(u), s) for u, s in purged],
            [KeySlotRow(k, p, bytes(w)) for k, p, w in slots],
        )


def _read_rows(vault: Vault, since: int) -> tuple[int, int, list, list, list, list]:
    """The raw rows of a snapshot, read in one transaction."""
    from core.vault.store import _sql

    with _sql("read the vault for a backup"), _ReadTx(vault) as conn:
        seq = vault._read_state()[0]
        columns = "SELECT uid, name_hash, rev, seq, deleted, meta FROM records"
        recs = (
            conn.execute(columns).fetchall()  # a plain scan beats the seq index here
            if since == 0
            else conn.execute(columns + " WHERE seq > ?", (since,)).fetchall()
        )
        total = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        live = conn.execute("SELECT count(*) FROM records WHERE deleted = 0").fetchone()[0]
        if since == 0:
            vers = conn.execute(
                "SELECT uid, version, value, info FROM versions ORDER BY uid, version"
            ).fetchall()
        elif len(recs) * 8 > total:
            wanted = {r[0] for r in recs}
            vers = [
                row
                for row in conn.execute(
                    "SELECT uid, version, value, info FROM versions ORDER BY uid, version"
                )
                if row[0] in wanted
            ]
        else:
            vers = []
            for r in sorted(recs):
                vers += conn.execute(
                    "SELECT uid, version, value, info FROM versions WHERE uid = ? ORDER BY version",
                    (r[0],),
                ).fetchall()
        purged = conn.execute(
            "SELECT uid, seq FROM purged WHERE seq > ? ORDER BY seq", (since,)
        ).fetchall()
        slots = conn.execute("SELECT kind, params, wrapped FROM key_slots ORDER BY id").fetchall()
    return seq, live, recs, vers, purged, slots


def meta_of(record: SecretRecord) -> bytes:
    """A record's metadata array (META_KEYS order) built from the public record."""
    body = [
        record.name,
        record.type,
        record.description,
        dict(record.tags),
        record.created_ts,
        record.updated_ts,
        record.deleted_ts,
        record.version,
        record.max_version,
        record.size,
        dict(record.stages),
        dict(record.rotation) or None,
        dict(record.extra) or None,
        record.device,
    ]
    return json.dumps(body, separators=(",", ":")).encode()


def _export_public(vault: Vault, since: int) -> Snapshot:
    seq = vault.seq  # read first: anything newer is included again by the next backup
    changed = vault.changes_since(since)
    records = []
    for rec in sorted(changed, key=lambda r: r.uid):
        versions = []
        for info, value in vault.history_values(rec.name):
            entry = {
                "at": info.created_at.timestamp() if info.created_at else None,
                "who": info.who,
                "why": info.why,
                "src": info.source,
                "dev": info.device,
                "t": info.type,
                "s": info.size,
            }
            versions.append(Version(info.version, json.dumps(entry).encode(), encode_value(value)))
        uid = bytes.fromhex(rec.uid)
        records.append(RecordDump(uid, rec.rev, rec.seq, rec.deleted, meta_of(rec), versions))
    purged = [(bytes.fromhex(u), s) for u, s in vault.purged_since(since)]
    return Snapshot.from_records(seq, vault.count(), records, purged, [])


def current(vault: Vault) -> list[CurrentRecord]:
    """Every record of the vault now (tombstones included), metadata decrypted."""
    if _fast_ok(vault):
        try:
            from core.vault.store import _sql

            with _sql("read the vault"), _ReadTx(vault) as conn:
                rows = conn.execute(
                    "SELECT uid, name_hash, rev, seq, deleted, meta FROM records"
                ).fetchall()
            aad = vault._meta_aad
            metas = vault._keys.sealer.open_many(
                [(r[5], aad(r[0], r[2], r[3], r[4], r[1])) for r in rows], "record"
            )
            return [
                CurrentRecord(r[0], r[2], bool(r[4]), m) for r, m in zip(rows, metas, strict=True)
            ]
        except (AttributeError, TypeError):
            pass
    return [
        CurrentRecord(bytes.fromhex(r.uid), r.rev, r.deleted, meta_of(r))
        for r in vault.list(include_deleted=True)
    ]


def values(
    vault: Vault, wanted: Iterable[tuple[str, bytes, int]]
) -> dict[tuple[bytes, int], bytes]:
    """Encoded values of (name, uid, version) triples; missing ones are left out."""
    wanted = list(wanted)
    out: dict[tuple[bytes, int], bytes] = {}
    if not wanted:
        return out
    if _fast_ok(vault):
        try:
            from core.vault.store import _sql

            with _sql("read secret values"), _ReadTx(vault) as conn:
                pick = {(uid, version) for _n, uid, version in wanted}
                uids = sorted({uid for _n, uid, _v in wanted})
                rows = []
                for i in range(0, len(uids), 500):
                    chunk = uids[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    rows += [
                        row
                        for row in conn.execute(
                            f"SELECT uid, version, value FROM versions WHERE uid IN ({marks})",
                            chunk,
                        )
                        if (row[0], row[1]) in pick
                    ]
            aad = vault._value_aad
            plain = vault._keys.sealer.open_many([(r[2], aad(r[0], r[1])) for r in rows], "value")
            return {(r[0], r[1]): p for r, p in zip(rows, plain, strict=True)}
        except (AttributeError, TypeError):
            pass
    for name, uid, version in wanted:
        try:
            secret = vault.get(name, version=version)
        except VaultError:
            continue
        if secret is not None and secret.record.uid == uid.hex():
            out[(uid, version)] = encode_value(secret.value)
    return out


def check_meta(meta: Any) -> list[Any]:
    """A metadata array, checked for shape (a damaged one raises IntegrityError)."""
    if not isinstance(meta, list) or len(meta) != len(META_KEYS) or not isinstance(meta[0], str):
        raise IntegrityError("A backed-up record holds malformed metadata")
    return meta
