"""Sync as the app and commands see it: the audited calls (resolving a conflict, merging
another copy of the vault) and the sync engine's public calls and types, re-exported so
front ends never import :mod:`core.sync` internals."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import VaultError
from core.service.lazy import lazy_exports

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager
    from core.sync.merge import MergeReport

_EXPORTS = {
    "MergeReport": ("core.sync.merge", "MergeReport"),
    "Remote": ("core.sync.service", "Remote"),
    "SyncReport": ("core.sync.report", "SyncReport"),
    "SyncScheduler": ("core.sync.background", "SyncScheduler"),
    "add_remote": ("core.sync.service", "add_remote"),
    "SLOT_AGE": ("core.vault.keys", "SLOT_AGE"),
    "bootstrap": ("core.sync.sealed", "bootstrap"),
    "join_as_member": ("core.sync.sealed", "join_as_member"),
    "copy_patterns": ("core.sync.copies", "copy_patterns"),
    "describe_vault_file": ("core.sync.gitdriver", "describe"),
    "dismiss_conflict": ("core.sync.conflicts", "dismiss"),
    "find_conflict_copies": ("core.sync.service", "find_conflict_copies"),
    "get_conflict": ("core.sync.conflicts", "get_conflict"),
    "key_file_warnings": ("core.sync.synced_folder", "key_file_warnings"),
    "list_conflicts": ("core.sync.conflicts", "list_conflicts"),
    "load_config": ("core.sync.service", "load_config"),
    "make_provider": ("core.sync.service", "make_provider"),
    "merge_into": ("core.sync.gitdriver", "merge_into"),
    "register_git_drivers": ("core.sync.gitdriver", "register"),
    "run_sync": ("core.sync.service", "run_sync"),
    "save_config": ("core.sync.service", "save_config"),
    "side_value": ("core.sync.conflicts", "side_value"),
    "status": ("core.sync.service", "status"),
}
"""Public name -> (module, name) of the sync engine's calls and types, imported on first
use so that importing this module stays cheap (the app's file watcher imports it)."""

__all__ = [*_EXPORTS, "merge", "resolve_conflict"]


__getattr__ = lazy_exports(__name__, _EXPORTS)


def resolve_conflict(
    manager: SecretsManager, conflict_id: str, choice: str, value: Any = None
) -> dict[str, Any]:
    """Settle a sync conflict by keeping ``mine``, ``theirs`` or a ``merged`` ``value``;
    the settled conflict (audited as one 'sync_resolve' naming the choice)."""
    from core.sync.conflicts import resolve

    item = resolve(manager.vault, conflict_id, choice, value=value, who=manager.settings.user)
    manager.audit_log.log("sync_resolve", item["name"], success=True, choice=choice)
    return item


def merge(manager: SecretsManager, other: Path | str, *, dry_run: bool = False) -> MergeReport:
    """Merge another copy of this vault (a USB copy, a sync tool's conflict copy) field by
    field; the report. Audited as one 'merge' (success or failure) unless ``dry_run``."""
    from core.sync.merge import merge_file

    other = Path(other)
    try:
        report = merge_file(manager.vault, other, dry_run=dry_run)
    except VaultError as exc:
        manager.audit_log.log("merge", None, success=False, error_message=exc.message)
        raise
    if not dry_run:
        manager.audit_log.log(
            "merge",
            None,
            success=True,
            other_file=other.name,
            changed=report.changed,
            conflicts=len(report.conflicts),
        )
    return report
