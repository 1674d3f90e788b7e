"""Moving and copying secrets, registered as the operations ``rename`` and ``copy`` of
:mod:`core.agent.ops` (``vaultui --batch mv`` and ``cp``).

``rename`` keeps the record (history, stages, rotation settings, tags, description) and
changes its name; ``copy`` makes a new version under the target name holding the
source's current value with its description, tags and rotation policy, but not its
history. Both refuse a live target unless ``force``, and each writes exactly one audit
event (``rename`` / ``copy``, naming both secrets, never a value). With an external
provider the provider is written first (as ``store_secret`` does), then the vault.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import ConflictError, NotFoundError, ValidationError, VaultError
from core.service.ops import ProgressFn, op, record_to_dict
from core.vault import validate_name
from core.vault.rename import rename as rename_record

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager

COPIED_ROTATION_KEYS = ("policy", "generator", "hooks")
"""The rotation settings a copy takes over (not the source's rotation state)."""


def _failed(manager: SecretsManager, operation: str, src: str, dst: str, exc: VaultError) -> None:
    manager.audit_log.log(operation, src, success=False, error_message=exc.message, target=dst)


@op("rename")
def rename(
    manager: SecretsManager,
    name: str,
    new_name: str,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Rename ``name`` to ``new_name`` with its whole history; ConflictError if
    ``new_name`` is a live secret and not ``force``. Returns ``{record, replaced}``."""
    vault = manager.vault
    try:
        validate_name(name)
        validate_name(new_name)
        record = vault.record(name)
        if record is None:
            raise NotFoundError(f"Secret {name!r} not found")
        if not force and vault.record(new_name) is not None:
            raise ConflictError(
                f"Secret {new_name!r} already exists", hint="use --force to replace it"
            )
        if manager.provider is not None:
            current = vault.get(name)
            if current is not None:
                manager.provider.put(new_name, current.value)
        # check-and-set: a write to `name` since we looked is a conflict, not lost
        new, replaced = rename_record(vault, name, new_name, replace=force, expected_rev=record.rev)
        if manager.provider is not None:
            manager.provider.delete(name)
    except VaultError as exc:
        _failed(manager, "rename", name, new_name, exc)
        raise
    manager.audit_log.log(
        "rename", name, success=True, version=new.version, target=new_name, replaced=replaced
    )
    return {"record": record_to_dict(new), "replaced": replaced}


@op("copy")
def copy(
    manager: SecretsManager,
    name: str,
    new_name: str,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Store the current value of ``name`` (with description, tags and rotation policy)
    as a new version of ``new_name``; ConflictError if ``new_name`` is a live secret and
    not ``force``. Returns ``{record, replaced}``."""
    vault = manager.vault
    try:
        validate_name(name)
        validate_name(new_name)
        if name == new_name:
            raise ValidationError("The source and the target are the same secret")
        source = vault.get(name)
        if source is None:
            raise NotFoundError(f"Secret {name!r} not found")
        meta = source.record
        rotation = {k: v for k, v in (meta.rotation or {}).items() if k in COPIED_ROTATION_KEYS}
        extra: dict[str, Any] | None = None
        target = vault.record(new_name)
        if target is not None and not force:
            raise ConflictError(
                f"Secret {new_name!r} already exists", hint="use --force to replace it"
            )
        if manager.provider is not None:
            # the provider first, as store_secret does, and outside the vault's write
            # lock (a slow provider must not block other writers)
            version_id = manager.provider.put(new_name, source.value)
            extra = {"provider": manager.provider_name, "provider_version": version_id}
        with vault.transaction():
            target = vault.record(new_name)  # again, under the lock
            if target is not None and not force:
                raise ConflictError(
                    f"Secret {new_name!r} was created meanwhile", hint="use --force to replace it"
                )
            new = vault.put(
                new_name,
                source.value,
                description=meta.description,
                tags=dict(meta.tags),
                rotation=rotation,
                extra=extra,
                who=manager.settings.user,
                why=f"copy of {name} version {meta.version}",
                source=manager.source,
            )
    except VaultError as exc:
        _failed(manager, "copy", name, new_name, exc)
        raise
    manager.audit_log.log(
        "copy",
        name,
        success=True,
        version=new.version,
        target=new_name,
        replaced=target is not None,
    )
    return {"record": record_to_dict(new), "replaced": target is not None}
