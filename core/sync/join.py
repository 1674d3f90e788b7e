"""The merge rule: join two states of one secret, field by field.

For each field (value, each top-level key of a dict value, description, tags, rotation
settings, extra metadata) the register with the later version clock wins (then the
device id): a field changed on one side only wins because its change is later than
the common ancestor's. A field changed on both sides without either side having seen
the other's change is a *conflict*: the later change wins, the other stays in history
(both sides' versions are kept) and is listed for review. A delete against an edit the
deleting home had not seen keeps the edit and is reported.

:func:`join` is a pure function of the two states: commutative, associative and
idempotent on everything a user sees (values, metadata, deletion, the versions in
history). Only the ``local``/``other`` labels of the conflicts it lists depend on the
order of its arguments.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.errors import IntegrityError
from core.sync.clock import DICT, FIELD_NAMES, REMOVED, ZERO, Clock, Hasher, Reg, canonical, seen
from core.sync.state import RecordState, Version
from core.vault.codec import decode_value, encode_value


@dataclass(frozen=True)
class Conflict:
    """A field both sides changed (or a delete against an edit), and who won.

    ``field`` is ``value``, ``value[KEY]`` (a key of a dict value), ``description``,
    ``tags``, ``rotation``, ``extra`` or ``deleted``. ``winner`` is ``local`` or
    ``other``. For value fields ``local_ref``/``other_ref`` are the version ids (both
    versions are in the merged history); for metadata they hold the two contents
    (descriptions and tags are not secret). Times are Unix seconds of each change.
    Never holds a secret value.
    """

    name: str
    uid: str
    field: str
    kind: str
    winner: str
    local_ref: Any
    other_ref: Any
    local_time: float
    other_time: float
    local_device: str
    other_device: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _concurrent(a: RecordState, b: RecordState, ra: Reg, rb: Reg, *, value: bool) -> bool:
    if ra == rb or ra.fp == rb.fp or ZERO in (ra, rb):
        return False
    if seen(a.clock, rb) or seen(b.clock, ra):
        return False
    return not (value and (rb.fp in a.versions or ra.fp in b.versions))


def _conflict(
    a: RecordState, b: RecordState, field: str, ra: Reg, rb: Reg, lref: Any, oref: Any
) -> Conflict:
    return Conflict(
        name=a.name,
        uid=min(a.uid, b.uid),
        field=field,
        kind="both_changed",
        winner="local" if ra > rb else "other",
        local_ref=lref,
        other_ref=oref,
        local_time=ra.stamp / 1e6,
        other_time=rb.stamp / 1e6,
        local_device=ra.dev,
        other_device=rb.dev,
    )


def join(a: RecordState, b: RecordState, hasher: Hasher) -> tuple[RecordState, list[Conflict]]:
    """Merge two states of one secret (same uid, or the same name created twice).

    Returns the merged state (uid: the smaller of the two) and the conflicts, labelled
    from ``a``'s point of view (``a`` is "local").
    """
    clock = Clock.join(a.clock, b.clock)
    versions = dict(b.versions)
    versions.update(a.versions)
    conflicts: list[Conflict] = []

    def pick(f: str, mine: Any, theirs: Any) -> Any:
        ra, rb = a.clock.reg(f), b.clock.reg(f)
        if _concurrent(a, b, ra, rb, value=False):
            conflicts.append(_conflict(a, b, FIELD_NAMES[f], ra, rb, mine, theirs))
        return theirs if rb > ra else mine

    description = pick("d", a.description, b.description)
    tags = pick("g", a.tags, b.tags)
    rotation = pick("r", a.rotation, b.rotation)
    extra = pick("e", a.extra, b.extra)

    root = clock.reg("v")
    ra, rb = a.clock.reg("v"), b.clock.reg("v")
    if root.fp != DICT:
        if _concurrent(a, b, ra, rb, value=True):
            conflicts.append(_conflict(a, b, "value", ra, rb, a.current, b.current))
        ver = versions.get(root.fp)
        if ver is None:
            raise IntegrityError(f"Secret {a.name!r}: a merged version is missing")
        current = ver.gid
        value = a.value if a.current == current else b.value if b.current == current else None
        if value is None:
            value = decode_value(ver.encoded)
    else:
        if ra.fp == DICT and rb.fp == DICT:
            for key in sorted(set(a.clock.keys) | set(b.clock.keys)):
                ka, kb = a.clock.keys.get(key, ZERO), b.clock.keys.get(key, ZERO)
                if _concurrent(a, b, ka, kb, value=False):
                    conflicts.append(_conflict(a, b, f"value[{key}]", ka, kb, a.current, b.current))
        elif ra.fp != rb.fp and _concurrent(a, b, ra, rb, value=True):
            conflicts.append(_conflict(a, b, "value", ra, rb, a.current, b.current))
        current, value, synthetic = _assemble(a, b, clock, hasher)
        if synthetic is not None:
            versions[synthetic.gid] = synthetic

    created_values = [c for c in (a.created, b.created) if c is not None]
    merged = RecordState(
        uid=min(a.uid, b.uid),
        name=a.name,
        description=description,
        tags=tags,
        rotation=rotation,
        extra=extra,
        created=min(created_values) if created_values else None,
        clock=clock,
        current=current,
        versions=versions,
        value=value,
    )
    if a.deleted != b.deleted and not merged.deleted:
        ta, tb = a.clock.xt or ZERO, b.clock.xt or ZERO
        conflicts.append(
            Conflict(
                name=a.name,
                uid=merged.uid,
                field="deleted",
                kind="delete_vs_edit",
                winner="other" if a.deleted else "local",
                local_ref=a.deleted,
                other_ref=b.deleted,
                local_time=ta.stamp / 1e6,
                other_time=tb.stamp / 1e6,
                local_device=ta.dev,
                other_device=tb.dev,
            )
        )
    return merged, conflicts


def _assemble(
    a: RecordState, b: RecordState, clock: Clock, hasher: Hasher
) -> tuple[str, Any, Version | None]:
    """The merged dict value: each key from the side holding its winning register."""
    root = clock.reg("v")
    lead = a if a.clock.reg("v") == root else b
    live = {k: r for k, r in clock.keys.items() if r.fp != REMOVED}
    order = [k for k in lead.value if k in live] if isinstance(lead.value, dict) else []
    order += sorted(k for k in live if k not in set(order))
    out: dict[str, Any] = {}
    for key in order:
        reg = live[key]
        for side in (a, b):
            if (
                isinstance(side.value, dict)
                and key in side.value
                and side.clock.keys.get(key) == reg
            ):
                out[key] = side.value[key]
                break
        else:
            raise IntegrityError(f"Secret {a.name!r}: a merged field's value is missing")
    wanted = canonical(out)
    same = [s for s in (a, b) if isinstance(s.value, dict) and canonical(s.value) == wanted]
    if same:
        best = max(same, key=lambda s: s.current)
        return best.current, best.value, None
    encoded = encode_value(out)
    stamp = max([root.stamp, *(r.stamp for r in live.values())])
    info = {
        "at": stamp / 1e6,
        "who": "vaultui",
        "why": "merged the fields changed on each side",
        "src": "merge",
        "dev": "merge",
        "t": "dict",
        "s": len(encoded) - 1,
        "h": hasher.digest(b"v" + wanted),
    }
    ver = Version(hasher.gid(info), info, encoded)
    return ver.gid, out, ver
