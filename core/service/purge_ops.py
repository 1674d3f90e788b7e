"""Purging: the final step after ``delete``, registered as the operations ``purge`` and
``purge_deleted`` of :mod:`core.agent.ops`.

``delete`` leaves a tombstone that ``undelete`` can bring back; purging erases the
tombstone, every stored version and the history, for good. Only deleted secrets are
purged (a live one must be deleted first, so a typo cannot erase a secret in use), the
check and the erase happen in one vault transaction (nobody can undelete in between),
and each purged secret writes one ``purge`` audit event. A provider's own recycle bin is
left to its retention rules: this erases the local vault's copy.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import NotFoundError, ValidationError, VaultError
from core.service.registry import ProgressFn, op
from core.vault import validate_name

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager

_AGE = re.compile(r"(\d{1,6})([dh])")
MAX_AGE = timedelta(days=36500)
"""Ages past a century are refused (they would reach before the calendar starts)."""


def parse_age(text: str) -> timedelta:
    """``'30d'`` -> 30 days, ``'12h'`` -> 12 hours; ValidationError for anything else."""
    m = _AGE.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ValidationError(
            f"Cannot read the age {str(text)[:40]!r}", hint="use days or hours: 30d, 12h"
        )
    n = int(m.group(1))
    age = timedelta(days=n) if m.group(2) == "d" else timedelta(hours=n)
    if age > MAX_AGE:
        raise ValidationError("The age is at most 36500d (a hundred years)")
    return age


def _purge_one(manager: SecretsManager, name: str) -> None:
    """Erase the deleted secret ``name``, auditing success or failure."""
    vault = manager.vault
    try:
        with vault.transaction():  # BEGIN IMMEDIATE: the check and the erase are one step
            record = vault.record(name, include_deleted=True)
            if record is None:
                raise NotFoundError(f"Secret {name!r} not found (never stored, or purged)")
            if not record.deleted:
                raise ValidationError(
                    f"Secret {name!r} is not deleted; only deleted secrets are purged",
                    hint=f"delete it first with `vaultui --batch delete {name}`",
                )
            vault.purge(name)
    except VaultError as exc:
        manager.audit_log.log("purge", name, success=False, error_message=exc.message)
        raise
    manager.audit_log.log("purge", name, success=True)


@op("purge")
def purge(manager: SecretsManager, name: str, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Erase the deleted secret ``name`` and its history; cannot be undone.

    NotFoundError if there is no such secret, ValidationError if it is not deleted.
    """
    validate_name(name)
    _purge_one(manager, name)
    return {"purged": [name], "count": 1}


@op("purge_deleted")
def purge_deleted(
    manager: SecretsManager,
    before: str,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Erase every secret deleted more than ``before`` ago (``'30d'``, ``'12h'``).

    Returns ``{"purged": [names], "count": n, "cutoff": ISO time}``. A secret undeleted
    meanwhile is skipped (the check is repeated inside each erase).
    """
    cutoff = datetime.now(UTC) - parse_age(before)
    due = [
        r.name
        for r in manager.vault.list(include_deleted=True)
        if r.deleted and r.deleted_at is not None and r.deleted_at < cutoff
    ]
    purged: list[str] = []
    for i, name in enumerate(due, 1):
        try:
            _purge_one(manager, name)
        except (NotFoundError, ValidationError):
            pass  # purged or undeleted by someone else since the listing: not ours to erase
        else:
            purged.append(name)
        if progress is not None:
            progress(i, len(due))
    return {"purged": purged, "count": len(purged), "cutoff": cutoff.isoformat()}
