"""Recovering a damaged vault file from its backups, in place.

A vault that fails its integrity checks cannot restore into itself (the restore reads
it), and a recovery into a new file refuses a target that exists. :func:`recover_damaged`
is the one path from "integrity check failed" back to a working vault:

1. choose the backup: the one named, or the latest whose whole chain is present and
   authentic (damaged or broken chains are skipped, and said so);
2. rebuild the vault from that chain into a new file beside the vault (nothing is
   touched if that fails);
3. move the damaged file aside to ``vault.db.damaged-<UTC timestamp>`` (never deleted:
   whatever it still holds can be looked at later), with its journal if any;
4. move the rebuilt file into place.

The key is the one that opens the backups (the vault's own passphrase or key file):
backups carry the vault's key slots, so a vault whose header is destroyed still
recovers.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.backup import catalog
from core.backup.container import EXTENSION
from core.backup.fsutil import fsync_dir
from core.backup.recovery import backup_root_key, recover, unlock_backup
from core.errors import BackupError, NotFoundError, StorageError, VaultError, WrongKeyError
from core.vault import KeySource, Vault

Progress = Callable[[str, int, int], None]

RECOVER_COMMAND = "vaultui --batch backup recover"
"""The documented command (named in the integrity errors' hint)."""


def damage_of(vault_path: Path, key_source: KeySource) -> str | None:
    """Why the vault at ``vault_path`` is damaged, or None if it opens and every current
    value reads back authentic. A missing or empty file counts as damaged (lost).

    Raises WrongKeyError when ``key_source`` does not open an intact vault.
    """
    if not vault_path.exists() or vault_path.stat().st_size == 0:
        return "the vault file is missing"
    try:
        vault = Vault.open(vault_path, key_source)
    except WrongKeyError:
        raise
    except VaultError as exc:
        return exc.message
    try:
        for name in vault.names():
            vault.get(name)
    except VaultError as exc:
        return exc.message
    finally:
        vault.close()
    return None


def choose_backup(
    backups_dir: Path, key_source: KeySource, name: str | None = None
) -> tuple[Path, list[str]]:
    """The backup to recover from and notes on the newer ones skipped (value-free).

    With ``name``, that backup (NotFoundError if absent). Without, the newest backup
    whose chain is complete and authentic. Raises WrongKeyError if ``key_source`` opens
    no backup, BackupError if there is none usable.
    """
    if name is not None:
        path = backups_dir / (catalog.check_name(name) + EXTENSION)
        if not path.is_file():
            raise NotFoundError(f"Backup {name!r} not found in {backups_dir}")
        return path, []
    files = sorted(
        (p for p in backups_dir.glob("*" + EXTENSION) if not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    if not files:
        raise BackupError(f"No backups in {backups_dir}: the vault cannot be recovered")
    vault_id, data_key = _open_any(files, key_source)
    root = backup_root_key(data_key)
    infos, damaged = catalog.scan(backups_dir, root, vault_id)
    by_id = {b.id: b for b in infos}
    notes = [f"skipped {bad.name}: {bad.error}" for bad in damaged]
    for info in reversed(infos):
        try:
            catalog.chain_of(info, by_id, damaged)
        except VaultError as exc:
            notes.append(f"skipped {info.name}: {exc.message}")
            continue
        return info.path, notes
    raise BackupError(
        f"No backup in {backups_dir} has a complete, authentic chain: "
        + "; ".join(notes or ["none found"])
    )


def _open_any(files: list[Path], key_source: KeySource) -> tuple[bytes, bytes]:
    """(vault id, data key) from the newest backup whose key slots ``key_source`` opens."""
    wrong: WrongKeyError | None = None
    for path in files:
        try:
            vault_id, data_key, _kdf = unlock_backup(path, key_source)
        except WrongKeyError as exc:
            wrong = exc
        except (VaultError, OSError):
            continue  # damaged head: try an older file
        else:
            return vault_id, data_key
    if wrong is not None:
        raise wrong
    raise BackupError("No backup file could be read: every one is damaged")


def recover_damaged(
    vault_path: Path,
    backups_dir: Path,
    key_source: KeySource,
    name: str | None = None,
    *,
    force: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Replace a damaged vault file by its latest (or ``name``d) backup chain.

    Refuses (BackupError) when the vault is intact, unless ``force``: an intact vault is
    restored into with ``backup restore NAME``. Returns the restore summary plus
    ``damaged`` (why), ``moved_aside`` (where the old file went, or None if there was
    none), ``vault`` and ``skipped`` (newer backups that could not be used).
    """
    vault_path = Path(vault_path)
    path, notes = choose_backup(Path(backups_dir), key_source, name)
    why = damage_of(vault_path, key_source)
    if why is None and not force:
        raise BackupError(
            f"The vault {vault_path} is not damaged: nothing to recover",
            hint="to bring back an older state, use: vaultui --batch backup restore NAME",
        )
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    rebuilt = vault_path.with_name(f"{vault_path.name}.recovered-{stamp}")
    result = recover(path, rebuilt, key_source, progress=progress)
    moved_to: Path | None = None
    try:
        if vault_path.exists():
            moved_to = _free_name(vault_path.with_name(f"{vault_path.name}.damaged-{stamp}"))
            os.rename(vault_path, moved_to)
            journal = vault_path.with_name(vault_path.name + "-journal")
            if journal.exists():
                os.rename(journal, moved_to.with_name(moved_to.name + "-journal"))
        os.rename(rebuilt, vault_path)
        fsync_dir(vault_path.parent)
    except OSError as exc:
        if moved_to is None:  # nothing moved yet: leave everything as it was
            with contextlib.suppress(FileNotFoundError):
                rebuilt.unlink()
        raise StorageError(
            f"Could not move the recovered vault into place ({exc.strerror})",
            hint=f"the rebuilt vault is {rebuilt}; the damaged one {moved_to or vault_path}",
        ) from None
    result.update(
        target=str(vault_path),
        vault=str(vault_path),
        damaged=why or "not damaged (recovered with force)",
        moved_aside=str(moved_to) if moved_to is not None else None,
        skipped=notes,
    )
    return result


def _free_name(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... whichever does not exist yet."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate
