"""One sealed sync: merge the vault with its sealed copy in a provider, both ways.

A sync reads the head (one call); only shards whose generation changed are read, only
records whose generation changed are fetched, and only records changed locally since
the last sync (the change sequence) are pushed, each with the provider's check-and-set
on its version; a lost race re-reads, merges (:mod:`core.sync.join`) and retries. The
index is updated after the records, with check-and-set and a max-merge, so a sync
killed at any point is completed by the next one without duplicates or losses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import ConflictError, SyncError, VaultError
from core.sync.apply import apply_write, plan_write
from core.sync.clock import Hasher
from core.sync.cursors import RecordCursor, SealedCursor
from core.sync.join import Conflict, join
from core.sync.report import ProgressFn, SyncReport, load_json, save_json
from core.sync.sealed.layout import ABSENT, Bundle, Head, ObjectCipher, Shard, Store
from core.sync.skeleton import CHECKPOINT, ProviderSync
from core.sync.state import RecordState, derive
from core.vault import Vault
from core.vault.sync_access import sync_key_slots, sync_read

MAX_ATTEMPTS = 6


@dataclass
class _Item:
    """One record this sync handles: what was fetched, merged and written."""

    uid: str
    remote: Bundle | None = None
    fetched: bool = False
    merged: RecordState | None = None
    push: bool = False
    local_rev: int | None = None
    written: bool = False
    name: str = ""
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How the report names it (the name when known, else the record id)."""
        return self.name or self.uid


def _local_state(vault: Vault, hasher: Hasher, uid: str, name: str | None) -> RecordState | None:
    raws = sync_read(vault, [bytes.fromhex(uid)])
    if not raws and name:
        rec = vault.record(name, include_deleted=True)
        if rec is not None:
            raws = sync_read(vault, [bytes.fromhex(rec.uid)])
    return derive(raws[0], hasher, vault.device_id) if raws else None


