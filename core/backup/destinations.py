"""Backups somewhere else: a mounted drive, a network share, any folder.

A destination is a folder of backup files, exactly like the home's ``backups/``: a
:class:`~core.backup.BackupManager` over it creates, lists, verifies and restores there
(each folder keeps its own incremental chains). Destinations come from
``backup ... --to DIR`` / ``--from DIR`` and from ``VAULTUI_BACKUP_DIRS`` (folders
separated by ``:``).

Where a folder is missing: to write, it is created (0700) only if its parent exists, so
an unmounted drive's mount point is never silently filled on the local disk; to read,
a missing folder is an error. Backup files are encrypted and created exclusively
(0600, never overwriting) by the manager.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import NotFoundError, StorageError, ValidationError

if TYPE_CHECKING:
    from core.backup.manager import BackupManager


@dataclass(frozen=True)
class Destination:
    """A backup folder and where it was named: 'home', 'configured' or 'given'."""

    path: Path
    kind: str


def destinations(settings: Any) -> list[Destination]:
    """The home's backups folder, then every configured one (VAULTUI_BACKUP_DIRS)."""
    out = [Destination(Path(settings.backups_dir), "home")]
    seen = {os.path.abspath(settings.backups_dir)}
    for path in getattr(settings, "backup_dirs", ()):
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            out.append(Destination(Path(path), "configured"))
    return out


def folder(path: Path | str, *, create: bool) -> Path:
    """``path`` as a usable backup folder (absolute).

    ``create``: make the folder (0700) if it is missing and its parent exists; else it
    must already be a folder. Raises NotFoundError, StorageError or ValidationError
    naming the folder.
    """
    raw = str(path)
    if not raw.strip() or "\x00" in raw:
        raise ValidationError("A backup destination must be a folder path")
    p = Path(raw).expanduser().absolute()
    if p.is_dir():
        return p
    if p.exists():
        raise ValidationError(f"{p} is not a folder")
    if not create:
        raise NotFoundError(f"No backups folder at {p}", hint="is the drive mounted?")
    if not p.parent.is_dir():
        raise StorageError(
            f"Cannot create {p}: {p.parent} does not exist",
            hint="is the drive mounted? create the folder first if it is a new place",
        )
    try:
        p.mkdir(mode=0o700)
    except FileExistsError:
        pass  # made by another process meanwhile
    except OSError as exc:
        raise StorageError(f"Cannot create {p}: {exc.strerror}") from None
    if stat.S_IMODE(p.stat().st_mode) != 0o700:
        os.chmod(p, 0o700)  # the umask narrowed mkdir's mode, never widened it
    return p


def manager_at(base: BackupManager, path: Path | str, *, create: bool) -> BackupManager:
    """A BackupManager like ``base`` (same vault, audit trail, user, clock) writing to
    or reading from ``path``."""
    from core.backup.manager import BackupManager

    return BackupManager(
        base.vault,
        folder(path, create=create),
        audit=base.audit,
        user=base.user,
        clock=base.clock,
    )


def describe(base: BackupManager, dest: Destination) -> dict[str, Any]:
    """What a destination holds: ``path``, ``kind``, ``available``, ``count``,
    ``newest`` (name), ``newest_at`` (ISO time), ``broken`` (count) and ``error``."""
    out: dict[str, Any] = {
        "path": str(dest.path),
        "kind": dest.kind,
        "available": False,
        "count": 0,
        "newest": None,
        "newest_at": None,
        "broken": 0,
        "error": None,
    }
    try:
        if dest.kind == "home":
            listed = base.list_backups()
        else:
            listed = manager_at(base, dest.path, create=False).list_backups()
    except NotFoundError:
        out["error"] = "not found (is the drive mounted?)"
        return out
    except (OSError, StorageError, ValidationError) as exc:
        out["error"] = getattr(exc, "message", None) or str(exc)
        return out
    out["available"] = True
    out["count"] = len(listed)
    out["broken"] = sum(1 for b in listed if b.get("status") != "ok")
    if listed:
        out["newest"] = listed[-1]["name"]
        out["newest_at"] = listed[-1]["created_at"]
    return out
