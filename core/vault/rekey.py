"""Replace a vault's data key: what revoking an old passphrase or key file needs.

Changing a passphrase only rewraps the data key, so an old copy of the vault file plus
the old passphrase still yields the key, and with it everything written later.
:func:`rekey` draws a new random data key and, in ONE write transaction:

- checks every row against the old key and the record-set digest first (a tampered
  vault is refused, never re-sealed into a valid-looking one);
- re-encrypts every record (name, metadata) and every history version (value, entry)
  under the new key, with new name hashes and a new record-set digest;
- rewraps every key slot whose secret this process holds (passphrase, master key,
  key file) and every member slot (age: its public key is in the slot, so no
  private key is needed); ``remove_slots`` are left out (a member's removal); a
  slot nobody here can open is refused (:class:`SlotsUnavailableError`)
  unless ``drop_unavailable`` drops it (listed in the result);
- re-seals the per-file bookkeeping, except the backup catalog (``backup.made``,
  ``backup.verified``): backups made under the old key cannot be parents of new
  ones, so the next backup is a full one;
- carries the audit chain key and the sync fingerprint key over (``carried.py``);
- rewrites the header MAC and the state MAC under the new key.

The change sequence is not bumped: no secret changed. Other processes that had the
file open with the old key find nothing (lookups by old name hashes miss) or get
IntegrityError until they reopen it, and their writes are refused (the state MAC no
longer verifies); a running unlock agent must be locked or restarted by the caller.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.errors import IntegrityError, KeyMissingError, ValidationError, WrongKeyError
from core.vault.carried import CARRIED_PURPOSES, HEADER_KEY, seal_carried
from core.vault.crypto import aad, random_key
from core.vault.engine import DataKeys, ct_eq, sql_errors, write_header_mac
from core.vault.gcpause import paused_gc
from core.vault.keys import (
    SLOT_AGE,
    SLOT_PASSPHRASE,
    Argon2Params,
    KeySlot,
    KeySource,
    make_slot,
    unwrap,
)
from core.vault.members import rewrap

if TYPE_CHECKING:
    from core.vault.store import Vault

ProgressFn = Callable[[int, int], None]

DROPPED_LOCAL_KEYS = ("backup.made", "backup.verified")
"""Bookkeeping about backups made under the old key: forgotten, so the next is full."""

_BATCH = 2000  # rows per progress report and per seal batch


class SlotsUnavailableError(KeyMissingError):
    """Some key slots cannot be rewrapped: their passphrase or key file is not here."""

    title = "Key slots unavailable"


@dataclass
class RekeyResult:
    """What a rekey did: counts, the slots kept (rewrapped) and dropped, and time."""

    records: int
    versions: int
    slots_kept: list[dict[str, Any]] = field(default_factory=list)
    slots_dropped: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    slots_removed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` (no key material)."""
        return {
            "records": self.records,
            "versions": self.versions,
            "slots_kept": self.slots_kept,
            "slots_dropped": self.slots_dropped,
            "slots_removed": self.slots_removed,
            "seconds": round(self.seconds, 3),
        }


def _slot_info(slot: KeySlot) -> dict[str, Any]:
    return {"id": slot.slot_id, "kind": slot.kind, "label": slot.params.get("label", "")}


def _plan_slots(
    vault: Vault,
    rows: list[tuple[int, str, str, bytes]],
    sources: Sequence[KeySource],
    new_passphrase: KeySource | None,
    new_kdf: Argon2Params | None,
) -> tuple[list[tuple[KeySlot, KeySource | None, Argon2Params | None]], list[KeySlot]]:
    """Which source opens each slot (and will wrap the new key), and which none opens.

    The slot that ``sources[0]`` (the key that opened the vault) opens gets
    ``new_passphrase`` instead when one is given.
    """
    data_key = vault.engine.keys.data_key
    usable = [s for s in sources if s.kind != "data_key"]
    keep: list[tuple[KeySlot, KeySource | None, Argon2Params | None]] = []
    missing: list[KeySlot] = []
    for sid, kind, params, wrapped in rows:
        slot = KeySlot(sid, kind, json.loads(params), bytes(wrapped))
        if slot.kind == SLOT_AGE:
            keep.append((slot, None, None))  # rewrapped to the public key it names
            continue
        found: KeySource | None = None
        for source in usable:
            if source.kind != slot.kind:
                continue
            try:
                if unwrap(vault.vault_id, [slot], source) != data_key:
                    continue
            except WrongKeyError:
                continue
            found = source
            break
        if found is None:
            missing.append(slot)
            continue
        kdf = (
            Argon2Params.from_dict(slot.params["argon2"]) if slot.kind == SLOT_PASSPHRASE else None
        )
        if new_passphrase is not None and found is usable[0] and found.kind == SLOT_PASSPHRASE:
            found, kdf = new_passphrase, new_kdf
        keep.append((slot, found, kdf))
    return keep, missing


