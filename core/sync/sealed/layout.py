"""Sealed sync's objects in a provider: names, sealing, and reading/writing them.

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
compressed and padded to 512 bytes (:class:`ObjectCipher`): the provider sees record
ids, sizes and write times, never a name, a value or how many versions a secret has.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import (
    ConflictError,
    IntegrityError,
    ProviderError,
    ProviderLimitError,
    SyncError,
)
from core.sync.clock import Hasher
from core.sync.state import RecordState, from_portable, to_portable

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


REKEYED_HINT = (
    "the vault file here is not damaged: do not restore a backup for this. After a rekey, "
    "sealed sync starts afresh: remove this vault's objects from the provider (or sync to "
    "another location), sync again, and have the other machines and members join again"
)

# ---------------------------------------------------------------------- sealing


class ObjectCipher:
    """Seals sync objects under ``derive_key('sync/sealed')``, bound to their names."""

    def __init__(self, key: bytes, vault_id: bytes) -> None:
        self._aead = AESGCM(key)
        self._vid = vault_id

    def __repr__(self) -> str:
        return "ObjectCipher(<key>)"

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


def object_text(value: Any) -> str:
    """A provider value as text (sealed objects are ASCII); IntegrityError otherwise."""
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

    def __init__(self, provider: Any, vault_id: bytes, cipher: ObjectCipher | None) -> None:
        self.provider = provider
        self.vault_id = vault_id
        self.prefix = prefix_for(vault_id.hex())
        self.cipher = cipher
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
                    ids = list(json.loads(object_text(got.value)).get("vaults", []))
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
        head = parse_head(object_text(got.value), self.vault_id)
        head.version = got.version
        if self.cipher is not None:
            try:
                opened = self.cipher.open(f"{self.prefix}/head", head_body(object_text(got.value)))
            except IntegrityError:
                # the usual cause is a rekey here (a member removed): the file is sound,
                # and restoring a backup would bring the old key, and the member, back
                raise IntegrityError(
                    "The sealed copy in the provider does not open with this vault's current "
                    "data key: it was written before this vault was rekeyed (rekey, passwd "
                    "--rekey, or a member's removal), or it was modified in the provider",
                    hint=REKEYED_HINT,
                ) from None
            body = json.loads(opened)
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
        assert self.cipher is not None
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
            body = self.cipher.seal(name, json.dumps({"shards": merged}, sort_keys=True).encode())
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
        text = object_text(got.value)
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
            text = "".join(object_text(p.value) for p in pieces)
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
        assert self.cipher is not None
        name = self.shard_name(xx)
        got = self.read_blob(name)
        if got is None:
            return Shard({}, 0, None)
        text, version, parts = got
        raw = self.cipher.open(name, text)
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
        assert self.cipher is not None
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
                    name, self.cipher.seal(name, raw), shard.version or ABSENT, "The index"
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
        assert self.cipher is not None
        name = self.record_name(uid)
        got = self.read_blob(name)
        if got is None:
            return None
        text, version, parts = got
        data = json.loads(self.cipher.open(name, text))
        state = from_portable(data["state"], hasher)
        if state.uid != uid:
            raise IntegrityError("A sealed record is stored under another record's id")
        return Bundle(state, int(data["bgen"]), version, parts)

    def write_record(
        self, state: RecordState, bgen: int, expected: str | None
    ) -> tuple[str, tuple[str, int] | None]:
        """Store ``state``; returns (provider version, parts). ConflictError on a race."""
        assert self.cipher is not None
        name = self.record_name(state.uid)
        doc = json.dumps({"bgen": bgen, "state": to_portable(state)}, separators=(",", ":"))
        text = self.cipher.seal(name, doc.encode())
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
