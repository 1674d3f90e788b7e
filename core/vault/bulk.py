"""Bulk reads and writes of a vault: whole-vault exports and batched puts.

Backups, restores and disaster recovery touch every record of a 100,000-secret vault at
once. Done through the per-secret API that costs 50-200 µs of Python per record; here the
rows are read in one query per table, decrypted with :meth:`Sealer.open_many`, and
written with ``executemany`` and one digest fold per batch. Same files, same checks,
same results as the per-secret calls: a batched put is exactly a ``put`` per item, in
order, inside one transaction.

These functions are the bodies of :meth:`Vault.export_records`,
:meth:`Vault.record_metas`, :meth:`Vault.encoded_values` and :meth:`Vault.put_many`;
call those. Restores also use two functions of their own: :func:`read_current` (the
records with their stored rows) and :func:`put_encoded` (``put_many`` of values already
encoded, given the records read in the same transaction, or names known to be new), so
that 100,000 restored secrets are not looked up, decrypted and parsed a second time.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from core.errors import ConflictError, IntegrityError, ValidationError
from core.vault.codec import MAX_VALUE_BYTES, compact_json, decode_value, encode_value
from core.vault.engine import REC_COLS, EngineOwner, sql_errors
from core.vault.gcpause import paused_gc
from core.vault.metadata import Metadata, check_expected, clean_tags, history_entry
from core.vault.names import validate_name
from core.vault.records import utcnow

# SQLite allows 32,766 bound variables per statement; stay well below.
_CHUNK = 900
PUT_OPTIONS = frozenset(
    {
        "description",
        "tags",
        "expected_version",
        "who",
        "why",
        "source",
        "rotation",
        "extra",
        "at",
    }
)


@dataclass
class RecordExport:
    """A consistent read of a vault, as columns (one row per record or per version).

    ``rows`` are (uid, rev, seq, deleted) per record, with its ``metas`` (decrypted JSON
    array in :data:`Vault.META_KEYS` order) and ``counts`` (how many versions it has)
    alongside; ``versions``/``infos``/``values`` hold every version (number, decrypted
    history entry JSON, encoded value), grouped by record in the same order. ``purged``
    are (uid, seq) of purged records, ``slots`` the key slots as stored (kind, params,
    wrapped key). Plaintext: keep it in memory, never log it (``repr`` hides it).
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
    slots: list[tuple[str, str, bytes]] = field(repr=False)


class RecordMeta(NamedTuple):
    """One record of the vault as it is now: uid, revision, tombstone flag and its
    decrypted metadata (JSON array in :data:`Vault.META_KEYS` order)."""

    uid: bytes
    rev: int
    deleted: bool
    meta: bytes


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


# ---------------------------------------------------------------------------- reads


def export_records(vault: EngineOwner, since_seq: int = 0) -> RecordExport:
    """See :meth:`Vault.export_records`."""
    with paused_gc():
        return _export(vault, since_seq)


def _export(vault: EngineOwner, since_seq: int) -> RecordExport:
    engine = vault.engine
    with sql_errors("read the vault"), engine.read_transaction() as conn:
        seq = engine.read_state()[0]
        columns = "SELECT uid, name_hash, rev, seq, deleted, meta FROM records"
        recs = (
            conn.execute(columns).fetchall()  # a plain scan beats the seq index here
            if since_seq == 0
            else conn.execute(columns + " WHERE seq > ?", (since_seq,)).fetchall()
        )
        total = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        live = conn.execute("SELECT count(*) FROM records WHERE deleted = 0").fetchone()[0]
        every = "SELECT uid, version, value, info FROM versions ORDER BY uid, version"
        if since_seq == 0:
            vers = conn.execute(every).fetchall()
        elif len(recs) * 8 > total:  # many changed: one ordered scan, filtered
            wanted = {r[0] for r in recs}
            vers = [row for row in conn.execute(every) if row[0] in wanted]
        else:  # few changed: one index range per record
            vers = []
            for r in sorted(recs):
                vers += conn.execute(
                    "SELECT uid, version, value, info FROM versions WHERE uid = ? ORDER BY version",
                    (r[0],),
                ).fetchall()
        purged = conn.execute(
            "SELECT uid, seq FROM purged WHERE seq > ? ORDER BY seq", (since_seq,)
        ).fetchall()
        slots = conn.execute("SELECT kind, params, wrapped FROM key_slots ORDER BY id").fetchall()
    recs.sort(key=itemgetter(0))  # versions come in uid order: records follow it
    per_uid = Counter(v[0] for v in vers)
    sealer = engine.keys.sealer
    meta_aad, value_aad, info_aad = engine.aads.meta, engine.aads.value, engine.aads.info
    metas = sealer.open_many([(r[5], meta_aad(r[0], r[2], r[3], r[4], r[1])) for r in recs])
    values = sealer.open_many([(v[2], value_aad(v[0], v[1])) for v in vers], "value")
    infos = sealer.open_many([(v[3], info_aad(v[0], v[1])) for v in vers], "history entry")
    return RecordExport(
        seq,
        live,
        [(bytes(r[0]), r[2], r[3], r[4]) for r in recs],
        metas,
        [per_uid.get(r[0], 0) for r in recs],
        [v[1] for v in vers],
        infos,
        values,
        [(bytes(u), s) for u, s in purged],
        [(k, p, bytes(w)) for k, p, w in slots],
    )


