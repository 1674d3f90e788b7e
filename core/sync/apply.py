"""Writing a merged state into a vault file.

:func:`plan_write` compares the merged state with what the file holds and returns the
one write that makes the file hold it (or None): versions it lacks are appended after
its highest version number (oldest first), the current version and the previous one
are set, and the record's clock is stored in ``extra['_sync']``. :func:`apply_write`
performs it with the check-and-set of ``core.vault.sync_access.sync_write``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from core.controlchars import escape_controls
from core.sync.clock import SYNC_KEY
from core.sync.state import RecordState
from core.vault.metadata import Metadata
from core.vault.store import Vault
from core.vault.sync_access import sync_write


@dataclass
class Write:
    """One record write: what :func:`apply_write` sends to the vault file."""

    uid: bytes
    name: str
    meta: Metadata
    new_versions: list[tuple[int, dict[str, Any], bytes]] = field(repr=False)
    deleted: bool
    expected_rev: int
    drop: tuple[bytes, ...]
    numbers: dict[str, int]
    change: str  # added | updated | deleted | undeleted | tombstone

    @property
    def versions_added(self) -> int:
        """How many versions this write adds to the file's history."""
        return len(self.new_versions)


def same_state(local: RecordState, merged: RecordState) -> bool:
    """True if the file already holds ``merged`` (contents, history and clock)."""
    return local.content_key() == merged.content_key()


def plan_write(local: RecordState | None, merged: RecordState) -> Write | None:
    """The write that makes the file hold ``merged``; None if it already does."""
    if local is not None and local.uid == merged.uid and same_state(local, merged):
        return None
    uid = bytes.fromhex(merged.uid)
    ordered = sorted(merged.versions.values(), key=lambda v: (v.at, v.gid))
    if local is None or local.uid != merged.uid:
        numbers = {v.gid: i for i, v in enumerate(ordered, start=1)}
        new = [(numbers[v.gid], v.info, v.encoded) for v in ordered]
        stages: dict[str, int] = {}
        top = len(ordered)
        expected = 0
        drop = () if local is None or local.local is None else (local.local.uid,)
        old_current = None
    else:
        assert local.local is not None
        numbers = dict(local.local.numbers)
        meta = local.local.meta
        top = int(meta.max_version or meta.version)
        new = []
        for ver in ordered:
            if ver.gid not in numbers:
                top += 1
                numbers[ver.gid] = top
                new.append((top, ver.info, ver.encoded))
        stages = dict(meta.stages or {})
        expected = local.local.rev
        drop = ()
        old_current = int(meta.version)
    current = numbers[merged.current]
    if old_current is not None and current != old_current:
        stages["PREVIOUS"] = old_current
    cur = merged.versions[merged.current]
    regs = merged.clock.live_regs()
    last_dev = max(regs).dev if regs else str(cur.info.get("dev") or "")
    extra = dict(merged.extra)
    extra[SYNC_KEY] = merged.clock.dump()
    deleted = merged.deleted
    meta_out = Metadata(
        uid,
        0,
        0,
        deleted,
        type=cur.info.get("t") or type(merged.value).__name__,
        # another copy may hold control characters (written before they were refused):
        # they are stored as visible escapes, never raw
        description=escape_controls(merged.description),
        tags={escape_controls(k): escape_controls(v) for k, v in merged.tags.items()},
        created=merged.created,
        updated=cur.at,
        deleted_at=merged.deleted_ts if deleted else None,
        version=current,
        max_version=max(top, current),
        size=int(cur.info.get("s") or 0),
        stages=stages,
        rotation=merged.rotation,
        extra=extra,
        device=last_dev,
    )
    if local is None:
        change = "tombstone" if deleted else "added"
    elif local.deleted and not deleted:
        change = "undeleted"
    elif deleted and not local.deleted:
        change = "deleted"
    else:
        change = "updated"
    return Write(uid, merged.name, meta_out, new, deleted, expected, drop, numbers, change)


def apply_write(vault: Vault, write: Write) -> None:
    """Perform ``write`` (ConflictError if the record changed since it was read)."""
    sync_write(
        vault,
        write.uid,
        write.name,
        write.meta,
        write.new_versions,
        deleted=write.deleted,
        expected_rev=write.expected_rev,
        drop_uids=write.drop,
    )


def add_version(
    vault: Vault,
    name: str,
    value: object,
    info: dict[str, Any],
    hasher: Any,
    *,
    make_current: bool = True,
) -> tuple[int, int]:
    """Add ``value`` to ``name``'s history with exactly the history entry ``info``.

    Used for values pulled from a provider: the entry names the provider as author and
    source, and equal entries (the same remote version pulled by two homes) get the
    same version id, so merges of those homes keep one copy. ``make_current`` makes it
    the CURRENT value (undeleting the secret); otherwise it only joins the history (a
    conflict's losing side). A version already present is not added twice. Returns
    (version number, record rev). Atomic, with check-and-set against concurrent writes.
    """
    import os as _os

    from core.vault.codec import encode_value, type_of_encoded
    from core.vault.records import utcnow
    from core.vault.sync_access import sync_read

    encoded = encode_value(value)
    info = dict(
        info, t=type_of_encoded(encoded), s=len(encoded) - 1, h=hasher.digest(b"v" + encoded)
    )
    gid = hasher.gid(info)
    with vault.transaction():
        rec = vault.record(name, include_deleted=True)
        if rec is None:
            uid = _os.urandom(16)
            at = float(info.get("at") or utcnow().timestamp())
            meta = Metadata(
                uid,
                0,
                0,
                False,
                type=info["t"],
                description="",
                tags={},
                created=at,
                updated=at,
                deleted_at=None,
                version=1,
                max_version=1,
                size=info["s"],
                stages={},
                rotation={},
                extra={},
                device=info.get("dev") or "",
            )
            after = sync_write(
                vault, uid, name, meta, [(1, info, encoded)], deleted=False, expected_rev=0
            )
            return 1, after.rev
        raw = sync_read(vault, [bytes.fromhex(rec.uid)])[0]
        meta = replace(raw["meta"])  # a copy: the raw record stays as read
        number = next((n for n, i, _ in raw["versions"] if hasher.gid(i) == gid), None)
        new = []
        if number is None:
            number = int(meta.max_version or meta.version) + 1
            meta.max_version = number
            new = [(number, info, encoded)]
        deleted = raw["deleted"]
        if make_current and (number != meta.version or deleted):
            stages = dict(meta.stages or {})
            if not deleted and number != meta.version:
                stages["PREVIOUS"] = meta.version
            meta.version = number
            meta.stages = stages
            meta.updated = info.get("at")
            meta.type = info["t"]
            meta.size = info["s"]
            meta.deleted_at = None
            meta.device = info.get("dev") or meta.device
            deleted = False
        elif not new:
            return number, raw["rev"]
        after = sync_write(
            vault, raw["uid"], name, meta, new, deleted=deleted, expected_rev=raw["rev"]
        )
        return number, after.rev
