"""Bulk reads and writes of a vault: whole-vault exports and batched puts.

Backups, restores and disaster recovery touch every record of a 100,000-secret vault at
once. Done through the per-secret API that costs 50-200 µs of Python per record; here the
rows are read in one query per table, decrypted with :meth:`Sealer.open_many`, and
written with ``executemany`` and one digest fold per batch. Same files, same checks,
same results as the per-secret calls: a batched put is exactly a ``put`` per item, in
order, inside one transaction.

These functions are the bodies of :meth:`Vault.export_records`,
:meth:`Vault.record_metas`, :meth:`Vault.encoded_values` and :meth:`Vault.put_many`;
call those.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from core.errors import IntegrityError, ValidationError
from core.vault.codec import compact_json, encode_value
from core.vault.gcpause import paused_gc
from core.vault.names import validate_name
from core.vault.records import utcnow

if TYPE_CHECKING:
    from core.vault.store import Vault

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


class _ReadTx:
    """One read transaction on the vault's connection (joins an open write one)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.own = True

    def __enter__(self) -> Any:
        self.vault._lock.acquire()
        # only after taking the lock: another thread's transaction holds it meanwhile
        self.own = not self.vault._tx_depth
        if self.own:
            try:
                self.vault._conn.execute("BEGIN")
            except BaseException:
                self.vault._lock.release()
                raise
        return self.vault._conn

    def __exit__(self, *exc: object) -> None:
        try:
            if self.own:
                self.vault._conn.execute("COMMIT")
        finally:
            self.vault._lock.release()


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


# ---------------------------------------------------------------------------- reads


def export_records(vault: Vault, since_seq: int = 0) -> RecordExport:
    """See :meth:`Vault.export_records`."""
    with paused_gc():
        return _export(vault, since_seq)


def _export(vault: Vault, since_seq: int) -> RecordExport:
    from core.vault.store import _sql

    with _sql("read the vault"), _ReadTx(vault) as conn:
        seq = vault._read_state()[0]
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
    sealer = vault._keys.sealer
    meta_aad, value_aad, info_aad = vault._meta_aad, vault._value_aad, vault._info_aad
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


def record_metas(vault: Vault) -> list[RecordMeta]:
    """See :meth:`Vault.record_metas`."""
    from core.vault.store import _sql

    with _sql("read the vault"), _ReadTx(vault) as conn:
        rows = conn.execute(
            "SELECT uid, name_hash, rev, seq, deleted, meta FROM records"
        ).fetchall()
    aad = vault._meta_aad
    metas = vault._keys.sealer.open_many([(r[5], aad(r[0], r[2], r[3], r[4], r[1])) for r in rows])
    return [RecordMeta(r[0], r[2], bool(r[4]), m) for r, m in zip(rows, metas, strict=True)]


def encoded_values(
    vault: Vault, wanted: Iterable[tuple[bytes, int]]
) -> dict[tuple[bytes, int], bytes]:
    """See :meth:`Vault.encoded_values`."""
    from core.vault.store import _sql

    pick = {(bytes(uid), int(version)) for uid, version in wanted}
    if not pick:
        return {}
    rows = []
    with _sql("read secret values"), _ReadTx(vault) as conn:
        for chunk in _chunks(sorted({uid for uid, _v in pick})):
            marks = ",".join("?" * len(chunk))
            rows += [
                row
                for row in conn.execute(
                    f"SELECT uid, version, value FROM versions WHERE uid IN ({marks})", chunk
                )
                if (row[0], row[1]) in pick
            ]
    aad = vault._value_aad
    plain = vault._keys.sealer.open_many([(r[2], aad(r[0], r[1])) for r in rows], "value")
    return {(r[0], r[1]): p for r, p in zip(rows, plain, strict=True)}


# ---------------------------------------------------------------------------- writes


def _prepare(items: Iterable[Any]) -> list[tuple[str, bytes, Mapping[str, Any]]]:
    """Validate every item before anything is written (a bad one writes nothing)."""
    out = []
    for item in items:
        if not isinstance(item, tuple | list) or len(item) not in (2, 3):
            raise ValidationError("put_many takes (name, value) or (name, value, options) items")
        name, value = item[0], item[1]
        options: Mapping[str, Any] = item[2] if len(item) == 3 else {}
        if not isinstance(options, Mapping):
            raise ValidationError("put_many: the options of an item must be a dict")
        unknown = set(options) - PUT_OPTIONS
        if unknown:
            raise ValidationError(f"put_many: unknown option(s) {', '.join(sorted(unknown))}")
        validate_name(name)
        out.append((name, encode_value(value), options))
    return out


