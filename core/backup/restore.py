"""Restoring: rebuild the state a backup chain describes and bring the vault to it.

Semantics (the seed's, made precise):

- every secret that was live in the backup gets its backed-up value, description, tags
  and rotation settings back, as a NEW version (history is kept, so a restore can be
  undone with rollback or another restore);
- secrets deleted since come back; secrets unchanged since are not touched;
- secrets created after the backup (or re-created after being deleted in it) are left
  alone, unless ``exact=True``: then they are deleted (tombstoned, undoable), giving
  exactly the live set of that moment;
- it all happens in one vault transaction: all of it or none of it, even after
  ``kill -9``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.backup import vault_io
from core.backup.body import Body, RecordDump, parse_json_many
from core.errors import BackupIntegrityError, IntegrityError, ValidationError
from core.vault import Vault
from core.vault.bulk import CurrentRow, put_encoded, read_current
from core.vault.gcpause import paused_gc
from core.vault.metadata import (
    META_DESCRIPTION,
    META_EXTRA,
    META_NAME,
    META_ROTATION,
    META_STAGES,
    META_TAGS,
    META_VERSION,
)

Progress = Callable[[str, int, int], None]


def _parse_meta(blob: bytes) -> list[Any]:
    try:
        return vault_io.check_meta(json.loads(blob))
    except (ValueError, IntegrityError):
        raise BackupIntegrityError(
            "Backup integrity check failed: a record's metadata is malformed"
        ) from None


def _name_of(blob: bytes) -> str:
    """The name in a metadata array without parsing the rest: names never need JSON
    escapes (see core.vault.names), so it is the text between the first two quotes."""
    if blob[:2] == b'["':
        end = blob.find(b'"', 2)
        if end > 2 and b"\\" not in blob[2:end]:
            return blob[2:end].decode()
    return str(_parse_meta(blob)[META_NAME])


class Entry:
    """A record of the state to restore: the dump, its name, and its metadata (parsed
    on first use: a restore of 100,000 unchanged secrets never parses them)."""

    __slots__ = ("_meta", "_value", "dump", "name")

    def __init__(self, dump: RecordDump) -> None:
        self.dump = dump
        self.name: str = _name_of(dump.meta)
        self._meta: list[Any] | None = None
        self._value: bytes | None = None

    @property
    def meta(self) -> list[Any]:
        """The metadata array (vault_io.META_KEYS order)."""
        if self._meta is None:
            self._meta = _parse_meta(self.dump.meta)
            if self._meta[META_NAME] != self.name:
                raise BackupIntegrityError(
                    "Backup integrity check failed: a record's metadata is malformed"
                )
        return self._meta

    def current_value(self) -> bytes:
        """The encoded CURRENT value as backed up."""
        if self._value is None:
            wanted = self.meta[META_VERSION]
            for v in self.dump.versions:
                if v.version == wanted:
                    self._value = v.value
                    break
            else:
                raise BackupIntegrityError(
                    f"Backup integrity check failed: the current value of {self.name!r} is missing"
                )
        return self._value


@dataclass
class Action:
    """One write the restore will make."""

    name: str
    kind: str  # 'put' | 'meta' | 'undelete'
    entry: Entry
    fields: dict[str, Any] = field(default_factory=dict)  # metadata to set
    new_record: bool = False
    # the record it overwrites as the plan read it, with its parsed metadata
    current: tuple[CurrentRow, list[Any]] | None = field(default=None, repr=False)


@dataclass
class Plan:
    """What a restore changes; ``dry_run`` reports it, a real restore applies it."""

    added: list[Action] = field(default_factory=list)
    changed: list[Action] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Counts and sorted names of every category."""
        out: dict[str, Any] = {
            "added": sorted(a.name for a in self.added),
            "changed": sorted(a.name for a in self.changed),
            "deleted": sorted(self.deleted),
            "unchanged": sorted(self.unchanged),
            "kept": sorted(self.kept),
        }
        out["counts"] = {k: len(v) for k, v in out.items()}
        return out


def build_state(bodies: list[Body], name: str) -> list[Entry]:
    """Apply a chain's bodies (full first) into the state at its last backup."""
    state: dict[bytes, RecordDump] = {}
    for body in bodies:
        for uid, _seq in body.purged:
            state.pop(uid, None)
        for rec in body.records:
            state[rec.uid] = rec
    try:
        entries = [Entry(d) for d in state.values()]
    except (UnicodeDecodeError, BackupIntegrityError):
        raise BackupIntegrityError(
            f"Backup integrity check failed: {name}: a record's metadata is malformed"
        ) from None
    seen: dict[str, Entry] = {}
    for e in entries:
        other = seen.get(e.name)
        # one name, one record at a time; keep the live / newest one if a chain disagrees
        if other is None or (other.dump.deleted, -other.dump.seq) > (e.dump.deleted, -e.dump.seq):
            seen[e.name] = e
    return sorted(seen.values(), key=lambda e: e.name)


