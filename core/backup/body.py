"""The plaintext body of a backup (before compression and encryption): columnar binary.

Records are stored as the vault holds them once decrypted: the record's uid, revision,
change sequence, deleted flag and metadata (a JSON array whose keys the manifest lists in
``meta_keys``), and every stored version with its history entry (JSON) and encoded value
(one type byte + payload, see ``core.vault.codec``). Columns instead of one JSON document
keep a 100,000-secret backup fast to write and read::

    "VBB1" | u32 records | u32 versions | u32 purged
    u64+ fixed record rows   (uid 16, rev q, seq q, deleted B, versions I, meta length I)
    u64+ metadata            (concatenated JSON arrays)
    u64+ fixed version rows  (version q, info length I, value length I), grouped by record
    u64+ history entries     (concatenated JSON objects)
    u64+ values              (concatenated encoded values)
    u64+ purged rows         (uid 16, seq q)
    u64+ audit events        (a JSON array)
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from itertools import accumulate
from typing import Any, NamedTuple

from core.errors import BackupIntegrityError
from core.vault.gcpause import paused_gc

_MAGIC = b"VBB1"
_COUNTS = struct.Struct(">4sIII")
_REC = struct.Struct(">16sqqBII")
_VER = struct.Struct(">qII")
_PURGED = struct.Struct(">16sq")
_U64 = struct.Struct(">Q")


class Version(NamedTuple):
    """One stored version: number, history entry (JSON bytes) and encoded value."""

    version: int
    info: bytes
    value: bytes

    def __repr__(self) -> str:
        return f"Version({self.version}, <{len(self.value)} bytes hidden>)"


class RecordDump(NamedTuple):
    """One record as a backup holds it (metadata as JSON bytes, see ``meta_keys``)."""

    uid: bytes
    rev: int
    seq: int
    deleted: bool
    meta: bytes
    versions: list[Version]

    def __repr__(self) -> str:
        return f"RecordDump(uid={self.uid.hex()}, rev={self.rev}, versions={len(self.versions)})"


class Body(NamedTuple):
    """A decoded backup body."""

    records: list[RecordDump]
    purged: list[tuple[bytes, int]]
    audit: list[dict[str, Any]]

    def __repr__(self) -> str:
        return f"Body({len(self.records)} records, {len(self.purged)} purged)"


def encode(
    rows: list[tuple[bytes, int, int, int]],
    metas: list[bytes],
    counts: list[int],
    versions: list[int],
    infos: list[bytes],
    values: list[bytes],
    purged: list[tuple[bytes, int]],
    audit: list[dict[str, Any]],
) -> list[bytes]:
    """Serialise a body from columns (see ``vault_io.Snapshot``); returns chunks.

    ``rows`` are (uid, rev, seq, deleted) with ``metas`` and ``counts`` (versions per
    record) alongside; ``versions``/``infos``/``values`` are grouped by record in order.
    """
    pack_rec, pack_ver = _REC.pack, _VER.pack
    rec_rows = [
        pack_rec(uid, rev, seq, deleted, n, len(meta))
        for (uid, rev, seq, deleted), meta, n in zip(rows, metas, counts, strict=True)
    ]
    ver_rows = [
        pack_ver(v, len(i), len(x)) for v, i, x in zip(versions, infos, values, strict=True)
    ]
    if sum(counts) != len(versions):
        raise ValueError("version counts do not add up")
    purged_rows = [_PURGED.pack(uid, seq) for uid, seq in purged]
    audit_json = json.dumps(audit, separators=(",", ":"), default=str).encode()
    out = [_COUNTS.pack(_MAGIC, len(rows), len(versions), len(purged))]
    for section in (rec_rows, metas, ver_rows, infos, values, purged_rows, [audit_json]):
        blob = b"".join(section)
        out += [_U64.pack(len(blob)), blob]
    return out


def _sections(data: bytes, count: int) -> Iterator[memoryview]:
    view = memoryview(data)
    pos = _COUNTS.size
    for _ in range(count):
        (size,) = _U64.unpack_from(view, pos)
        pos += 8
        if pos + size > len(view):
            raise ValueError("section overruns the body")
        yield view[pos : pos + size]
        pos += size
    if pos != len(view):
        raise ValueError("trailing bytes")


def decode(data: bytes, name: str) -> Body:
    """Parse a body; any inconsistency raises BackupIntegrityError."""
    try:
        with paused_gc():
            return _decode(data)
    except (struct.error, ValueError, UnicodeDecodeError, TypeError, IndexError):
        raise BackupIntegrityError(
            f"Backup integrity check failed: {name}: its contents are malformed"
        ) from None


def _decode(data: bytes) -> Body:
    magic, n_rec, n_ver, n_purged = _COUNTS.unpack_from(data, 0)
    if magic != _MAGIC:
        raise ValueError("bad body magic")
    rec_rows, metas, ver_rows, infos, values, purged_rows, audit_json = _sections(data, 7)
    if len(rec_rows) != n_rec * _REC.size or len(ver_rows) != n_ver * _VER.size:
        raise ValueError("row counts")
    if len(purged_rows) != n_purged * _PURGED.size:
        raise ValueError("purged count")
    ver_list = list(_VER.iter_unpack(ver_rows))
    info_ends = list(accumulate(r[1] for r in ver_list))
    value_ends = list(accumulate(r[2] for r in ver_list))
    if (info_ends[-1] if ver_list else 0) != len(infos) or (
        value_ends[-1] if ver_list else 0
    ) != len(values):
        raise ValueError("version sizes")
    info_b, value_b = bytes(infos), bytes(values)  # slices of bytes are bytes: no copies
    versions_all = [
        Version(r[0], info_b[ie - r[1] : ie], value_b[ve - r[2] : ve])
        for r, ie, ve in zip(ver_list, info_ends, value_ends, strict=True)
    ]
    rec_list = list(_REC.iter_unpack(rec_rows))
    meta_ends = list(accumulate(r[5] for r in rec_list))
    ver_ends = list(accumulate(r[4] for r in rec_list))
    if (meta_ends[-1] if rec_list else 0) != len(metas) or (ver_ends[-1] if rec_list else 0) != len(
        versions_all
    ):
        raise ValueError("record sizes")
    meta_b = bytes(metas)
    records = [
        RecordDump(
            r[0], r[1], r[2], bool(r[3]), meta_b[me - r[5] : me], versions_all[we - r[4] : we]
        )
        for r, me, we in zip(rec_list, meta_ends, ver_ends, strict=True)
    ]
    purged = [(uid, seq) for uid, seq in _PURGED.iter_unpack(purged_rows)]
    audit = json.loads(bytes(audit_json))
    if not isinstance(audit, list):
        raise ValueError("audit section")
    return Body(records, purged, audit)


def parse_json_many(blobs: list[bytes]) -> list[Any]:
    """Parse many JSON documents at once (one C-level parse instead of thousands)."""
    if not blobs:
        return []
    with paused_gc():
        out: list[Any] = json.loads(b"[" + b",".join(blobs) + b"]")
    return out