def rekey(
    vault: Vault,
    sources: Sequence[KeySource],
    *,
    drop_unavailable: bool = False,
    new_passphrase: KeySource | None = None,
    kdf: Argon2Params | None = None,
    progress: ProgressFn | None = None,
    remove_slots: Sequence[int] = (),
) -> RekeyResult:
    """Replace ``vault``'s data key (see the module docs); ``vault`` stays open and
    usable with the new key. Slots whose ids are in ``remove_slots`` are deleted in
    the same transaction (listed in ``slots_removed``).

    ``sources`` are the keys this process holds, the one that opened the vault first.
    ``new_passphrase`` replaces the passphrase slot ``sources[0]`` opens (or is added
    as a new slot when the vault was opened another way); ``kdf`` is its Argon2 cost.
    ``progress(done, total)`` counts rows re-encrypted. Raises SlotsUnavailableError
    (nothing changed) if a slot cannot be rewrapped and ``drop_unavailable`` is False,
    IntegrityError if the vault fails its checks.
    """
    started = time.monotonic()
    old_keys = vault.engine.keys
    new_keys = DataKeys(random_key())
    try:
        with vault.engine.lock, paused_gc(), vault.transaction():
            result = _rekey_locked(
                vault,
                old_keys,
                new_keys,
                sources,
                drop_unavailable,
                new_passphrase,
                kdf,
                progress,
                remove_slots,
            )
    except BaseException:
        vault.engine.keys = old_keys  # the transaction rolled back: the old key still rules
        raise
    if new_passphrase is not None:
        vault.key_source = new_passphrase
    result.seconds = time.monotonic() - started
    return result