def _prime(entries: list[Entry]) -> None:
    """Parse the metadata of many entries at once."""
    todo = [e for e in entries if e._meta is None]
    try:
        metas = parse_json_many([e.dump.meta for e in todo])
    except ValueError:
        return  # each entry's own parse reports the damaged one
    if len(metas) != len(todo):
        return
    for e, m in zip(todo, metas, strict=True):
        if isinstance(m, list) and len(m) == len(vault_io.META_KEYS) and m[META_NAME] == e.name:
            e._meta = m


def _norm(value: Any) -> Any:
    return value or {}


def _meta_diff(want: list[Any], have: list[Any] | None) -> dict[str, Any]:
    """The description/tags/rotation fields to set so ``have`` matches ``want``."""
    out: dict[str, Any] = {}
    if have is None or (want[META_DESCRIPTION] or "") != (have[META_DESCRIPTION] or ""):
        out["description"] = want[META_DESCRIPTION] or ""
    if have is None or _norm(want[META_TAGS]) != _norm(have[META_TAGS]):
        out["tags"] = dict(_norm(want[META_TAGS]))
    if have is None or _norm(want[META_ROTATION]) != _norm(have[META_ROTATION]):
        out["rotation"] = dict(_norm(want[META_ROTATION]))
    return out


def plan_restore(vault: Vault, entries: list[Entry], *, exact: bool) -> Plan:
    """Compare the backed-up state with the vault now; nothing is written."""
    plan = Plan()
    now = read_current(vault)
    by_uid = {c.uid: c for c in now}
    wanted_uids = {e.dump.uid for e in entries}
    others = [c for c in now if c.uid not in wanted_uids]
    other_metas = parse_json_many([c.meta for c in others])
    by_name: dict[str, tuple[CurrentRow, list[Any]]] = {
        m[META_NAME]: (c, m) for c, m in zip(others, other_metas, strict=True)
    }
    pairs: list[tuple[Entry, CurrentRow, list[Any] | None]] = []
    for e in entries:
        c = by_uid.get(e.dump.uid)
        cm: list[Any] | None = None
        if c is None and e.name in by_name:
            c, cm = by_name.pop(e.name)
        if e.dump.deleted:
            if c is not None and not c.deleted:
                (plan.deleted if exact else plan.kept).append(e.name)
            continue
        if c is None:
            plan.added.append(Action(e.name, "put", e, _meta_diff(e.meta, None), new_record=True))
            continue
        if c.uid == e.dump.uid and c.meta == e.dump.meta and not c.deleted:
            plan.unchanged.append(e.name)
            continue
        pairs.append((e, c, cm))
    # parse what differs in two bulk calls rather than one call per secret
    _prime([e for e, _c, _cm in pairs])
    parsed = iter(parse_json_many([c.meta for _e, c, cm in pairs if cm is None]))
    compare = [(e, c, cm if cm is not None else next(parsed)) for e, c, cm in pairs]
    # values differ unless the same record still has the same version (versions are
    # immutable) -- otherwise compare the bytes
    need = [
        (c.uid, cm[META_VERSION])
        for e, c, cm in compare
        if not (c.uid == e.dump.uid and cm[META_VERSION] == e.meta[META_VERSION])
    ]
    fetched = vault.encoded_values(need)
    for e, c, cm in compare:
        same_value = (
            c.uid == e.dump.uid and cm[META_VERSION] == e.meta[META_VERSION]
        ) or fetched.get((c.uid, cm[META_VERSION])) == e.current_value()
        fields = _meta_diff(e.meta, cm)
        if c.deleted:
            kind = "undelete" if same_value and c.uid == e.dump.uid else "put"
            plan.added.append(Action(e.name, kind, e, fields, current=(c, cm)))
        elif not same_value:
            plan.changed.append(Action(e.name, "put", e, fields, current=(c, cm)))
        elif fields:
            plan.changed.append(Action(e.name, "meta", e, fields))
        else:
            plan.unchanged.append(e.name)
    for name, (c, _m) in by_name.items():
        if not c.deleted:
            (plan.deleted if exact else plan.kept).append(name)
    return plan


