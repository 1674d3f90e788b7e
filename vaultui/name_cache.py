"""A sealed cache of the sorted secret names, so a large vault's browser opens fast.

``Vault.names()`` decrypts every name (one AES-GCM open per secret: ~0.3 s at 100,000).
The app keeps the sorted list, zlib-compressed, in ONE sealed entry of the vault file's
``local_state`` (encrypted with the vault's key, bound to the vault id; per file, never
synced or backed up), tagged with the change sequence it reflects. On the next start it
decrypts that one blob (~20 ms) and patches it with ``Vault.changes_since(seq)``; a purge
or a stale, damaged or missing cache falls back to ``Vault.names()``. Small vaults are not
cached at all. UI-free.
"""

from __future__ import annotations

import logging
import zlib
from bisect import bisect_left, insort

from core.errors import VaultError
from core.service.types import Vault

log = logging.getLogger(__name__)

KEY = "vaultui.app.names/1"
"""The ``local_state`` key of the cache."""

MIN_CACHED = 2_000
"""Vaults with fewer secrets read ``Vault.names()`` directly (it is fast enough)."""

MAX_PATCH = 5_000
"""More changes than this since the cache was written: read every name instead."""


def _decode(blob: bytes) -> tuple[int, list[str]]:
    data = zlib.decompress(blob)
    head, _, body = data.partition(b"\n")
    names = body.decode("utf-8").split("\n") if body else []
    return int(head), names


def encode(seq: int, names: list[str]) -> bytes:
    """The cache entry for sorted ``names`` as of change sequence ``seq``."""
    return zlib.compress(f"{seq}\n".encode() + "\n".join(names).encode("utf-8"), 1)


def cached_names(vault: Vault) -> tuple[int, list[str]] | None:
    """The cached (seq, sorted names), or None when absent or unreadable."""
    try:
        blob = vault.get_local(KEY)
        return None if blob is None else _decode(blob)
    except (VaultError, ValueError, zlib.error, UnicodeDecodeError):
        log.info("the browser's name cache is unreadable; reading every name")
        return None


def current_names(vault: Vault) -> tuple[int, list[str], bool]:
    """(seq, sorted live names, from_cache) for ``vault`` as of now.

    ``seq`` is a change sequence the names reflect at least (later changes are applied
    again harmlessly by ``changes_since``).
    """
    seq_now = vault.seq
    cached = cached_names(vault)
    if cached is not None:
        seq, names = cached
        if seq == seq_now:
            return seq, names, True
        if seq < seq_now and not vault.purged_since(seq):
            changes = vault.changes_since(seq)
            if len(changes) <= MAX_PATCH:
                for rec in changes:
                    i = bisect_left(names, rec.name)
                    present = i < len(names) and names[i] == rec.name
                    if rec.deleted and present:
                        del names[i]
                    elif not rec.deleted and not present:
                        insort(names, rec.name)
                return max([seq, *(r.seq for r in changes)]), names, True
    return seq_now, vault.names(), False


def store(vault: Vault, seq: int, names: list[str]) -> bool:
    """Write the cache (if the vault is big enough); False if it could not be written.

    A failure (read-only file, busy vault) is harmless: the next start reads every name.
    """
    if len(names) < MIN_CACHED:
        return False
    try:
        vault.set_local(KEY, encode(seq, names))
    except VaultError as exc:
        log.info("could not write the browser's name cache: %s", exc.message)
        return False
    return True
