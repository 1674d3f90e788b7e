"""A record as merge sees it: contents, versions by global id, and its clock.

:func:`derive` turns a raw record read from a vault file (or a sealed bundle) into a
:class:`RecordState` whose clock matches its contents. Changes that ordinary writes made
since the clock was last stored are stamped here, deterministically from the record's
own data, so two homes deriving the same record get the same clock:

- a new value gets ``max(time of its version, clock + 1)`` and the version's device;
- a metadata change (description, tags, rotation, extra) gets ``clock + 1`` and the
  device of the home that holds the record (metadata writes carry no time of their
  own: between concurrent metadata edits the version clock, then the device id,
  decides);
- a delete or undelete gets the record's delete/undelete time and device.

A record that never had a clock (a vault that was never synced) is derived from its
history: each version is a change at its own time by its own device, and each top-level
key of a dict value is stamped with the version that last changed it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from core.errors import IntegrityError
from core.sync.clock import DICT, REMOVED, SYNC_KEY, Clock, Hasher, Reg, canonical
from core.vault.codec import SecretValue, decode_value
from core.vault.metadata import Metadata


@dataclass
class Version:
    """One version of a value: its history entry (as written by its author) and value."""

    gid: str
    info: dict[str, Any]
    encoded: bytes = field(repr=False)

    @property
    def at(self) -> float:
        """When it was written (Unix seconds)."""
        return float(self.info.get("at") or 0.0)

    @property
    def synthetic(self) -> bool:
        """True for a value that a merge assembled from both sides' dict keys."""
        return self.info.get("src") == "merge"


@dataclass
class Local:
    """Where a record state came from in a vault file (absent for remote states)."""

    uid: bytes
    rev: int
    meta: Metadata
    numbers: dict[str, int]  # gid -> version number in this file
    pending: int | None
    stored_clock: dict[str, Any] | None


@dataclass
class RecordState:
    """Everything merge needs about one secret (never shows its value in ``repr``)."""

    uid: str
    name: str
    description: str
    tags: dict[str, str]
    rotation: dict[str, Any]
    extra: dict[str, Any]
    created: float | None
    clock: Clock
    current: str
    versions: dict[str, Version] = field(repr=False)
    value: SecretValue = field(repr=False)
    local: Local | None = field(default=None, repr=False)

    @property
    def deleted(self) -> bool:
        """Deleted, as the clock says (see :class:`core.sync.clock.Clock`)."""
        return self.clock.deleted

    @property
    def deleted_ts(self) -> float | None:
        """Time of the latest delete (Unix seconds) if deleted."""
        if not self.deleted or self.clock.xt is None:
            return None
        return self.clock.xt.stamp / 1e6

    def content_key(self) -> tuple[Any, ...]:
        """What two equal states share (contents, versions, clock; not local numbers)."""
        return (
            self.uid,
            self.name,
            self.description,
            canonical(self.tags),
            canonical(self.rotation),
            canonical(self.extra),
            self.created,
            self.current,
            frozenset(self.versions),
            canonical(self.clock.dump()),
        )


def _us(seconds: float | None) -> int:
    return round(float(seconds or 0.0) * 1e6)


def derive(raw: dict[str, Any], hasher: Hasher, device: str) -> RecordState:
    """The state of a raw record from ``core.vault.sync_access.sync_read``.

    ``device`` is the id of the home holding the record: the author of metadata changes
    made since its clock was stored.
    """
    meta: Metadata = raw["meta"]
    stages = meta.stages or {}
    pending = stages.get("PENDING")
    numbers: dict[str, int] = {}
    versions: dict[str, Version] = {}
    order: list[Version] = []
    by_number: dict[int, Version] = {}
    for number, info, encoded in raw["versions"]:
        if number == pending:
            continue
        gid = hasher.gid(info)
        ver = Version(gid, info, encoded)
        by_number[number] = ver
        if gid not in versions:
            versions[gid] = ver
            numbers[gid] = number
            order.append(ver)
    cur = by_number.get(int(meta.version))
    if cur is None:
        raise IntegrityError(f"Secret {raw['name']!r}: its current version is missing")
    value = decode_value(cur.encoded)
    extra = dict(meta.extra or {})
    stored = extra.pop(SYNC_KEY, None)
    clock = Clock.load(stored)
    content: dict[str, Any] = {
        "d": meta.description or "",
        "g": meta.tags or {},
        "r": meta.rotation or {},
        "e": extra,
    }
    author = meta.device or device
    if clock is None:
        clock = _initial_clock(raw, meta, order, cur, hasher, content, author, device)
    else:
        _stamp_changes(clock, cur, value, hasher, content, device)
    flag = bool(raw["deleted"])
    if flag and not clock.deleted:
        clock.mark_deleted(_us(meta.deleted_at), author)
    elif not flag and clock.deleted:
        clock.mark_undeleted(_us(meta.updated), author)
    return RecordState(
        uid=raw["uid"].hex(),
        name=raw["name"],
        description=content["d"],
        tags=dict(content["g"]),
        rotation=dict(content["r"]),
        extra=extra,
        created=meta.created,
        clock=clock,
        current=cur.gid,
        versions=versions,
        value=value,
        local=Local(raw["uid"], raw["rev"], meta, numbers, pending, stored),
    )


