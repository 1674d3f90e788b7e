"""The plain way to rebuild a vault from a backup's state: a ``Vault.put_many`` of every
version, decoded. Disaster recovery's bulk load (``restore.load_into_new``) must write
exactly what this writes; tests compare the two, and bench_backup times both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.backup.body import parse_json_many
from core.backup.restore import Entry, _norm, _prime
from core.vault import Vault, decode_value
from core.vault.metadata import (
    META_DESCRIPTION,
    META_EXTRA,
    META_ROTATION,
    META_STAGES,
    META_TAGS,
    META_VERSION,
)


def replay_reference(vault: Vault, entries: list[Entry], **_kw: Any) -> list[str]:
    """Every live record's versions (oldest first, CURRENT last, PENDING left out) put
    with their original time, author and reason; tombstones deleted again."""
    restored, tombstones, items = [], [], []
    _prime(entries)
    for e in entries:
        meta = e.meta
        pending = (meta[META_STAGES] or {}).get("PENDING")
        versions = [v for v in e.dump.versions if v.version != pending]
        versions.sort(key=lambda v: (v.version == meta[META_VERSION], v.version))
        for v, info in zip(versions, parse_json_many([v.info for v in versions]), strict=True):
            at = info.get("at")
            options = {
                "description": meta[META_DESCRIPTION] or "",
                "tags": _norm(meta[META_TAGS]),
                "rotation": _norm(meta[META_ROTATION]),
                "extra": _norm(meta[META_EXTRA]),
                "who": info.get("who") or None,
                "why": info.get("why") or None,
                "source": info.get("src") or None,
                "at": datetime.fromtimestamp(at, UTC) if isinstance(at, int | float) else None,
            }
            items.append((e.name, decode_value(v.value), options))
        (tombstones if e.dump.deleted else restored).append(e.name)
    vault.put_many(items)
    for name in tombstones:
        vault.delete(name)
    return restored
