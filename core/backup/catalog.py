"""The backups of a folder: what each file is, how they chain, and what cleanup may delete.

Only the head and manifest of each file are read (a few hundred bytes), so listing a
folder of large backups is fast. A file that cannot be read or authenticated with this
vault's key is listed as damaged and never deleted automatically.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.backup.container import EXTENSION, read_manifest
from core.errors import BackupError, BackupIntegrityError, NotFoundError, VaultError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # fullmatch: "$" passes "x\n"


def check_name(name: str) -> str:
    """A backup name (the file name without ``.vbak``); raises BackupError if invalid."""
    if isinstance(name, str) and name.endswith(EXTENSION):
        name = name[: -len(EXTENSION)]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BackupError(
            f"Invalid backup name {name!r}: use 1-128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class BackupInfo:
    """One backup file as its manifest describes it."""

    name: str
    path: Path
    id: str
    type: str
    parent_id: str | None
    parent_name: str | None
    root_id: str
    vault_id: str
    seq_from: int
    seq_to: int
    created_ts: float
    secret_count: int
    size_bytes: int
    mtime_ns: int
    manifest: dict[str, Any] = field(repr=False, compare=False)

    @property
    def created_at(self) -> datetime:
        """When the backup was taken (UTC)."""
        return datetime.fromtimestamp(self.created_ts, UTC)


@dataclass(frozen=True)
class Damaged:
    """A ``.vbak`` file that could not be read or authenticated with this vault's key."""

    name: str
    path: Path
    error: str
    size_bytes: int
    mtime: float


def _info(path: Path, manifest: dict[str, Any]) -> BackupInfo:
    st = path.stat()
    parent = manifest.get("parent") or {}
    return BackupInfo(
        name=path.name[: -len(EXTENSION)],
        path=path,
        id=str(manifest["id"]),
        type=str(manifest["type"]),
        parent_id=parent.get("id"),
        parent_name=parent.get("name"),
        root_id=str(manifest.get("root") or manifest["id"]),
        vault_id=str(manifest["vault_id"]),
        seq_from=int(manifest["seq_from"]),
        seq_to=int(manifest["seq_to"]),
        created_ts=float(manifest["created_ts"]),
        secret_count=int(manifest.get("secret_count", 0)),
        size_bytes=st.st_size,
        mtime_ns=st.st_mtime_ns,
        manifest=manifest,
    )


def read_info(path: Path, root: bytes, vault_id: bytes | None) -> BackupInfo:
    """The manifest of one file (authenticated). Raises BackupIntegrityError/NotFoundError."""
    _head, manifest = read_manifest(path, root, vault_id)
    try:
        return _info(path, manifest)
    except (KeyError, TypeError, ValueError):
        raise BackupError(f"Backup {path.name} has an incomplete manifest") from None


def scan(
    folder: Path, root: bytes, vault_id: bytes | None
) -> tuple[list[BackupInfo], list[Damaged]]:
    """Every backup file in ``folder``, oldest first, and the ones that are damaged."""
    good: list[BackupInfo] = []
    bad: list[Damaged] = []
    if not folder.is_dir():
        return good, bad
    for path in sorted(folder.glob("*" + EXTENSION)):
        if path.name.startswith("."):
            continue
        try:
            good.append(read_info(path, root, vault_id))
        except FileNotFoundError:
            continue  # removed meanwhile
        except (VaultError, OSError) as exc:
            if isinstance(exc, NotFoundError):
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            message = exc.message if isinstance(exc, VaultError) else str(exc)
            bad.append(
                Damaged(path.name[: -len(EXTENSION)], path, message, st.st_size, st.st_mtime)
            )
    good.sort(key=lambda b: (b.created_ts, b.seq_to, b.name))
    return good, bad


def chain_of(
    info: BackupInfo, by_id: dict[str, BackupInfo], damaged: Iterable[Damaged] = ()
) -> list[BackupInfo]:
    """The chain from the full backup to ``info`` (oldest first).

    Raises BackupError naming the first missing or mismatched link, or the link's
    BackupIntegrityError when that file is present but damaged (see :func:`scan`).
    """
    chain = [info]
    seen = {info.id}
    while chain[-1].type != "full":
        child = chain[-1]
        parent = by_id.get(child.parent_id or "")
        if parent is None:
            for bad in damaged:
                if bad.name == child.parent_name:
                    raise BackupIntegrityError(bad.error)
            raise BackupError(
                f"Backup chain incomplete: {child.name!r} needs its parent "
                f"{child.parent_name!r}, which is missing"
            )
        if parent.seq_to != child.seq_from or parent.id in seen:
            raise BackupError(
                f"Backup chain broken: {child.name!r} does not continue {parent.name!r} "
                f"(change sequence {parent.seq_to} vs {child.seq_from})"
            )
        seen.add(parent.id)
        chain.append(parent)
    chain.reverse()
    return chain


def find(infos: Iterable[BackupInfo], name: str) -> BackupInfo | None:
    """The backup called ``name`` (with or without the extension), or None."""
    name = name[: -len(EXTENSION)] if name.endswith(EXTENSION) else name
    for info in infos:
        if info.name == name:
            return info
    return None


def cleanup_plan(
    infos: list[BackupInfo], *, cutoff_ts: float, keep_last: int | None
) -> list[BackupInfo]:
    """Backups that may be deleted: older than ``cutoff_ts``, not among the newest
    ``keep_last``, and not an ancestor of any backup that is kept."""
    ordered = sorted(infos, key=lambda b: (b.created_ts, b.seq_to))
    keep = {b.id for b in ordered if b.created_ts >= cutoff_ts}
    if keep_last:
        keep |= {b.id for b in ordered[-keep_last:]}
    by_id = {b.id: b for b in ordered}
    for bid in list(keep):
        node = by_id[bid]
        guard = 0
        while node.parent_id and node.parent_id in by_id and guard <= len(by_id):
            node = by_id[node.parent_id]
            keep.add(node.id)
            guard += 1
    return [b for b in ordered if b.id not in keep]
