"""Rotation on request, registered as the operations ``rotate``, ``rotate_due``,
``rotation_status`` and ``rotation_policy``, so ``vaultui --batch rotate NAME``,
``rotate --due``, ``rotation status`` and ``policy NAME ...`` run inside the unlock
agent. The rotation manager audits each rotation and policy change itself; dispatch
audits the reads. Nothing returned carries a value
(:mod:`core.rotation.results`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import ValidationError
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
    result: dict[str, Any] = manager.rotation_manager.rotate(name, reason="manual").to_dict()
    return result


@op("rotate_due")
def rotate_due(manager: SecretsManager, progress: ProgressFn | None = None) -> list[dict[str, Any]]:
    """Rotate every secret that is due, once; each result's ``to_dict()``."""
    return [r.to_dict() for r in manager.rotation_manager.rotate_due()]


@op("rotation_status")
def rotation_status(manager: SecretsManager, progress: ProgressFn | None = None) -> dict[str, Any]:
    """The schedule: ``now``, ``rotation_active``, ``workers``, ``secrets`` (each row's
    ``to_dict()``) and ``exposed`` (secrets a removed member could read)."""
    from core.rotation.info import iso
    from core.service.members import exposed_secrets

    rotation = manager.rotation_manager
    now = rotation.clock()
    workers = rotation.workers()
    return {
        "now": iso(now),
        "rotation_active": bool(workers) or rotation.is_running,
        "workers": workers,
        "secrets": [r.to_dict() for r in rotation.schedule(now)],
        "exposed": exposed_secrets(manager.vault),
    }


@op("rotation_policy")
def rotation_policy(
    manager: SecretsManager,
    name: str,
    policy: str | None = None,
    generator: str | None = None,
    hooks: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Set ``name``'s policy, generator or hooks when any is given (an unset policy
    keeps the current one); the secret's rotation status ``to_dict()`` either way."""
    validate_name(name)
    if hooks is not None and not isinstance(hooks, dict):
        raise ValidationError("rotation_policy takes hooks as a mapping")
    for text in (policy, generator):
        if text is not None and not isinstance(text, str):
            raise ValidationError("rotation_policy takes the policy and generator as text")
    rotation = manager.rotation_manager
    if policy is not None or generator is not None or hooks:
        current = policy if policy is not None else rotation.info(name).policy
        rotation.set_policy(name, current, generator=generator, hooks=hooks or None)
    status: dict[str, Any] = rotation.status(name).to_dict()
    return status
