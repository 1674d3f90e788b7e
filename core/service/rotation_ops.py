"""Rotating secrets on request, registered as the operations ``rotate`` and
``rotate_due``, so ``vaultui --batch rotate NAME`` and ``rotate --due`` run inside the
unlock agent. The rotation manager audits each rotation itself; the results carry no
values (:class:`core.rotation.results.RotationResult`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.service.registry import ProgressFn, op
from core.vault import validate_name

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager


@op("rotate")
def rotate(
    manager: SecretsManager, name: str, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Rotate ``name`` now (reason 'manual'); the result's ``to_dict()``."""
    validate_name(name)
    return manager.rotation_manager.rotate(name, reason="manual").to_dict()


@op("rotate_due")
def rotate_due(manager: SecretsManager, progress: ProgressFn | None = None) -> list[dict]:
    """Rotate every secret that is due, once; each result's ``to_dict()``."""
    return [r.to_dict() for r in manager.rotation_manager.rotate_due()]