def record_metas(vault: EngineOwner) -> list[RecordMeta]:
    """See :meth:`Vault.record_metas`."""
    return [RecordMeta(c.uid, c.rev, c.deleted, c.meta) for c in read_current(vault)]


def encoded_values(
    vault: EngineOwner, wanted: Iterable[tuple[bytes, int]]
) -> dict[tuple[bytes, int], bytes]:
    """See :meth:`Vault.encoded_values`."""
    engine = vault.engine
    pick = sorted({(bytes(uid), int(version)) for uid, version in wanted})
    if not pick:
        return {}
    rows = []
    size = _CHUNK // 2  # two bound values per pair
    with sql_errors("read secret values"), engine.read_transaction() as conn:
        for i in range(0, len(pick), size):
            chunk = pick[i : i + size]
            marks = ",".join(["(?,?)"] * len(chunk))
            rows += conn.execute(
                f"WITH w(u, v) AS (VALUES {marks}) SELECT x.uid, x.version, x.value "
                "FROM w JOIN versions x ON x.uid = w.u AND x.version = w.v",
                [x for pair in chunk for x in pair],
            ).fetchall()
    aad = engine.aads.value
    plain = engine.keys.sealer.open_many([(r[2], aad(r[0], r[1])) for r in rows], "value")
    return {(bytes(r[0]), r[1]): p for r, p in zip(rows, plain, strict=True)}


class CurrentRow(NamedTuple):
    """A record as it is now (:func:`read_current`): what :class:`RecordMeta` holds
    (uid, rev, deleted flag, decrypted metadata JSON) plus what writing over it needs:
    its name hash, seq, metadata and name ciphertexts as stored, and its row id.
    ``repr`` hides the metadata."""

    uid: bytes
    rev: int
    deleted: bool
    meta: bytes
    nh: bytes
    seq: int
    meta_ct: bytes
    name_ct: bytes
    rid: int

    def __repr__(self) -> str:
        return f"CurrentRow(uid={bytes(self.uid).hex()}, rev={self.rev}, deleted={self.deleted})"


def read_current(vault: EngineOwner) -> list[CurrentRow]:
    """Every record (tombstones included) as :class:`CurrentRow`, in one read: what
    :meth:`Vault.record_metas` returns plus the stored row, so that a restore can hand
    the records it compared to :func:`put_encoded` without reading and decrypting them
    again."""
    engine = vault.engine
    with sql_errors("read the vault"), engine.read_transaction() as conn:
        rows = conn.execute(
            "SELECT uid, name_hash, rev, seq, deleted, meta, name_ct, rid FROM records"
        ).fetchall()
    aad = engine.aads.meta
    metas = engine.keys.sealer.open_many([(r[5], aad(r[0], r[2], r[3], r[4], r[1])) for r in rows])
    return [
        CurrentRow(r[0], r[2], bool(r[4]), m, r[1], r[3], r[5], r[6], r[7])
        for r, m in zip(rows, metas, strict=True)
    ]


# ---------------------------------------------------------------------------- writes


def _check_options(options: Any) -> Mapping[str, Any]:
    if type(options) is not dict and not isinstance(options, Mapping):
        raise ValidationError("put_many: the options of an item must be a dict")
    if not PUT_OPTIONS.issuperset(options):
        unknown = set(options) - PUT_OPTIONS
        raise ValidationError(f"put_many: unknown option(s) {', '.join(sorted(unknown))}")
    return options


def _prepare(items: Iterable[Any]) -> list[tuple[str, bytes, Mapping[str, Any]]]:
    """Validate every item before anything is written (a bad one writes nothing)."""
    out = []
    for item in items:
        if not isinstance(item, tuple | list) or len(item) not in (2, 3):
            raise ValidationError("put_many takes (name, value) or (name, value, options) items")
        name, value = item[0], item[1]
        options = _check_options(item[2]) if len(item) == 3 else {}
        validate_name(name)
        out.append((name, encode_value(value), options))
    return out