class _Puts:
    """New versions, written in batches of ``(name, encoded value, options)`` through
    :func:`put_encoded`: exactly a ``put`` per item, without decoding each value and
    with the records the plan read handed over."""

    def __init__(self, vault: Vault, size: int = 2000) -> None:
        self.vault = vault
        self.size = size
        self.batch: list[tuple[str, Any, dict[str, Any]]] = []
        self.current: dict[str, tuple[CurrentRow, list[Any]]] = {}

    def add(
        self,
        name: str,
        value: Any,
        options: dict[str, Any],
        current: tuple[CurrentRow, list[Any]] | None = None,
    ) -> None:
        """Put ``value`` under ``name`` with the next batch (``current``: the record
        it overwrites, as read in this transaction)."""
        self.batch.append((name, value, options))
        if current is not None:
            self.current[name] = current
        if len(self.batch) >= self.size:
            self.flush()

    def flush(self) -> None:
        """Write the pending batch."""
        if self.batch:
            put_encoded(self.vault, self.batch, self.current)
        self.batch = []
        self.current = {}


def apply_plan(
    vault: Vault,
    plan: Plan,
    *,
    who: str | None,
    why: str,
    progress: Progress | None = None,
) -> None:
    """Write the plan. The caller holds ``vault.transaction()`` (all or nothing)."""
    actions = plan.added + plan.changed
    total = len(actions) + len(plan.deleted)
    done = 0
    puts = _Puts(vault)
    for action in actions:
        e = action.entry
        if action.kind == "put":
            options = dict(action.fields, who=who, why=why, source="backup")
            if action.new_record and e.meta[META_EXTRA]:
                options["extra"] = e.meta[META_EXTRA]
            puts.add(action.name, e.current_value(), options, action.current)
        elif action.kind == "undelete":
            vault.undelete(action.name)
            if action.fields:
                vault.update_meta(action.name, **action.fields)
        else:
            vault.update_meta(action.name, **action.fields)
        done += 1
        if progress is not None and (done % 200 == 0 or done == total):
            puts.flush()
            progress("writing", done, total)
    puts.flush()
    for name in plan.deleted:
        vault.delete(name, who=who, why=why)
        done += 1
        if progress is not None and (done % 200 == 0 or done == total):
            progress("writing", done, total)


def load_into_new(
    vault: Vault, entries: list[Entry], *, progress: Progress | None = None, size: int = 5000
) -> list[str]:
    """Recreate every record with its history in a vault that holds no record yet
    (disaster recovery into a new file).

    Versions are put oldest first with their original time, author and reason, CURRENT
    last; a PENDING version (an unfinished rotation) is left out; tombstones are deleted
    again. Written with :func:`put_encoded` for names known to be new (no lookups) and
    values left encoded: the same file as a ``put`` per version (a test replays the same
    state through ``Vault.put_many`` and compares). ValidationError (nothing written) if
    the vault was ever written to. Returns the names of the live secrets restored."""
    if vault.seq != 0:
        raise ValidationError("Disaster recovery loads a new, empty vault only")
    with paused_gc():  # 100,000s of small objects, none of them cyclic garbage
        return _load(vault, entries, progress, size)


def _load(vault: Vault, entries: list[Entry], progress: Progress | None, size: int) -> list[str]:
    restored: list[str] = []
    tombstones: list[str] = []
    total = len(entries)
    _prime(entries)
    infos = iter(parse_json_many([v.info for e in entries for v in e.dump.versions]))
    from_ts = datetime.fromtimestamp
    batch: list[tuple[str, bytes, dict[str, Any]]] = []
    for i, e in enumerate(entries, 1):
        meta = e.meta
        pending = (meta[META_STAGES] or {}).get("PENDING")
        mine = [(v, next(infos)) for v in e.dump.versions]
        if len(mine) > 1:  # CURRENT last
            mine.sort(key=lambda p: (p[0].version == meta[META_VERSION], p[0].version))
        description, tags = meta[META_DESCRIPTION] or "", _norm(meta[META_TAGS])
        rotation, extra = _norm(meta[META_ROTATION]), _norm(meta[META_EXTRA])
        for v, info in mine:
            if v.version == pending:  # an unfinished rotation is left out
                continue
            at = info.get("at")
            options = {
                "description": description,
                "tags": tags,
                "rotation": rotation,
                "extra": extra,
                "who": info.get("who") or None,
                "why": info.get("why") or None,
                "source": info.get("src") or None,
                "at": from_ts(at, UTC) if isinstance(at, int | float) else None,
            }
            batch.append((e.name, v.value, options))
        (tombstones if e.dump.deleted else restored).append(e.name)
        if len(batch) >= size or i == total:
            put_encoded(vault, batch, new_names=True)  # build_state gave each name once
            batch = []
            if progress is not None:
                progress("writing", i, total)
    for name in tombstones:
        vault.delete(name)
    return restored
