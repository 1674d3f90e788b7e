"""Reading the audit trail with the vault's key, registered as the operations
``audit_list``, ``audit_stats``, ``audit_verify`` and ``audit_report``.

The trail keeps secret names sealed. A ``vaultui --batch audit ...`` command that holds
no key (the unlock agent never hands its key out) asks the agent for these, and so shows
names in clear, matches ``--secret`` filters and checks line MACs, as it does with the
key in its own process. Each read is itself audited (by dispatch). Nothing returned
holds a value: the trail holds none.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.errors import ValidationError, VaultError
from core.service.registry import ProgressFn, op

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager

MAX_LIST = 100_000
"""Events one ``audit_list`` reply holds at most (``limit`` 0 means all, up to this)."""


def _filters(**text: Any) -> Any:
    from core.audit import Filters

    for key, value in text.items():
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"audit filter {key!r} must be text")
    return Filters.from_text(**text)


@op("audit_list")
def audit_list(
    manager: SecretsManager,
    limit: int = 50,
    secret: str | None = None,
    operation: str | None = None,
    user: str | None = None,
    success: str | None = None,
    since: str | None = None,
    until: str | None = None,
    source: str | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """The newest ``limit`` events matching the filters (0: all, up to
    :data:`MAX_LIST`), opened: ``{"events", "total", "filters"}`` (``filters`` is the
    filters described in words)."""
    if not isinstance(limit, int) or limit < 0:
        raise ValidationError("audit_list takes a limit of 0 or more")
    view = manager.audit_log.view(
        _filters(
            secret=secret,
            operation=operation,
            user=user,
            success=success,
            since=since,
            until=until,
            source=source,
        )
    )
    total = view.reload()
    shown = min(limit or MAX_LIST, MAX_LIST)
    rows = [view.row(i) for i in range(max(0, total - shown), total)]
    events = [r.event for r in rows if r is not None and r.event is not None]
    return {"events": events, "total": total, "filters": view.filters.describe()}


@op("audit_stats")
def audit_stats(
    manager: SecretsManager, name: str | None = None, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Access statistics for secret ``name`` (or the whole trail)."""
    if name is not None and not isinstance(name, str):
        raise ValidationError("audit_stats takes a secret name")
    return dict(manager.audit_log.stats(name))


@op("audit_verify")
def audit_verify(manager: SecretsManager, progress: ProgressFn | None = None) -> dict[str, Any]:
    """The chain check with line MACs (:meth:`VerifyReport.to_dict`)."""
    return manager.audit_log.verify().to_dict()


@op("audit_report")
def audit_report(
    manager: SecretsManager,
    since: str = "30d",
    report_format: str = "md",
    verify: bool = True,
    progress: ProgressFn | None = None,
) -> str:
    """The compliance report's text for the period ``since``, with the vault's secrets
    and the newest backup's time (as the in-process command builds it)."""
    from core.audit.report import FORMATS, build

    if report_format not in FORMATS or not isinstance(since, str):
        raise ValidationError(f"audit_report takes a format of {', '.join(FORMATS)}")
    return build(
        manager.audit_log,
        since,
        report_format,
        secrets=manager.vault.list(),
        last_backup=last_backup_time(manager),
        verify=bool(verify),
    )


def last_backup_time(manager: SecretsManager) -> datetime | None:
    """When the newest backup was made, or None (none yet, or the catalog unreadable):
    the audit report's "last backup" line, in the agent and in the command alike."""
    try:
        backups = manager.list_backups()
    except (VaultError, OSError):
        return None
    stamps = []
    for b in backups or []:
        try:
            stamps.append(datetime.fromisoformat(str(b["created_at"])))
        except (KeyError, TypeError, ValueError):
            continue
    return max(stamps, default=None, key=lambda d: d.timestamp())