def _reencoded(encoded: bytes) -> bytes:
    """``encode_value(decode_value(encoded))`` with its checks and errors, without the
    round trip where it is the identity (valid UTF-8 text and bytes)."""
    tag = encoded[:1]
    if tag == b"s":
        decode_value(encoded)  # raises IntegrityError for invalid UTF-8, as the round trip
    elif tag != b"b":
        return encode_value(decode_value(encoded))
    if len(encoded) - 1 > MAX_VALUE_BYTES:
        encode_value(decode_value(encoded))  # raises ValueTooLargeError
    return bytes(encoded)


def put_many(vault: EngineOwner, items: Iterable[Any]) -> int:
    """See :meth:`Vault.put_many`."""
    return _put(vault, _prepare(items), {}, new_names=False)


def put_encoded(
    vault: EngineOwner,
    items: Iterable[tuple[str, bytes, Mapping[str, Any]]],
    current: Mapping[str, tuple[CurrentRow, list[Any]]] | None = None,
    *,
    new_names: bool = False,
) -> int:
    """:meth:`Vault.put_many` of ``(name, encoded value, options)`` items: exactly
    ``put_many([(name, decode_value(encoded), options), ...])``, same checks, same
    errors, same file, for callers that hold values already encoded (restores).

    ``current`` maps names to the record the caller read with :func:`read_current`
    *in the enclosing transaction*, with its parsed metadata array: those records are
    not looked up and decrypted again. Each is written only if it is still exactly that
    row, else ConflictError (and the transaction rolls back). ``new_names`` says no
    record of these names exists (a new vault being loaded): nothing is looked up, and
    if one does exist the vault's name index refuses it: ConflictError, nothing written.
    """
    out = []
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 3:
            raise ValidationError("put_encoded takes (name, encoded value, options) items")
        name, encoded, options = item
        _check_options(options)
        validate_name(name)
        if not isinstance(encoded, bytes):
            raise ValidationError("put_encoded: values must be encoded bytes")
        out.append((name, _reencoded(encoded), options))
    return _put(vault, out, current or {}, new_names=new_names)


class _Rec:
    """One record being written: its metadata, what it was, how many puts it got."""

    __slots__ = ("meta", "meta_ct", "name_ct", "nh", "puts", "rev", "rid")

    def __init__(
        self,
        meta: Metadata | None,
        nh: bytes,
        row: tuple[bytes, bytes, int, int] | None = None,
    ) -> None:
        self.meta = meta
        self.nh = nh
        # (old name ciphertext, old metadata ciphertext, row id, rev) of an existing record
        self.name_ct: bytes | None
        self.meta_ct: bytes | None
        self.name_ct, self.meta_ct, self.rid, self.rev = row or (None, None, 0, 0)
        self.puts = 0


def _known(row: CurrentRow, array: list[Any]) -> _Rec:
    meta = Metadata.from_array(array, row.uid, row.rev, row.seq, row.deleted)
    return _Rec(meta, bytes(row.nh), (row.name_ct, row.meta_ct, row.rid, row.rev))


def _lookup(vault: EngineOwner, names: Iterable[str]) -> dict[str, _Rec]:
    """The records of ``names`` that exist (by their name hashes, in chunks)."""
    engine = vault.engine
    name_hash = engine.name_hash
    by_hash = {name_hash(name): name for name in names}
    out: dict[str, _Rec] = {}
    for chunk in _chunks(list(by_hash)):
        marks = ",".join("?" * len(chunk))
        for row in engine.conn.execute(
            f"SELECT {REC_COLS}, rid FROM records WHERE name_hash IN ({marks})", chunk
        ):
            name = by_hash[row[1]]
            meta = engine.open_meta(row)
            if meta.name != name:
                raise IntegrityError("A vault record is filed under another name (swapped rows)")
            out[name] = _Rec(meta, row[1], (row[6], row[5], row[7], row[2]))
    for nh, name in by_hash.items():
        if name not in out:
            out[name] = _Rec(None, nh)
    return out


