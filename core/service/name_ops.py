"""Secret names for shell completion, registered as the operation ``complete_names`` of
:mod:`core.agent.ops`. Names only (never a value), capped, one audit event per call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.service.ops import ProgressFn, _audit, op

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager

MAX_NAMES = 2000
"""A shell shows a few screens of candidates at most; more only slows the TAB."""


@op("complete_names")
def complete_names(
    manager: SecretsManager,
    prefix: str = "",
    deleted: bool = False,
    progress: ProgressFn | None = None,
) -> list[str]:
    """Names of live secrets (or, with ``deleted``, of deleted ones: what ``undelete``
    and ``purge`` take) that start with ``prefix``, sorted, at most MAX_NAMES."""
    prefix = prefix if isinstance(prefix, str) else ""
    if deleted:
        pool = [r.name for r in manager.vault.list(include_deleted=True) if r.deleted]
    else:
        pool = manager.vault.names()
    names = [n for n in pool if n.startswith(prefix)]
    names.sort()
    _audit(manager, "complete_names", count=min(len(names), MAX_NAMES))
    return names[:MAX_NAMES]
