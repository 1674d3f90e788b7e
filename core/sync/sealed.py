"""Sealed sync: the whole vault through any provider, which learns nothing.

Layout in the provider (names are vault names; each provider maps them onto its own
alphabet), with ``P = vaultui-sealed-<first 16 hex of the vault id>``::

    vaultui-sealed-vaults   the ids of the sealed vaults in this provider (public)
    P/head                  format, vault id, the wrapped key slots, and (sealed) the
                            generation of each index shard
    P/i-X                   (sealed) index shard X = first hex digit of the record id:
                            record id -> bundle generation
    P/r-<record id>         (sealed) one record: metadata, every version with its
                            history entry, and its version clock
    <object>-p<hash>-<n>    parts of an object too large for one provider secret

Everything but ``vaultui-sealed-vaults`` and the key slots (the data key wrapped by
the passphrase or key file, exactly as in the vault file) is AES-256-GCM under a
subkey of the vault's data key, bound to the vault id and the object's name, zlib
compressed and padded to 512 bytes: the provider sees record ids, sizes and write
times, never a name, a value or how many versions a secret has. A new machine with
the passphrase (or key file) and the provider settings rebuilds the vault from the
head's key slots (:func:`bootstrap`).

A sync reads the head (one call); only shards whose generation changed are read, only
records whose generation changed are fetched, and only records changed locally since
the last sync (the change sequence) are pushed, each with the provider's check-and-set
on its version; a lost race re-reads, merges (:mod:`core.sync.join`) and retries. The
index is updated after the records, with check-and-set and a max-merge, so a sync
killed at any point is completed by the next one without duplicates or losses.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    SyncError,
    VaultError,
    WrongKeyError,
)
from core.sync.apply import apply_write, plan_write
from core.sync.clock import Hasher
from core.sync.join import Conflict, join
from core.sync.merge import hasher_for
from core.sync.report import ProgressFn, SyncReport, load_json, remote_id, save_json
from core.sync.sealed_store import (
    ABSENT,
    DIRECTORY,
    FORMAT,
    MAX_ATTEMPTS,
    Bundle,
    Head,
    Sealer,
    Store,
    parse_head,
    prefix_for,
    text_of,
)
from core.sync.state import RecordState, derive
from core.vault import Argon2Params, KeySource, Vault
from core.vault.keys import KeySlot, unwrap
from core.vault.sync_access import sync_key_slots, sync_read

log = logging.getLogger(__name__)

__all__ = [
    "FORMAT",
    "Head",
    "Sealer",
    "Store",
    "bootstrap",
    "list_sealed_vaults",
    "prefix_for",
    "sync_sealed",
]

# ---------------------------------------------------------------------- the sync


@dataclass
class _Item:
    uid: str
    remote: Bundle | None = None
    fetched: bool = False
    merged: RecordState | None = None
    push: bool = False
    local_rev: int | None = None
    written: bool = False
    name: str = ""
    conflicts: list[Conflict] = field(default_factory=list)


def cursor_key(remote: str) -> str:
    """Where a remote's cursor is kept in the vault's local state."""
    return f"sync/{remote}"


def _pool(provider: Any) -> int:
    return max(1, min(16, int(getattr(provider, "max_workers", 8) or 8)))


def _map(provider: Any, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    items = list(items)
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(_pool(provider), thread_name_prefix="vaultui-sync") as pool:
        return list(pool.map(fn, items))


def _local_state(vault: Vault, hasher: Hasher, uid: str, name: str | None) -> RecordState | None:
    raws = sync_read(vault, [bytes.fromhex(uid)])
    if not raws and name:
        rec = vault.record(name, include_deleted=True)
        if rec is not None:
            raws = sync_read(vault, [bytes.fromhex(rec.uid)])
    return derive(raws[0], hasher, vault.device_id) if raws else None


def sync_sealed(
    vault: Vault,
    provider: Any,
    *,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
    audit: Any = None,
) -> SyncReport:
    """Two-way sealed sync of ``vault`` with ``provider`` (see the module docs)."""
    started = time.perf_counter()
    rid = remote_id(provider, "sealed")
    report = SyncReport(provider.name, "sealed", rid, dry_run)
    hasher = hasher_for(vault)
    store = Store(provider, vault.vault_id, Sealer(vault.derive_key("sync/sealed"), vault.vault_id))
    cursor = load_json(vault, cursor_key(rid))
    recs: dict[str, list[Any]] = dict(cursor.get("recs", {}))
    seen_shards: dict[str, int] = dict(cursor.get("shards", {}))
    start_seq = vault.seq

    def tick(done: int, total: int, what: str) -> None:
        if progress is not None:
            progress(done, total, what)

    # 1. what changed remotely: the head, then only the shards whose generation moved
    head = store.read_head()
    remote_shards = head.shards if head else {}
    moved = sorted(xx for xx, gen in remote_shards.items() if seen_shards.get(xx) != gen)
    shards = dict(zip(moved, _map(provider, store.read_shard, moved), strict=True))
    remote_changed: dict[str, int] = {}
    for shard in shards.values():
        for uid, bgen in shard.entries.items():
            if (recs.get(uid) or [0])[0] != bgen:
                remote_changed[uid] = bgen
    # 2. what changed here since the last sync (our own writes are recognised by rev)
    local_changed: dict[str, str] = {}
    for rec in vault.changes_since(int(cursor.get("seq", 0))):
        entry = recs.get(rec.uid)
        if entry is None or entry[2] != rec.rev:
            local_changed[rec.uid] = rec.name
    report.pending_remote = len(remote_changed)
    report.pending_local = len(local_changed)
    items = {
        uid: _Item(uid, name=local_changed.get(uid, ""))
        for uid in {*remote_changed, *local_changed}
    }
    total = len(items)
    tick(0, total, "compare")

    # 3. fetch the records that changed remotely
    def fetch(item: _Item) -> None:
        item.remote = store.read_record(item.uid, hasher)
        item.fetched = True

    _map(provider, fetch, [items[u] for u in remote_changed])
    report.values_read += len(remote_changed)

    # 4. merge into this vault (in batched transactions), decide what to push
    def merge(batch: list[_Item]) -> None:
        ctx = vault.transaction() if not dry_run else _null()
        with ctx:
            for item in batch:
                _merge_one(vault, hasher, item, dry_run, report)

    ordered = sorted(items.values(), key=lambda i: i.uid)
    for i in range(0, len(ordered), 200):
        merge(ordered[i : i + 200])
        tick(min(i + 200, total), total, "merge")

    # 5. push, each with check-and-set; a lost race re-reads, re-merges and retries
    shard_updates: dict[str, dict[str, int]] = {}
    pushes = [it for it in ordered if it.push]

    def push(item: _Item) -> None:
        for _attempt in range(MAX_ATTEMPTS):
            assert item.merged is not None
            base = item.remote.bgen if item.remote else (recs.get(item.uid) or [0])[0]
            if item.remote is not None:
                expected = item.remote.version
            elif item.uid in recs and not item.fetched:
                expected = recs[item.uid][1]
            else:
                expected = ABSENT
            bgen = int(base) + 1
            try:
                version, parts = store.write_record(item.merged, bgen, expected)
            except ConflictError:
                item.remote = store.read_record(item.uid, hasher)
                item.fetched = True
                with vault.transaction():
                    _merge_one(vault, hasher, item, False, report)
                if not item.push:
                    return
                continue
            old = item.remote.parts if item.remote else _parts(recs.get(item.uid))
            if old and old != parts:
                store.drop_parts(store.record_name(item.uid), old)
            item.remote = Bundle(item.merged, bgen, version, parts)
            item.written = True
            return
        raise SyncError(f"Secret {item.name!r} kept changing remotely; try again")

    if not dry_run:

        def push_safe(item: _Item) -> None:
            try:
                push(item)
            except VaultError as exc:
                report.failed[item.name or item.uid] = exc.message

        _map(provider, push_safe, pushes)
        tick(total, total, "push")
    for item in pushes:
        if item.written or (dry_run and item.push):
            report.pushed.append(item.name or item.uid)

    # 6. the index: shards, then the head (max-merge, check-and-set)
    for item in ordered:
        if item.remote is not None and (item.name or item.uid) not in report.failed:
            xx = item.uid[:1]
            known = shards.get(xx)
            if known is None or known.entries.get(item.uid, 0) < item.remote.bgen:
                shard_updates.setdefault(xx, {})[item.uid] = item.remote.bgen
    new_seen = dict(seen_shards)
    for xx, shard in shards.items():
        new_seen[xx] = shard.gen
    my_slots = sync_key_slots(vault)
    before = [_slot_tuple(x) for x in cursor.get("slots", [])]
    slots_ok = head is not None and all(x in head.slots for x in my_slots)
    gone = [x for x in before if x not in my_slots]
    if not dry_run:
        if shard_updates or not slots_ok or gone:
            if head is None:
                store.register()

            def write(xx: str) -> tuple[str, int, bool]:
                known = shards[xx].gen if xx in shards else seen_shards.get(xx, 0)
                if xx not in shards and seen_shards.get(xx, 0) != remote_shards.get(xx, 0):
                    known = -1  # never seen: whatever is there is news to us
                return (xx, *store.write_shard(xx, shard_updates[xx], known))

            gens = {}
            for xx, gen, clean in _map(provider, write, sorted(shard_updates)):
                gens[xx] = gen
                if clean:
                    new_seen[xx] = gen
                else:
                    new_seen.pop(xx, None)  # others wrote too: read it again next time
            store.write_head(my_slots, gone, gens)
        # 7. remember where we are
        for item in ordered:
            if (item.name or item.uid) in report.failed:
                continue
            if item.remote is not None:
                recs[item.uid] = [
                    item.remote.bgen,
                    item.remote.version,
                    item.local_rev,
                    list(item.remote.parts) if item.remote.parts else None,
                ]
        failed = bool(report.failed)
        new_cursor = {
            "seq": int(cursor.get("seq", 0)) if failed else start_seq,
            "shards": new_seen,
            "recs": recs,
            "slots": [[k, p, base64.b64encode(w).decode()] for k, p, w in my_slots],
        }
        if new_cursor != cursor:
            save_json(vault, cursor_key(rid), new_cursor)
        if audit is not None:
            _audit(audit, report, provider.name)
    report.remote_calls = store.calls
    report.seconds = time.perf_counter() - started
    return report


def _slot_tuple(item: list[Any]) -> tuple[str, str, bytes]:
    return (str(item[0]), str(item[1]), base64.b64decode(item[2]))


def _parts(entry: list[Any] | None) -> tuple[str, int] | None:
    if entry and len(entry) > 3 and entry[3]:
        return (str(entry[3][0]), int(entry[3][1]))
    return None


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _merge_one(
    vault: Vault, hasher: Hasher, item: _Item, dry_run: bool, report: SyncReport
) -> None:
    """Join the fetched remote state (if any) with the local record; write locally."""
    remote = item.remote.state if item.remote else None
    local = _local_state(vault, hasher, item.uid, remote.name if remote else item.name)
    if local is None and remote is None:
        item.push = False
        return
    if local is None:
        merged, conflicts = remote, []
    elif remote is None:
        merged, conflicts = local, []
    else:
        merged, conflicts = join(local, remote, hasher)
    assert merged is not None
    item.name = merged.name
    item.merged = merged
    item.conflicts = conflicts
    report.conflicts.extend(c for c in conflicts if c not in report.conflicts)
    write = plan_write(local, merged)
    if write is not None:
        if write.change in ("added", "updated", "undeleted") and merged.name not in report.pulled:
            report.pulled.append(merged.name)
        if write.change == "deleted":
            report.deleted_here.append(merged.name)
        if not dry_run:
            apply_write(vault, write)
            if conflicts:
                from core.sync.conflicts import record_conflicts

                record_conflicts(
                    vault, conflicts, {merged.uid: write.numbers}, f"sealed:{report.provider}"
                )
    if not dry_run:
        after = vault.record(merged.name, include_deleted=True)
        item.local_rev = after.rev if after is not None else None
    item.push = remote is None or merged.content_key() != remote.content_key()
    if item.push and merged.uid != item.uid:
        item.uid = merged.uid


def _audit(audit: Any, report: SyncReport, provider: str) -> None:
    events = [
        {
            "operation": "sync_pull",
            "secret_name": n,
            "source": f"provider:{provider}",
            "mode": "sealed",
        }
        for n in report.pulled
    ] + [
        {
            "operation": "sync_push",
            "secret_name": n,
            "source": f"provider:{provider}",
            "mode": "sealed",
        }
        for n in report.pushed
    ]
    try:
        if events:
            audit.log_many(events)
    except VaultError:
        log.warning("could not write the sync events to the audit log")


# ---------------------------------------------------------------------- a new machine


def list_sealed_vaults(provider: Any) -> list[str]:
    """Ids (hex) of the sealed vaults stored in ``provider``."""
    got = provider.get(DIRECTORY)
    if got is None:
        return []
    try:
        return [str(v) for v in json.loads(text_of(got.value)).get("vaults", [])]
    except (ValueError, AttributeError):
        raise IntegrityError("The provider's sealed-vault directory is malformed") from None


def bootstrap(
    provider: Any,
    path: Path | str,
    key_source: KeySource,
    *,
    vault_id: str | None = None,
    kdf: Argon2Params | None = None,
) -> Vault:
    """Create the vault file at ``path`` from a sealed copy in ``provider``.

    The data key is unwrapped from the head's key slots with ``key_source`` (the same
    passphrase or key file as on the other machines); the new file gets one slot for
    ``key_source``. Follow with :func:`sync_sealed` to pull every record. Raises
    NotFoundError when the provider holds no sealed vault, WrongKeyError when the key
    opens none of them.
    """
    ids = [vault_id] if vault_id else list_sealed_vaults(provider)
    if not ids:
        raise NotFoundError(
            "The provider holds no sealed vault",
            hint="run `vaultui --batch sync --provider NAME --sealed` on a machine that has it",
        )
    for vid in ids:
        got = provider.get(f"{prefix_for(vid)}/head")
        if got is None:
            continue
        head = parse_head(text_of(got.value), bytes.fromhex(vid))
        slots = [KeySlot(i, k, json.loads(p), w) for i, (k, p, w) in enumerate(head.slots)]
        try:
            data_key = unwrap(bytes.fromhex(vid), slots, key_source)
        except WrongKeyError:
            continue
        return Vault.create(
            path, key_source, kdf=kdf, vault_id=bytes.fromhex(vid), data_key=data_key
        )
    raise WrongKeyError("The passphrase or key opens none of the sealed vaults in the provider")
