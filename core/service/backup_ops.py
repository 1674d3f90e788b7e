"""Backups made, listed and verified by whoever holds the key, registered as the
operations ``backup_create``, ``backup_list`` and ``backup_verify``.

They let ``vaultui --batch backup create/list/verify`` run inside the unlock agent (which
never hands out its key) and give the same data as the in-process commands. Restoring
and recovering stay in the command's own process: they replace the vault file the agent
holds open. The backup manager audits what it does; a listing is audited by dispatch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import ValidationError
from core.service.registry import ProgressFn, op

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager


def _text(value: Any, what: str) -> None:
    """ValidationError unless ``value`` is None or text (requests come from outside)."""
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"The backup {what} must be text")


def _backups(manager: SecretsManager, folder: str | None, *, create: bool) -> Any:
    """The home's BackupManager, or one for ``folder`` (a drive) when given."""
    _text(folder, "folder")
    if folder is None:
        return manager.backup_manager
    from core.backup.destinations import manager_at

    return manager_at(manager.backup_manager, str(folder), create=create)


def _stages(progress: ProgressFn | None) -> Any:
    """The backup manager's (stage, done, total) callback feeding ``progress``."""
    if progress is None:
        return None
    return lambda _stage, done, total: progress(done, total)


@op("backup_create")
def backup_create(
    manager: SecretsManager,
    name: str | None = None,
    incremental: bool = False,
    to_dir: str | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """A new full (or incremental) backup in the home's backups (or ``to_dir``):
    ``{"path": file, "info": its backup_list entry}``."""
    _text(name, "name")
    backups = _backups(manager, to_dir, create=True)
    path = backups.create_backup(name, incremental=bool(incremental), progress=_stages(progress))
    info = next(b for b in backups.list_backups() if b["name"] == path.stem)
    return {"path": str(path), "info": info}


@op("backup_list")
def backup_list(
    manager: SecretsManager, from_dir: str | None = None, progress: ProgressFn | None = None
) -> list[dict[str, Any]]:
    """Every backup, oldest first (:meth:`core.backup.BackupManager.list_backups`)."""
    return list(_backups(manager, from_dir, create=False).list_backups())


@op("backup_verify")
def backup_verify(
    manager: SecretsManager,
    name: str,
    from_dir: str | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """The verification report of backup ``name`` and the chain it needs."""
    _text(name, "name")
    if name is None:
        raise ValidationError("backup verify needs the backup's name")
    backups = _backups(manager, from_dir, create=False)
    return dict(backups.verify_backup(name, progress=_stages(progress)))
