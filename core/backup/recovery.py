"""Disaster recovery: rebuild a vault file from a backup with only the passphrase or
key file -- no vault, no home, nothing else.

A backup carries the vault's key slots (the data key wrapped by the passphrase or key
file, never the bare key) and its vault id. :func:`recover` unwraps the data key with
what the user holds, checks and decrypts the chain, and writes a NEW vault file with the
same vault id and data key (so later backups and sealed-sync copies still match), every
record and its history. The file is built under a temporary name and renamed into place
only when complete: an interrupted recovery leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.backup import body as body_codec
from core.backup import catalog
from core.backup.container import EXTENSION, open_file, read_head
from core.backup.fsutil import folder_lock, fsync_dir
from core.backup.restore import build_state, load_into_new
from core.errors import BackupError, ConfigError
from core.vault import Argon2Params, KeySource, Vault
from core.vault.crypto import hkdf
from core.vault.gcpause import paused_gc
from core.vault.keys import KeySlot, unwrap

Progress = Callable[[str, int, int], None]


def backup_root_key(data_key: bytes) -> bytes:
    """The backup subkey of a vault's data key: the same as ``vault.derive_key('backup')``
    (checked by tests/backup/test_recovery.py), computable without an open vault."""
    return hkdf(data_key, b"vaultui/purpose/backup")


def _slots(path: Path) -> tuple[bytes, list[KeySlot]]:
    head = read_head(path)
    slots = []
    for i, row in enumerate(head.slots, 1):
        try:
            params = json.loads(row.params)
        except ValueError:
            continue
        slots.append(KeySlot(i, row.kind, params, row.wrapped))
    return head.vault_id, slots


def unlock_backup(path: Path, key_source: KeySource) -> tuple[bytes, bytes, Argon2Params | None]:
    """(vault id, data key, the slot's Argon2 cost) from a backup's key slots.

    Raises WrongKeyError if ``key_source`` opens none of them, BackupError if the backup
    carries no key slots.
    """
    vault_id, slots = _slots(path)
    if not slots:
        raise BackupError(
            f"Backup {path.name} carries no key slots: restore it into its own vault instead"
        )
    data_key = unwrap(vault_id, slots, key_source)
    return vault_id, data_key, _slot_kdf(slots, key_source.kind)


def _slot_kdf(slots: list[KeySlot], kind: str) -> Argon2Params | None:
    """The Argon2 cost of the backed-up vault's first slot of ``kind`` (kept on recovery)."""
    for slot in slots:
        if slot.kind == kind and "argon2" in slot.params:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                return Argon2Params.from_dict(slot.params["argon2"])
    return None


def load_chain(
    info: catalog.BackupInfo,
    infos: list[catalog.BackupInfo],
    root: bytes,
    vault_id: bytes,
    progress: Progress | None = None,
    *,
    damaged: list[catalog.Damaged] | None = None,
) -> tuple[list[catalog.BackupInfo], list[body_codec.Body]]:
    """Open (MAC, decrypt, parse) every backup of ``info``'s chain, full first."""
    chain = catalog.chain_of(info, {b.id: b for b in infos}, damaged or ())
    bodies = []
    with folder_lock(info.path.parent, exclusive=False):
        for i, link in enumerate(chain, 1):
            opened = open_file(link.path, root, vault_id)
            if opened.manifest.get("id") != link.id:
                raise BackupError(f"Backup {link.name} was replaced while reading it")
            bodies.append(body_codec.decode(opened.body, link.name))
            if progress is not None:
                progress("reading", i, len(chain))
    return chain, bodies


def recover(
    backup: Path | str,
    target: Path | str,
    key_source: KeySource,
    *,
    data_key: bytes | None = None,
    kdf: Argon2Params | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Rebuild the vault of ``backup`` (a ``.vbak`` file; its chain must sit beside it)
    as a new vault file ``target``, protected by ``key_source``.

    ``data_key`` may be given when the caller already holds the vault open (then
    ``key_source`` only protects the new file). Returns the restore summary with
    ``restored_secrets``, ``added`` and ``errors``. Raises BackupIntegrityError for a
    damaged backup, BackupError if ``target`` exists, WrongKeyError for a wrong key.
    """
    path = Path(backup)
    if path.suffix != EXTENSION and not path.exists():
        path = path.with_name(path.name + EXTENSION)
    target = Path(target)
    if target.exists() and target.stat().st_size > 0:
        raise BackupError(f"Cannot restore into {target}: a file already exists there")
    if key_source.kind == "data_key":
        raise ConfigError("A new vault needs a passphrase or key file to protect it")
    if data_key is not None:
        vault_id, slots = _slots(path)
        found_key, slot_kdf = data_key, _slot_kdf(slots, key_source.kind)
    else:
        vault_id, found_key, slot_kdf = unlock_backup(path, key_source)
    root = backup_root_key(found_key)
    info = catalog.read_info(path, root, vault_id)
    infos, damaged = catalog.scan(path.parent, root, vault_id)
    if all(b.id != info.id for b in infos):
        infos.append(info)
    with paused_gc():
        chain, bodies = load_chain(info, infos, root, vault_id, progress, damaged=damaged)
        entries = build_state(bodies, info.name)
        del bodies
    live = [e.name for e in entries if not e.dump.deleted]
    result: dict[str, Any] = {
        "backup": info.name,
        "chain": [b.name for b in chain],
        "created_at": info.created_at.isoformat(),
        "dry_run": dry_run,
        "exact": True,
        "target": str(target),
        "restored_secrets": len(live),
        "added": sorted(live),
        "changed": [],
        "deleted": [],
        "unchanged": [],
        "kept": [],
        "errors": [],
    }
    kinds = ("added", "changed", "deleted", "unchanged", "kept")
    result["counts"] = {k: len(result[k]) for k in kinds}
    if dry_run:
        return result
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_name(f".{target.name}.restoring-{secrets.token_hex(4)}")
    try:
        vault = Vault.create(
            tmp,
            key_source,
            kdf=kdf or key_source.kdf or slot_kdf,
            vault_id=vault_id,
            data_key=found_key,
        )
        try:
            if backup_root_key(found_key) != vault.derive_key("backup"):
                raise BackupError("The vault's key derivation changed: cannot restore")
            with vault.transaction():
                load_into_new(vault, entries, progress=progress)
            result["seq_after"] = vault.seq
        finally:
            vault.close()
        if target.exists() and target.stat().st_size == 0:
            target.unlink()  # an empty placeholder (e.g. touched by a script)
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise BackupError(f"Cannot restore into {target}: a file appeared there") from None
        except OSError:
            os.rename(tmp, target)
        fsync_dir(target.parent)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return result