def put_many(vault: Vault, items: Iterable[Any]) -> int:
    """See :meth:`Vault.put_many`."""
    from core.vault.store import _clean_tags, _sql

    prepared = _prepare(items)
    if not prepared:
        return 0
    default_now = utcnow().timestamp()
    with paused_gc(), vault.transaction(), _sql("store secrets"):
        conn = vault._conn
        name_hash = vault._name_hash
        hashes = {name: name_hash(name) for name, _e, _o in prepared}
        found: dict[bytes, tuple] = {}
        rids: dict[bytes, int] = {}
        for chunk in _chunks(list(hashes.values())):
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT {vault._REC_COLS}, rid FROM records WHERE name_hash IN ({marks})", chunk
            ):
                found[row[1]] = row[:-1]
                rids[row[0]] = row[-1]
        # name -> [metadata dict, its row as found (None: new), puts so far]
        state: dict[str, list[Any]] = {}
        pending: list[tuple[bytes, int, bytes, bytes]] = []
        for name, encoded, opts in prepared:
            entry = state.get(name)
            if entry is None:
                row = found.get(hashes[name])
                m = None
                if row is not None:
                    m = vault._open_meta(row)
                    if m.get("n") != name:
                        raise IntegrityError(
                            "A vault record is filed under another name (swapped rows)"
                        )
                entry = state[name] = [m, row, 0]
            m = entry[0]
            vault._check_expected(name, m, opts.get("expected_version"), None)
            at = opts.get("at")
            now = at.timestamp() if at is not None else default_now
            if m is None:
                m = entry[0] = vault._new_meta(name, now)
                is_new = True
            else:
                is_new = False
            tags = opts.get("tags")
            version = vault._advance(
                m,
                is_new,
                encoded,
                now,
                description=opts.get("description"),
                tags=_clean_tags(tags) if tags is not None else None,
                rotation=opts.get("rotation"),
                extra=opts.get("extra"),
            )
            m["_seq"] = vault._next_seq()
            entry[2] += 1
            info = vault._info(encoded, opts.get("who"), opts.get("why"), opts.get("source"), now)
            pending.append((m["_uid"], version, encoded, compact_json(info)))
        _write_versions(vault, pending)
        _write_records(vault, state, hashes, rids)
    return len(prepared)


def _write_versions(vault: Vault, pending: list[tuple[bytes, int, bytes, bytes]]) -> None:
    seal_many, digest = vault._keys.sealer.seal_many, vault._keys.digest
    value_aad, info_aad = vault._value_aad, vault._info_aad
    value_cts = seal_many([(enc, value_aad(uid, ver)) for uid, ver, enc, _i in pending])
    info_cts = seal_many([(info, info_aad(uid, ver)) for uid, ver, _e, info in pending])
    acc = 0
    for v, i in zip(value_cts, info_cts, strict=True):
        acc ^= int.from_bytes(digest(b"v" + v[:12] + v[-16:] + i[:12] + i[-16:]), "big")
    vault._fold(acc.to_bytes(32, "big"))
    rows = [(p[0], p[1], v, i) for p, v, i in zip(pending, value_cts, info_cts, strict=True)]
    rows.sort()  # in key order: each B-tree page is visited once, not once per row
    vault._conn.executemany(
        "INSERT INTO versions(uid, version, value, info) VALUES (?, ?, ?, ?)", rows
    )


def _write_records(
    vault: Vault, state: dict[str, list[Any]], hashes: dict[str, bytes], rids: dict[bytes, int]
) -> None:
    from core.vault.store import _META_KEYS

    sealer, meta_aad, name_aad = vault._keys.sealer, vault._meta_aad, vault._name_aad
    metas, names = [], []
    for name, (m, row, puts) in state.items():
        uid, nh = m["_uid"], hashes[name]
        rev = (row[2] if row is not None else 0) + puts
        m["_rev"] = rev
        body = compact_json([m.get(k) for k in _META_KEYS])
        metas.append((body, meta_aad(uid, rev, m["_seq"], 0, nh)))
        if row is None:
            names.append((name.encode(), name_aad(uid, nh)))
    meta_cts = sealer.seal_many(metas)
    name_cts = iter(sealer.seal_many(names))
    inserts, updates = [], []
    rec_digest = vault._rec_digest
    acc = 0
    for (name, (m, row, _puts)), meta_ct in zip(state.items(), meta_cts, strict=True):
        uid, rev, seq = m["_uid"], m["_rev"], m["_seq"]
        if row is None:
            name_ct = next(name_cts)
            inserts.append((uid, hashes[name], rev, seq, 0, name_ct, meta_ct, m["v"]))
        else:
            name_ct = row[6]
            acc ^= int.from_bytes(rec_digest(name_ct, row[5]), "big")
            updates.append((rev, seq, 0, meta_ct, m["v"], rids[uid]))
        acc ^= int.from_bytes(rec_digest(name_ct, meta_ct), "big")
    vault._fold(acc.to_bytes(32, "big"))
    conn = vault._conn
    if inserts:
        conn.executemany(
            "INSERT INTO records(uid, name_hash, rev, seq, deleted, name_ct, meta, cur) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            inserts,
        )
    if updates:
        updates.sort(key=itemgetter(5))  # in row order: each table page visited once
        conn.executemany(
            "UPDATE records SET rev = ?, seq = ?, deleted = ?, meta = ?, cur = ? WHERE rid = ?",
            updates,
        )
