"""Backups as the app and commands see them: the backup manager and the recovery of a
damaged vault, re-exported so front ends never import :mod:`core.backup` internals. Both
audit what they do themselves."""

from __future__ import annotations

from typing import Any

from core.service.lazy import lazy_exports

_EXPORTS = {
    "BackupManager": ("core.backup", "BackupManager"),
    "Destination": ("core.backup.destinations", "Destination"),
    "describe": ("core.backup.destinations", "describe"),
    "destinations": ("core.backup.destinations", "destinations"),
    "manager_at": ("core.backup.destinations", "manager_at"),
    "recover_damaged": ("core.backup.damaged", "recover_damaged"),
    "restore_backup_file": ("core.backup", "restore_backup_file"),
}

__all__ = list(_EXPORTS)
__getattr__: Any = lazy_exports(__name__, _EXPORTS)