def _put(
    vault: EngineOwner,
    prepared: list[tuple[str, bytes, Mapping[str, Any]]],
    current: Mapping[str, tuple[CurrentRow, list[Any]]],
    *,
    new_names: bool,
) -> int:
    """Apply validated items: a put per item, in order, in one transaction."""
    if not prepared:
        return 0
    engine = vault.engine
    device = engine.device_id
    default_now = utcnow().timestamp()
    with paused_gc(), engine.transaction(), sql_errors("store secrets"):
        names = list(dict.fromkeys(name for name, _e, _o in prepared))  # first-put order
        if new_names:
            name_hash = engine.name_hash
            state = {name: _Rec(None, name_hash(name)) for name in names}
        else:
            recs: dict[str, _Rec] = {}
            for name in names:
                known = current.get(name)
                # only a record filed under this very name (its authenticated metadata)
                if known is not None and isinstance(known[1], list) and known[1][:1] == [name]:
                    recs[name] = _known(*known)
            recs.update(_lookup(vault, [n for n in names if n not in recs]))
            state = {name: recs[name] for name in names}
        next_seq = engine.next_seq
        versions: list[tuple[bytes, int, bytes, bytes]] = []
        for name, encoded, opts in prepared:
            rec = state[name]
            meta = rec.meta
            if opts:
                expected = opts.get("expected_version")
                if expected is not None:
                    check_expected(name, meta, expected, None)
                at = opts.get("at")
                now = at.timestamp() if at is not None else default_now
                tags = opts.get("tags")
                description = opts.get("description")
                rotation, extra = opts.get("rotation"), opts.get("extra")
                who, why, source = opts.get("who"), opts.get("why"), opts.get("source")
                tags = clean_tags(tags) if tags is not None else None
            else:
                now = default_now
                tags = description = rotation = extra = who = why = source = None
            is_new = meta is None
            if meta is None:
                meta = rec.meta = Metadata.new(name, now)
            version = meta.advance(
                is_new,
                encoded,
                now,
                device,
                description=description,
                tags=tags,
                rotation=rotation,
                extra=extra,
            )
            meta.seq = next_seq()
            rec.puts += 1
            entry = history_entry(encoded, who, why, source, now, device)
            versions.append((meta.uid, version, encoded, compact_json(entry)))
        _write_records(vault, state)  # first: it refuses stale or existing records
        _write_versions(vault, versions)
    return len(prepared)


def _write_versions(vault: EngineOwner, pending: list[tuple[bytes, int, bytes, bytes]]) -> None:
    engine = vault.engine
    seal_many = engine.keys.sealer.seal_many
    value_aad, info_aad = engine.aads.value, engine.aads.info
    value_cts = seal_many([(enc, value_aad(uid, ver)) for uid, ver, enc, _i in pending])
    info_cts = seal_many([(info, info_aad(uid, ver)) for uid, ver, _e, info in pending])
    rows = []
    for (uid, version, _e, _i), v, f in zip(pending, value_cts, info_cts, strict=True):
        rows.append((uid, version, v, f))
    engine.fold(engine.keys.rows.versions_sum(value_cts, info_cts), versions=len(rows))
    rows.sort()  # in key order: each B-tree page is visited once, not once per row
    engine.conn.executemany(
        "INSERT INTO versions(uid, version, value, info) VALUES (?, ?, ?, ?)", rows
    )


def _write_records(vault: EngineOwner, state: dict[str, _Rec]) -> None:
    engine = vault.engine
    sealer, meta_aad, name_aad = engine.keys.sealer, engine.aads.meta, engine.aads.name
    metas, names = [], []
    for name, rec in state.items():
        meta = rec.meta
        assert meta is not None
        meta.rev = rec.rev + rec.puts
        metas.append((meta.encode(), meta_aad(meta.uid, meta.rev, meta.seq, 0, rec.nh)))
        if rec.name_ct is None:
            names.append((name.encode(), name_aad(meta.uid, rec.nh)))
    meta_cts = sealer.seal_many(metas)
    name_cts = iter(sealer.seal_many(names))
    inserts, updates = [], []
    old_metas = []
    for rec, meta_ct in zip(state.values(), meta_cts, strict=True):
        meta = rec.meta
        assert meta is not None
        name_ct = rec.name_ct
        if name_ct is None:
            name_ct = next(name_cts)
            row = (meta.uid, rec.nh, meta.rev, meta.seq, 0, name_ct, meta_ct, meta.version)
            inserts.append(row)
        else:
            assert rec.meta_ct is not None  # an existing row has both ciphertexts
            old_metas.append(rec.meta_ct)
            updates.append((meta.rev, meta.seq, meta_ct, meta.version, rec.rid, rec.meta_ct))
    rows = engine.keys.rows
    engine.fold(rows.records_sum(meta_cts) - rows.records_sum(old_metas), records=len(inserts))
    conn = engine.conn
    if inserts:
        try:
            conn.executemany(
                "INSERT INTO records(uid, name_hash, rev, seq, deleted, name_ct, meta, cur) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                inserts,
            )
        except sqlite3.IntegrityError:  # a UNIQUE index: the name exists (new_names)
            raise ConflictError(
                "A secret to be created already exists: nothing was stored"
            ) from None
    if updates:
        updates.sort(key=itemgetter(4))  # in row order: each table page visited once
        before = conn.total_changes
        conn.executemany(
            "UPDATE records SET rev = ?, seq = ?, deleted = 0, meta = ?, cur = ? "
            "WHERE rid = ? AND meta = ?",
            updates,
        )
        if conn.total_changes - before != len(updates):
            raise ConflictError("A secret changed while it was being written: nothing was stored")