def _value_change(clock: Clock, ver: Version, value: SecretValue, hasher: Hasher) -> None:
    """Stamp the registers that ``ver`` (with decoded ``value``) changed, if any."""
    dev = str(ver.info.get("dev") or "")
    root = clock.reg("v")
    if isinstance(value, dict):
        fps = {k: hasher.fp(v) for k, v in value.items()}
        if root.fp != DICT:
            stamp = clock.tick(_us(ver.at), dev)
            clock.regs["v"] = Reg(stamp, dev, DICT)
            clock.keys = {k: Reg(stamp, dev, f) for k, f in fps.items()}
            return
        changed = [k for k, f in fps.items() if clock.keys.get(k, Reg(0, "", "")).fp != f]
        removed = [k for k, r in clock.keys.items() if r.fp != REMOVED and k not in fps]
        if changed or removed:
            stamp = clock.tick(_us(ver.at), dev)
            for k in changed:
                clock.keys[k] = Reg(stamp, dev, fps[k])
            for k in removed:
                clock.keys[k] = Reg(stamp, dev, REMOVED)
        return
    if root.fp != ver.gid:
        clock.regs["v"] = Reg(clock.tick(_us(ver.at), dev), dev, ver.gid)
        clock.keys = {}


def _stamp_changes(
    clock: Clock,
    cur: Version,
    value: SecretValue,
    hasher: Hasher,
    content: dict[str, Any],
    device: str,
) -> None:
    _value_change(clock, cur, value, hasher)
    for f, data in content.items():
        fp = hasher.fp(data)
        if clock.reg(f).fp != fp:
            clock.regs[f] = Reg(clock.tick(0, device), device, fp)


def _initial_clock(
    raw: dict[str, Any],
    meta: Metadata,
    order: list[Version],
    cur: Version,
    hasher: Hasher,
    content: dict[str, Any],
    author: str,
    holder: str,
) -> Clock:
    clock = Clock()
    for ver in [v for v in order if v.gid != cur.gid] + [cur]:
        kind = ver.info.get("t")
        value = decode_value(ver.encoded) if (kind == DICT or ver is cur) else None
        if value is None:
            clock.regs["v"] = Reg(
                clock.tick(_us(ver.at), str(ver.info.get("dev") or "")),
                str(ver.info.get("dev") or ""),
                ver.gid,
            )
            clock.keys = {}
        else:
            _value_change(clock, ver, value, hasher)
    # Metadata writes carry no time: count them (revisions that wrote no version), so a
    # copy that changed metadata since the two copies parted is ahead of one that did not.
    # With none, the metadata is as the first version's author stored it; with some,
    # they are attributed to the home holding this copy (so two copies that both
    # changed metadata are seen as concurrent and reported, not silently ordered).
    meta_writes = max(0, int(raw["rev"]) - len(raw["versions"]))
    base = _us(meta.created) + meta_writes
    author = str(order[0].info.get("dev") or author) if meta_writes == 0 and order else holder
    for f, data in content.items():
        clock.regs[f] = Reg(base, author, hasher.fp(data))
        if base > clock.vv.get(author, 0):
            clock.vv[author] = base
    return clock


# ---------------------------------------------------------------------- portable form


def to_portable(state: RecordState) -> dict[str, Any]:
    """A JSON-like form of a state (sealed sync bundles); values base64-encoded."""
    return {
        "uid": state.uid,
        "name": state.name,
        "d": state.description,
        "g": state.tags,
        "r": state.rotation,
        "e": state.extra,
        "c": state.created,
        "clock": state.clock.dump(),
        "cur": state.current,
        "ver": [
            [v.info, base64.b64encode(v.encoded).decode("ascii")]
            for v in sorted(state.versions.values(), key=lambda v: (v.at, v.gid))
        ],
    }


def from_portable(data: dict[str, Any], hasher: Hasher) -> RecordState:
    """Parse :func:`to_portable` output; IntegrityError if it is inconsistent."""
    try:
        versions: dict[str, Version] = {}
        for info, b64 in data["ver"]:
            ver = Version(hasher.gid(info), dict(info), base64.b64decode(b64))
            versions[ver.gid] = ver
        clock = Clock.load(data["clock"])
        cur = versions[data["cur"]]
        if clock is None:
            raise ValueError("clock")
        return RecordState(
            uid=str(data["uid"]),
            name=str(data["name"]),
            description=str(data["d"]),
            tags=dict(data["g"]),
            rotation=dict(data["r"]),
            extra=dict(data["e"]),
            created=data.get("c"),
            clock=clock,
            current=cur.gid,
            versions=versions,
            value=decode_value(cur.encoded),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"A synced record is malformed ({type(exc).__name__})") from None