class SealedSync(ProviderSync):
    """Sealed two-way sync (see :mod:`core.sync.sealed`); ``run()`` returns the report."""

    mode = "sealed"

    def __init__(
        self,
        vault: Vault,
        provider: Any,
        *,
        dry_run: bool = False,
        progress: ProgressFn | None = None,
        audit: Any = None,
    ) -> None:
        super().__init__(vault, provider, dry_run=dry_run, progress=progress, audit=audit)
        cipher = ObjectCipher(vault.derive_key("sync/sealed"), vault.vault_id)
        self.store = Store(provider, vault.vault_id, cipher)
        self.saved: dict[str, Any] = {}
        self.cursor = SealedCursor()
        self.head: Head | None = None
        self.remote_shards: dict[str, int] = {}
        self.shards: dict[str, Shard] = {}
        self.remote_changed: dict[str, int] = {}
        self.items: dict[str, _Item] = {}
        self.ordered: list[_Item] = []
        self.new_seen: dict[str, int] = {}

    @property
    def recs(self) -> dict[str, RecordCursor]:
        """Per record id, what the last sync saw remotely (updated as this one goes)."""
        return self.cursor.recs

    # -- 1. the cursor

    def load_state(self) -> None:
        self.saved = load_json(self.vault, self.cursor_key)
        self.cursor = SealedCursor.from_json(self.saved)

    # -- 2. the head, then only the shards whose generation moved; the local changes

    def list_changes(self) -> None:
        seen_shards = self.cursor.shards
        self.head = self.store.read_head()
        self.remote_shards = self.head.shards if self.head else {}
        moved = sorted(xx for xx, gen in self.remote_shards.items() if seen_shards.get(xx) != gen)
        self.shards = dict(zip(moved, self.map(self.store.read_shard, moved), strict=True))
        for shard in self.shards.values():
            for uid, bgen in shard.entries.items():
                known = self.recs.get(uid)
                if (known.bgen if known else 0) != bgen:
                    self.remote_changed[uid] = bgen
        # our own writes are recognised by the revision they left
        local_changed: dict[str, str] = {}
        for rec in self.vault.changes_since(self.cursor.seq):
            entry = self.recs.get(rec.uid)
            if entry is None or entry.rev != rec.rev:
                local_changed[rec.uid] = rec.name
        self.report.pending_remote = len(self.remote_changed)
        self.report.pending_local = len(local_changed)
        self.items = {
            uid: _Item(uid, name=local_changed.get(uid, ""))
            for uid in {*self.remote_changed, *local_changed}
        }
        self.tick(0, len(self.items), "compare")

    # -- 3. fetch the records that changed remotely

    def plan(self) -> None:
        def fetch(item: _Item) -> None:
            item.remote = self.store.read_record(item.uid, self.hasher)
            item.fetched = True

        self.map(fetch, [self.items[u] for u in self.remote_changed])
        self.report.values_read += len(self.remote_changed)

    # -- 4. merge here (batched transactions), push the records, then the index

    def apply(self) -> None:
        total = len(self.items)
        self.ordered = sorted(self.items.values(), key=lambda i: i.uid)
        for i in range(0, total, CHECKPOINT):
            with self.local_batch():
                for item in self.ordered[i : i + CHECKPOINT]:
                    _merge_one(self.vault, self.hasher, item, self.dry_run, self.report)
            self.tick(min(i + CHECKPOINT, total), total, "merge")
        pushes = [it for it in self.ordered if it.push]
        if not self.dry_run:
            self.map(self.push_safe, pushes)
            self.tick(total, total, "push")
        for item in pushes:
            if item.written or (self.dry_run and item.push):
                self.report.pushed.append(item.label)
        if not self.dry_run:
            self.write_index()

    def push(self, item: _Item) -> None:
        """Write one merged record (check-and-set); a lost race re-reads and re-merges."""
        store, recs = self.store, self.recs
        for _attempt in range(MAX_ATTEMPTS):
            assert item.merged is not None
            known = recs.get(item.uid)
            base = item.remote.bgen if item.remote else (known.bgen if known else 0)
            if item.remote is not None:
                expected = item.remote.version
            elif known is not None and not item.fetched:
                expected = known.version
            else:
                expected = ABSENT
            bgen = int(base) + 1
            try:
                version, parts = store.write_record(item.merged, bgen, expected)
            except ConflictError:
                item.remote = store.read_record(item.uid, self.hasher)
                item.fetched = True
                with self.vault.transaction():
                    _merge_one(self.vault, self.hasher, item, False, self.report)
                if not item.push:
                    return
                continue
            old = item.remote.parts if item.remote else (known.parts if known else None)
            if old and old != parts:
                store.drop_parts(store.record_name(item.uid), old)
            item.remote = Bundle(item.merged, bgen, version, parts)
            item.written = True
            return
        raise SyncError(f"Secret {item.label!r} kept changing remotely; try again")

    def push_safe(self, item: _Item) -> None:
        """:meth:`push`; a failure is reported against the secret, the rest go on."""
        try:
            self.push(item)
        except VaultError as exc:
            self.report.failed[item.label] = exc.message

    def write_index(self) -> None:
        """Shards first, then the head (max-merge, check-and-set); key slots kept current."""
        store, shards, head = self.store, self.shards, self.head
        seen_shards = self.cursor.shards
        shard_updates: dict[str, dict[str, int]] = {}
        for item in self.ordered:
            if item.remote is not None and item.label not in self.report.failed:
                xx = item.uid[:1]
                known = shards.get(xx)
                if known is None or known.entries.get(item.uid, 0) < item.remote.bgen:
                    shard_updates.setdefault(xx, {})[item.uid] = item.remote.bgen
        self.new_seen = dict(seen_shards)
        for xx, shard in shards.items():
            self.new_seen[xx] = shard.gen
        my_slots = sync_key_slots(self.vault)
        slots_ok = head is not None and all(x in head.slots for x in my_slots)
        gone = [x for x in self.cursor.slots if x not in my_slots]
        self.cursor.slots = list(my_slots)
        if not (shard_updates or not slots_ok or gone):
            return
        if head is None:
            store.register()

        def write(xx: str) -> tuple[str, int, bool]:
            known = shards[xx].gen if xx in shards else seen_shards.get(xx, 0)
            if xx not in shards and seen_shards.get(xx, 0) != self.remote_shards.get(xx, 0):
                known = -1  # never seen: whatever is there is news to us
            return (xx, *store.write_shard(xx, shard_updates[xx], known))

        gens = {}
        for xx, gen, clean in self.map(write, sorted(shard_updates)):
            gens[xx] = gen
            if clean:
                self.new_seen[xx] = gen
            else:
                self.new_seen.pop(xx, None)  # others wrote too: read it again next time
        store.write_head(my_slots, gone, gens)

    # -- 5. remember where we are

    def save_state(self) -> None:
        for item in self.ordered:
            if item.label in self.report.failed:
                continue
            if item.remote is not None:
                self.recs[item.uid] = RecordCursor(
                    item.remote.bgen, item.remote.version, item.local_rev, item.remote.parts
                )
        if not self.report.failed:
            self.cursor.seq = self.start_seq
        self.cursor.shards = self.new_seen
        data = self.cursor.to_json()
        if data != self.saved:
            save_json(self.vault, self.cursor_key, data)
        source = f"provider:{self.provider.name}"
        self.write_audit(
            [
                {"operation": op, "secret_name": n, "source": source, "mode": "sealed"}
                for op, names in (
                    ("sync_pull", self.report.pulled),
                    ("sync_push", self.report.pushed),
                )
                for n in names
            ]
        )

    def remote_calls(self) -> int:
        return self.store.calls


def _merge_one(
    vault: Vault, hasher: Hasher, item: _Item, dry_run: bool, report: SyncReport
) -> None:
    """Join the fetched remote state (if any) with the local record; write locally."""
    remote = item.remote.state if item.remote else None
    local = _local_state(vault, hasher, item.uid, remote.name if remote else item.name)
    if local is None and remote is None:
        item.push = False
        return
    conflicts: list[Conflict]
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


def sync_sealed(
    vault: Vault,
    provider: Any,
    *,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
    audit: Any = None,
) -> SyncReport:
    """Two-way sealed sync of ``vault`` with ``provider`` (see :mod:`core.sync.sealed`)."""
    return SealedSync(vault, provider, dry_run=dry_run, progress=progress, audit=audit).run()
