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
import hashlib
import json
import logging
import os
import struct
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    ProviderError,
    ProviderLimitError,
    SyncError,
    VaultError,
    WrongKeyError,
)
from core.sync.apply import apply_write, plan_write
from core.sync.clock import Hasher
from core.sync.join import Conflict, join
from core.sync.merge import hasher_for
from core.sync.report import ProgressFn, SyncReport, load_json, remote_id, save_json
from core.sync.state import RecordState, derive, from_portable, to_portable
from core.vault import Argon2Params, KeySource, Vault
from core.vault.keys import KeySlot, unwrap
from core.vault.sync_access import sync_key_slots, sync_read

log = logging.getLogger(__name__)

FORMAT = "vaultui-sealed/1"
DIRECTORY = "vaultui-sealed-vaults"
PAD = 512
MAX_PARTS = 64
MAX_ATTEMPTS = 6
DEFAULT_CHUNK = 512 * 1024
ABSENT = ""


def prefix_for(vault_id_hex: str) -> str:
    """The name prefix of a vault's sealed objects."""
    return f"vaultui-sealed-{vault_id_hex[:16]}"


# ---------------------------------------------------------------------- sealing


class Sealer:
    """Seals sync objects under ``derive_key('sync/sealed')``, bound to their names."""

    def __init__(self, key: bytes, vault_id: bytes) -> None:
        self._aead = AESGCM(key)
        self._vid = vault_id

    def __repr__(self) -> str:
        return "Sealer(<key>)"

    def _aad(self, name: str) -> bytes:
        return b"vaultui-sealed/1\x00" + self._vid + b"\x00" + name.encode()

    def seal(self, name: str, data: bytes) -> str:
        """Compress, pad, encrypt; returns base64 text."""
        packed = zlib.compress(data, 6)
        body = struct.pack(">I", len(packed)) + packed
        body += bytes(-len(body) % PAD)
        nonce = os.urandom(12)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, body, self._aad(name))).decode()

    def open(self, name: str, text: str) -> bytes:
        """Undo :meth:`seal`; IntegrityError if it was changed, moved or is not ours."""
        try:
            blob = base64.b64decode(text.encode("ascii"), validate=True)
            body = self._aead.decrypt(blob[:12], blob[12:], self._aad(name))
            (size,) = struct.unpack(">I", body[:4])
            return zlib.decompress(body[4 : 4 + size])
        except (InvalidTag, ValueError, struct.error, zlib.error, UnicodeEncodeError):
            raise IntegrityError(
                "A sealed sync object failed authentication: it was modified, moved, "
                "or belongs to another vault"
            ) from None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    if isinstance(value, str):
        return value
    raise IntegrityError("A sealed sync object has an unexpected type")


# ---------------------------------------------------------------------- remote objects


@dataclass
class Head:
    """The head object: key slots and the shard generations."""

    slots: list[tuple[str, str, bytes]]
    shards: dict[str, int]
    version: str | None = None


@dataclass
class Shard:
    """One index shard: record id -> bundle generation."""

    entries: dict[str, int]
    gen: int
    version: str | None = None
    parts: tuple[str, int] | None = None


@dataclass
class Bundle:
    """One record as stored remotely."""

    state: RecordState
    bgen: int
    version: str | None
    parts: tuple[str, int] | None  # (hash, count) when stored in parts