def _rekey_locked(
    vault: Vault,
    old_keys: Any,
    new_keys: Any,
    sources: Sequence[KeySource],
    drop_unavailable: bool,
    new_passphrase: KeySource | None,
    kdf: Argon2Params | None,
    progress: ProgressFn | None,
    remove_slots: Sequence[int] = (),
) -> RekeyResult:
    """The body of :func:`rekey`, inside its write transaction."""
    conn = vault.engine.conn
    with sql_errors("read the key slots"):
        slot_rows = conn.execute(
            "SELECT id, kind, params, wrapped FROM key_slots ORDER BY id"
        ).fetchall()
    removed = [r for r in slot_rows if r[0] in remove_slots]
    slot_rows = [r for r in slot_rows if r[0] not in remove_slots]
    keep, missing = _plan_slots(vault, slot_rows, sources, new_passphrase, kdf)
    if missing and not drop_unavailable:
        shown = ", ".join(
            f"#{s.slot_id} {s.kind} ({s.params.get('label') or 'no label'})" for s in missing
        )
        raise SlotsUnavailableError(
            f"Cannot rewrap {len(missing)} key slot(s) for the new key: {shown}",
            hint="provide their passphrase or key file, or pass --drop-unavailable-slots "
            "to remove them (they will no longer open the vault)",
        )
    if not keep and new_passphrase is None:
        raise ValidationError("No key slot would open the vault after the rekey")
    carried = {p: vault.derive_key(p) for p in CARRIED_PURPOSES}

    with sql_errors("read the vault for a rekey"):
        recs = conn.execute(
            "SELECT rid, uid, name_hash, rev, seq, deleted, name_ct, meta, cur FROM records"
        ).fetchall()
        vers = conn.execute("SELECT uid, version, value, info FROM versions").fetchall()
        local = conn.execute("SELECT key, value FROM local_state").fetchall()
    total = len(recs) + len(vers)
    done = 0

    # 1. decrypt and check everything under the old key
    names: list[bytes] = []
    metas: list[bytes] = []
    for start in range(0, len(recs), _BATCH):
        chunk = recs[start : start + _BATCH]
        names += old_keys.sealer.open_many(
            [(r[6], vault.engine.aads.name(r[1], r[2])) for r in chunk], "name"
        )
        metas += old_keys.sealer.open_many(
            [(r[7], vault.engine.aads.meta(r[1], r[3], r[4], r[5], r[2])) for r in chunk], "record"
        )
    for r, name in zip(recs, names, strict=True):
        if not ct_eq(old_keys.name(name), bytes(r[2])):
            raise IntegrityError("A vault record's name does not match its lookup hash")
    values: list[bytes] = []
    infos: list[bytes] = []
    for start in range(0, len(vers), _BATCH):
        chunk = vers[start : start + _BATCH]
        values += old_keys.sealer.open_many(
            [(v[2], vault.engine.aads.value(v[0], v[1])) for v in chunk], "value"
        )
        infos += old_keys.sealer.open_many(
            [(v[3], vault.engine.aads.info(v[0], v[1])) for v in chunk], "history entry"
        )
    assert vault.engine.tx_digest is not None and vault.engine.tx_seq is not None
    with sql_errors("read the vault for a rekey"):
        intact = old_keys.rows.scan(conn) == vault.engine.tx_digest
    if not intact:
        raise IntegrityError(
            "The vault's set of records does not match its digest: a row was deleted, "
            "inserted or replayed; refusing to rekey it",
            hint="restore from a backup, or run `vaultui --batch verify`",
        )
    local_plain = []
    for key, blob in local:
        if key in DROPPED_LOCAL_KEYS:
            continue
        plain = old_keys.sealer.open(bytes(blob), aad(b"local", vault.vault_id, key), "local")
        local_plain.append((key, plain))

    # 2. re-encrypt under the new key, in the same transaction
    vault.engine.keys = new_keys
    if True:
        new_rows = []
        for start in range(0, len(recs), _BATCH):
            chunk = recs[start : start + _BATCH]
            chunk_names = names[start : start + _BATCH]
            hashes = [new_keys.name(n) for n in chunk_names]
            ncts = new_keys.sealer.seal_many(
                [
                    (n, vault.engine.aads.name(r[1], h))
                    for r, n, h in zip(chunk, chunk_names, hashes, strict=True)
                ]
            )
            mcts = new_keys.sealer.seal_many(
                [
                    (m, vault.engine.aads.meta(r[1], r[3], r[4], r[5], h))
                    for r, m, h in zip(chunk, metas[start : start + _BATCH], hashes, strict=True)
                ]
            )
            for r, h, nct, mct in zip(chunk, hashes, ncts, mcts, strict=True):
                new_rows.append((r[0], r[1], h, r[3], r[4], r[5], nct, mct, r[8]))
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        new_vers = []
        for start in range(0, len(vers), _BATCH):
            chunk = vers[start : start + _BATCH]
            vcts = new_keys.sealer.seal_many(
                [
                    (p, vault.engine.aads.value(v[0], v[1]))
                    for v, p in zip(chunk, values[start : start + _BATCH], strict=True)
                ]
            )
            icts = new_keys.sealer.seal_many(
                [
                    (p, vault.engine.aads.info(v[0], v[1]))
                    for v, p in zip(chunk, infos[start : start + _BATCH], strict=True)
                ]
            )
            for v, vct, ict in zip(chunk, vcts, icts, strict=True):
                new_vers.append((v[0], v[1], vct, ict))
            done += len(chunk)
            if progress is not None:
                progress(done, total)

        new_slots = [
            make_slot(vault.vault_id, new_keys.data_key, source, slot_kdf)
            if source is not None
            else rewrap(slot.params, vault.vault_id, new_keys.data_key)
            for slot, source, slot_kdf in keep
        ]
        if new_passphrase is not None and all(src is not new_passphrase for _, src, _k in keep):
            new_slots.append(make_slot(vault.vault_id, new_keys.data_key, new_passphrase, kdf))

        with sql_errors("write the rekeyed vault"):
            conn.execute("DELETE FROM records")
            conn.executemany(
                "INSERT INTO records(rid, uid, name_hash, rev, seq, deleted, name_ct, meta, "
                "cur) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                new_rows,
            )
            conn.execute("DELETE FROM versions")
            conn.executemany(
                "INSERT INTO versions(uid, version, value, info) VALUES (?, ?, ?, ?)",
                new_vers,
            )
            conn.execute("DELETE FROM local_state")
            conn.executemany(
                "INSERT INTO local_state VALUES (?, ?)",
                [
                    (k, new_keys.sealer.seal(p, aad(b"local", vault.vault_id, k)))
                    for k, p in local_plain
                ],
            )
            conn.execute("DELETE FROM key_slots")
            conn.executemany(
                "INSERT INTO key_slots(kind, params, wrapped) VALUES (?, ?, ?)", new_slots
            )
            conn.execute(
                "INSERT OR REPLACE INTO header VALUES (?, ?)",
                (HEADER_KEY, seal_carried(vault, carried)),
            )
            write_header_mac(vault.engine)
            # the new rows' digest under the new key (purge markers re-keyed too)
            vault.engine.tx_digest = new_keys.rows.scan(conn)
            vault.engine.store_state(vault.engine.tx_seq, vault.engine.tx_digest.encode())
    return RekeyResult(
        records=len(recs),
        versions=len(vers),
        slots_kept=[_slot_info(s) for s, _src, _k in keep],
        slots_dropped=[_slot_info(s) for s in missing],
        slots_removed=[_slot_info(KeySlot(r[0], r[1], json.loads(r[2]), b"")) for r in removed],
    )
