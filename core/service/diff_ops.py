"""Comparing two versions of a secret, registered as the operation ``history_diff`` of
:mod:`core.agent.ops` (``vaultui --batch history NAME --diff A B`` and the app).

The values are read straight from the vault (no ON_ACCESS rotation, no provider
round trip: past versions live only in the vault) and the comparison is
:func:`core.version_diff.diff_values`. One ``history_diff`` audit event names the two
versions and whether values were revealed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import NotFoundError, VaultError
from core.service.ops import ProgressFn, op
from core.vault import validate_name
from core.version_diff import diff_values

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager


@op("history_diff")
def history_diff(
    manager: SecretsManager,
    name: str,
    a: int,
    b: int,
    reveal: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """What changed from version ``a`` to version ``b`` of ``name`` (masked unless
    ``reveal``); NotFoundError if the secret or either version does not exist."""
    validate_name(name)
    try:
        old = manager.vault.get(name, version=int(a))
        new = manager.vault.get(name, version=int(b))
        if old is None or new is None:
            raise NotFoundError(f"Secret {name!r} not found")
    except VaultError as exc:
        manager.audit_log.log("history_diff", name, success=False, error_message=exc.message)
        raise
    result = diff_values(
        old.value, new.value, reveal=bool(reveal), a_label=f"v{a}", b_label=f"v{b}"
    )
    manager.audit_log.log(
        "history_diff", name, success=True, versions=[int(a), int(b)], revealed=bool(reveal)
    )
    return {"name": name, "a": int(a), "b": int(b), "revealed": bool(reveal), **result}
