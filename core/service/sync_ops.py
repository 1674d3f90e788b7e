"""Sync run and inspected by whoever holds the key, registered as the operations
``sync_status``, ``sync_conflicts`` and ``sync_run``, so ``vaultui --batch sync`` with a
remote, ``--status`` and ``--conflicts`` run inside the unlock agent with the same data
as in-process. A sync audits itself (:func:`core.sync.service.run_sync`); the two reads
are audited by dispatch."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.errors import ValidationError
from core.service.registry import ProgressFn, op

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager


def _plain(data: Any) -> Any:
    """``data`` with paths and other objects as strings (the agent sends plain data)."""
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    if data is None or isinstance(data, bool | int | float | str):
        return data
    return str(data)


@op("sync_status")
def sync_status(manager: SecretsManager, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Remotes, last syncs, pending changes, open conflicts and conflict copies."""
    from core.sync.service import status

    out: dict[str, Any] = _plain(status(manager.vault))
    return out


@op("sync_conflicts")
def sync_conflicts(
    manager: SecretsManager, progress: ProgressFn | None = None
) -> list[dict[str, Any]]:
    """The open sync conflicts (names and fields, never values)."""
    from core.sync.conflicts import list_conflicts

    out: list[dict[str, Any]] = _plain(list_conflicts(manager.vault))
    return out


def choose_remotes(
    manager: SecretsManager,
    provider: str | None,
    sealed: bool,
    all_remotes: bool,
    save: bool,
) -> list[tuple[str, bool]]:
    """The remotes a sync runs against, as (provider, sealed): every saved one with
    ``all_remotes`` (possibly none), else ``provider`` (saved first with ``save``)."""
    from core.sync import service

    vault = manager.vault
    if all_remotes:
        return [(r.provider, r.mode == "sealed") for r in service.load_config(vault).remotes]
    if isinstance(provider, str) and provider:
        if save:
            service.add_remote(vault, service.Remote(provider, "sealed" if sealed else "native"))
        return [(provider, bool(sealed))]
    raise ValidationError("sync needs --provider NAME (or --all, --status, --conflicts)")


def sync_remotes(
    manager: SecretsManager,
    remotes: list[tuple[str, bool]],
    *,
    dry_run: bool,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[dict[str, Any]]:
    """Sync with each of ``remotes``; per remote ``{"name", "sealed", "ok", "report"}``
    with the report's plain ``to_dict()`` (the same for the agent and the command)."""
    from core.sync import service

    out = []
    for name, is_sealed in remotes:
        report = service.run_sync(
            manager.vault,
            manager.settings,
            name,
            sealed=is_sealed,
            dry_run=bool(dry_run),
            audit=None if dry_run else manager.audit_log,
            progress=progress,
        )
        out.append(
            {"name": name, "sealed": is_sealed, "ok": report.ok, "report": _plain(report.to_dict())}
        )
    return out


@op("sync_run")
def sync_run(
    manager: SecretsManager,
    provider: str | None = None,
    sealed: bool = False,
    all_remotes: bool = False,
    save: bool = False,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
) -> list[dict[str, Any]]:
    """Sync with ``provider`` (or every saved remote with ``all_remotes``); per remote
    ``{"name", "sealed", "ok", "report"}`` with the report's ``to_dict()`` (an empty
    list for ``all_remotes`` when none is saved: the command says so)."""
    remotes = choose_remotes(manager, provider, sealed, all_remotes, save)
    return sync_remotes(
        manager,
        remotes,
        dry_run=dry_run,
        progress=None if progress is None else (lambda d, t, _what: progress(d, t)),
    )