class Store:
    """The sealed objects of one vault in one provider."""

    def __init__(self, provider: Any, vault_id: bytes, sealer: Sealer | None) -> None:
        self.provider = provider
        self.vault_id = vault_id
        self.prefix = prefix_for(vault_id.hex())
        self.sealer = sealer
        self.calls = 0
        limit = getattr(getattr(provider, "limits", None), "max_value_bytes", None)
        self.chunk = int(min(limit or DEFAULT_CHUNK, DEFAULT_CHUNK) * 0.9) - 64

    def _get(self, name: str) -> Any:
        self.calls += 1
        return self.provider.get(name)

    def _put(self, name: str, value: str, expected: str | None) -> str:
        self.calls += 1
        return str(self.provider.put(name, value, expected_version=expected))

    # -- directory and head

    def register(self) -> None:
        """Add this vault's id to the public directory (check-and-set, idempotent)."""
        for _ in range(MAX_ATTEMPTS):
            got = self._get(DIRECTORY)
            ids: list[str] = []
            if got is not None:
                try:
                    ids = list(json.loads(_text(got.value)).get("vaults", []))
                except (ValueError, AttributeError):
                    ids = []
            if self.vault_id.hex() in ids:
                return
            ids.append(self.vault_id.hex())
            try:
                self._put(
                    DIRECTORY,
                    json.dumps({"format": FORMAT, "vaults": sorted(ids)}),
                    got.version if got is not None else ABSENT,
                )
                return
            except ConflictError:
                continue
        raise SyncError("The provider's sealed-vault directory kept changing; try again")

    def read_head(self) -> Head | None:
        """The head, or None when this vault was never pushed here."""
        got = self._get(f"{self.prefix}/head")
        if got is None:
            return None
        head = parse_head(_text(got.value), self.vault_id)
        head.version = got.version
        if self.sealer is not None:
            body = json.loads(self.sealer.open(f"{self.prefix}/head", head_body(_text(got.value))))
            head.shards = {str(k): int(v) for k, v in body.get("shards", {}).items()}
        return head

    def write_head(
        self,
        add_slots: list[tuple[str, str, bytes]],
        drop_slots: list[tuple[str, str, bytes]],
        shards: dict[str, int],
    ) -> None:
        """Max-merge ``shards`` into the head and update its key slots (check-and-set).

        The head keeps the union of every machine's key slots: ``add_slots`` are this
        vault's, ``drop_slots`` slots this vault contributed before and no longer has
        (a changed passphrase).
        """
        assert self.sealer is not None
        name = f"{self.prefix}/head"
        for _ in range(MAX_ATTEMPTS):
            head = self.read_head()
            merged = dict(head.shards) if head else {}
            for xx, gen in shards.items():
                merged[xx] = max(gen, merged.get(xx, 0))
            slots = [s for s in (head.slots if head else []) if s not in drop_slots]
            slots += [s for s in add_slots if s not in slots]
            if head is not None and merged == head.shards and slots == head.slots:
                return
            body = self.sealer.seal(name, json.dumps({"shards": merged}, sort_keys=True).encode())
            doc = {
                "format": FORMAT,
                "vault_id": self.vault_id.hex(),
                "slots": [[k, p, base64.b64encode(w).decode()] for k, p, w in slots],
                "body": body,
            }
            try:
                self._put(name, json.dumps(doc), head.version if head else ABSENT)
                return
            except ConflictError:
                continue
        raise SyncError("The sealed index head kept changing under concurrent syncs; try again")

    # -- blobs: one provider secret, or parts plus a small head when too large

    def part_name(self, base: str, h: str, i: int) -> str:
        """The name of part ``i`` of the blob stored under ``base`` with hash ``h``."""
        return f"{base}-p{h}-{i}"

    def read_blob(self, name: str) -> tuple[str, str, tuple[str, int] | None] | None:
        """(sealed text, provider version, parts) of a blob; None when absent."""
        got = self._get(name)
        if got is None:
            return None
        text = _text(got.value)
        parts: tuple[str, int] | None = None
        if text.startswith("m:"):
            try:
                meta = json.loads(text[2:])
                h, n = str(meta["h"]), int(meta["n"])
            except (ValueError, KeyError, TypeError):
                raise IntegrityError("A large sealed object's head is malformed") from None
            pieces = [self._get(self.part_name(name, h, i)) for i in range(n)]
            if any(p is None for p in pieces):
                raise IntegrityError("Part of a large sealed object is missing")
            text = "".join(_text(p.value) for p in pieces)  # type: ignore[union-attr]
            if hashlib.sha256(text.encode()).hexdigest()[:16] != h:
                raise IntegrityError("A large sealed object's parts do not match")
            parts = (h, n)
        return text, str(got.version), parts

    def write_blob(
        self, name: str, text: str, expected: str | None, what: str
    ) -> tuple[str, tuple[str, int] | None]:
        """Store ``text`` (check-and-set on ``name``), split into parts if too large.

        Parts are written first, under names derived from their content, and the head
        last, so a reader never sees a half-written object. Returns (version, parts).
        """
        if len(text) <= self.chunk:
            return self._put(name, text, expected), None
        n = -(-len(text) // self.chunk)
        if n > MAX_PARTS:
            raise ProviderLimitError(
                f"{what} is {len(text) // 1024} KiB sealed, more than {MAX_PARTS} parts of "
                "this provider's value limit",
                hint="purge old versions or sync this vault through a provider with larger "
                "values (HashiCorp Vault)",
            )
        h = hashlib.sha256(text.encode()).hexdigest()[:16]
        for i in range(n):
            chunk = text[i * self.chunk : (i + 1) * self.chunk]
            self._put(self.part_name(name, h, i), chunk, None)
        return self._put(name, "m:" + json.dumps({"h": h, "n": n}), expected), (h, n)

    def drop_parts(self, name: str, parts: tuple[str, int] | None) -> None:
        """Remove the parts of a blob's previous version (best effort)."""
        if not parts:
            return
        for i in range(parts[1]):
            try:
                self.calls += 1
                self.provider.delete(self.part_name(name, parts[0], i), purge=True)
            except ProviderError:
                log.info("could not remove an old sealed part; it will stay unused")

    # -- shards

    def shard_name(self, xx: str) -> str:
        """Index shard ``xx`` (the first hex digit of the record ids it lists)."""
        return f"{self.prefix}/i-{xx}"

    def read_shard(self, xx: str) -> Shard:
        """An index shard (empty when absent)."""
        assert self.sealer is not None
        name = self.shard_name(xx)
        got = self.read_blob(name)
        if got is None:
            return Shard({}, 0, None)
        text, version, parts = got
        raw = self.sealer.open(name, text)
        gen = struct.unpack(">Q", raw[:8])[0]
        entries = {}
        for i in range(8, len(raw), 20):
            uid, bgen = raw[i : i + 16], struct.unpack(">I", raw[i + 16 : i + 20])[0]
            entries[uid.hex()] = bgen
        shard = Shard(entries, gen, version)
        shard.parts = parts
        return shard

    def write_shard(self, xx: str, ours: dict[str, int], known_gen: int | None) -> tuple[int, bool]:
        """Max-merge ``ours`` into shard ``xx``.

        Returns (its new generation, clean): clean when the shard was still at
        ``known_gen`` (the generation whose entries this sync has seen), so nobody else's
        entries were merged in that this sync has not processed.
        """
        assert self.sealer is not None
        name = self.shard_name(xx)
        clean = True
        for _ in range(MAX_ATTEMPTS):
            shard = self.read_shard(xx)
            if shard.gen != (known_gen or 0):
                clean = False
            entries = dict(shard.entries)
            for uid, bgen in ours.items():
                if bgen > entries.get(uid, 0):
                    entries[uid] = bgen
            if entries == shard.entries:
                return shard.gen, clean
            gen = shard.gen + 1
            raw = struct.pack(">Q", gen) + b"".join(
                bytes.fromhex(uid) + struct.pack(">I", b) for uid, b in sorted(entries.items())
            )
            try:
                _, parts = self.write_blob(
                    name, self.sealer.seal(name, raw), shard.version or ABSENT, "The index"
                )
            except ConflictError:
                clean = False
                continue
            if shard.parts and shard.parts != parts:
                self.drop_parts(name, shard.parts)
            return gen, clean
        raise SyncError("A sealed index shard kept changing under concurrent syncs; try again")

    # -- records

    def record_name(self, uid: str) -> str:
        """The object holding record ``uid``."""
        return f"{self.prefix}/r-{uid}"

    def read_record(self, uid: str, hasher: Hasher) -> Bundle | None:
        """A record bundle (None when absent)."""
        assert self.sealer is not None
        name = self.record_name(uid)
        got = self.read_blob(name)
        if got is None:
            return None
        text, version, parts = got
        data = json.loads(self.sealer.open(name, text))
        state = from_portable(data["state"], hasher)
        if state.uid != uid:
            raise IntegrityError("A sealed record is stored under another record's id")
        return Bundle(state, int(data["bgen"]), version, parts)

    def write_record(
        self, state: RecordState, bgen: int, expected: str | None
    ) -> tuple[str, tuple[str, int] | None]:
        """Store ``state``; returns (provider version, parts). ConflictError on a race."""
        assert self.sealer is not None
        name = self.record_name(state.uid)
        doc = json.dumps({"bgen": bgen, "state": to_portable(state)}, separators=(",", ":"))
        text = self.sealer.seal(name, doc.encode())
        return self.write_blob(name, text, expected, f"Secret {state.name!r} with its history")


def head_body(text: str) -> str:
    """The sealed part of a head object's text (IntegrityError if malformed)."""
    try:
        return str(json.loads(text)["body"])
    except (ValueError, KeyError, TypeError):
        raise IntegrityError("The sealed head is malformed") from None


def parse_head(text: str, vault_id: bytes | None = None) -> Head:
    """The public part of a head: its key slots (and a check of the vault id)."""
    try:
        doc = json.loads(text)
        if doc.get("format") != FORMAT:
            raise SyncError(f"Unknown sealed sync format {doc.get('format')!r}")
        if vault_id is not None and doc.get("vault_id") != vault_id.hex():
            raise IntegrityError("The sealed head belongs to another vault")
        slots = [(str(k), str(p), base64.b64decode(w)) for k, p, w in doc["slots"]]
    except (ValueError, KeyError, TypeError):
        raise IntegrityError("The sealed head is malformed") from None
    return Head(slots, {})


def _same_slots(a: list[tuple[str, str, bytes]], b: list[tuple[str, str, bytes]]) -> bool:
    return sorted(a) == sorted(b)


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
        return [str(v) for v in json.loads(_text(got.value)).get("vaults", [])]
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
        head = parse_head(_text(got.value), bytes.fromhex(vid))
        slots = [KeySlot(i, k, json.loads(p), w) for i, (k, p, w) in enumerate(head.slots)]
        try:
            data_key = unwrap(bytes.fromhex(vid), slots, key_source)
        except WrongKeyError:
            continue
        return Vault.create(
            path, key_source, kdf=kdf, vault_id=bytes.fromhex(vid), data_key=data_key
        )
    raise WrongKeyError("The passphrase or key opens none of the sealed vaults in the provider")
