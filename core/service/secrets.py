"""The audited secret calls: each validates its input, does its one thing and writes
exactly one audit event (success or failure), whatever front end called it.

The facade (:mod:`core.secrets_manager`), the named operations (:mod:`core.service.ops`,
run by ``--batch`` and the agent) and the app's screens all call these, so a new front
end gets the same checks and the same trail. Results are typed: a :class:`Read`, or the
:class:`~core.vault.SecretRecord` a write produced. No event, error or result other than
an explicit value read carries a secret value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import AuditError, NotFoundError, ValidationError, VaultError
from core.vault import SecretRecord, VersionInfo, validate_name

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager

VALUE_USES = ("read", "reveal", "copy")
"""How a value read is audited: a plain read, shown on screen, or put on the clipboard."""


@dataclass(frozen=True)
class Read:
    """One audited read: the value, the record it belongs to, and where it came from
    (``provider``, ``local``, ``local-only`` or ``fallback``, see core.read_through)."""

    value: Any
    record: SecretRecord
    origin: str


def committed(manager: SecretsManager, operation: str, name: str, version: int) -> None:
    """Audit a change that is already committed to the vault.

    If the trail cannot be written (say the disk holding logs/ is full), the error says
    plainly that the change itself was stored, so a caller does not retry it and add a
    duplicate version (an unaudited success is never silent).
    """
    try:
        manager.audit_log.log(operation, name, success=True, version=version)
    except AuditError as exc:
        raise AuditError(
            f"The {operation} of {name!r} was stored (version {version}) but could not "
            f"be written to the audit log: {exc.message}"
        ) from None


def _failed(manager: SecretsManager, operation: str, name: str | None, message: str) -> None:
    manager.audit_log.log(operation, name, success=False, error_message=message)


def read(
    manager: SecretsManager,
    name: str,
    *,
    use: str = "read",
    stage: str | None = None,
    version: int | None = None,
    local: bool = False,
    pick: Callable[[Any], str | None] | None = None,
    **detail: Any,
) -> Read | None:
    """The value of ``name`` (or of a ``stage``/``version``), or None if absent.

    Audited once as ``use`` (``read``, ``reveal`` or ``copy``) with ``detail`` (say
    ``field=`` or ``purpose=``: names, never values); ``pick(value)`` names the field of a
    dict value being used when only the value tells (the first one, the highlighted one).
    ``local`` reads the vault's own copy even when a provider is configured (the editor
    edits that copy). Raises
    WrongKeyError/IntegrityError on a tampered record (never wrong data). A secret with
    the ON_ACCESS policy is rotated after a read of its current value.
    """
    if use not in VALUE_USES:
        raise ValidationError(f"Unknown use {use!r}: use read, reveal or copy")
    try:
        validate_name(name)
        if local:
            secret = manager.vault.get(name, stage=stage, version=version)
            found = Read(secret.value, secret.record, "local") if secret else None
        else:
            found = _read_through(manager, name, stage, version)
    except VaultError as exc:
        _failed(manager, use, name, exc.message)
        raise
    if found is None:
        _failed(manager, use, name, "secret not found")
        return None
    # a value the provider did not give is audited as such
    if found.origin in ("local-only", "fallback"):
        detail["origin"] = found.origin
    if pick is not None and (field := pick(found.value)) is not None:
        detail["field"] = field
    manager.audit_log.log(use, name, success=True, version=found.record.version, **detail)
    policy = (found.record.rotation or {}).get("policy")
    if policy == "on_access" and stage is None and version is None:
        manager.rotation_manager.after_access(name)  # never raises; failures are audited
    return found


def _read_through(
    manager: SecretsManager, name: str, stage: str | None, version: int | None
) -> Read | None:
    from core.read_through import read_through

    found = read_through(manager, name, stage=stage, version=version)
    manager._origins.value = found.origin if found.record is not None else None
    if found.record is None:
        return None
    return Read(found.value, found.record, found.origin)


def store(
    manager: SecretsManager,
    name: str,
    value: str | bytes | dict[str, Any],
    description: str | None = None,
    tags: dict[str, str] | list[str] | None = None,
    *,
    expected_version: int | None = None,
    why: str | None = None,
) -> SecretRecord:
    """Store ``value`` under ``name`` as a new version; the new record (audited 'write').

    A description (or tags) of None keeps the existing one. With an external provider the
    value goes to the provider first, then to the local encrypted cache. Raises
    InvalidNameError / ValueTooLargeError / ConflictError / ProviderError.
    """
    extra: dict[str, Any] | None = None
    try:
        validate_name(name)
        if manager.provider is not None:
            existing = manager.vault.record(name)
            version_id = manager.provider.put(name, value)
            extra = dict(existing.extra) if existing else {}
            extra.update(provider=manager.provider_name, provider_version=version_id)
        record = manager.vault.put(
            name,
            value,
            description=description,
            tags=tags,
            expected_version=expected_version,
            who=manager.settings.user,
            why=why or "store",
            source=manager.source,
            extra=extra,
        )
    except VaultError as exc:
        _failed(manager, "write", name, exc.message)
        raise
    committed(manager, "write", name, record.version)
    return record


def delete(manager: SecretsManager, name: str) -> SecretRecord | None:
    """Tombstone ``name`` (undo with :func:`undelete`); its tombstone record, or None if
    it was not live (audited as a failed 'delete')."""
    try:
        validate_name(name)
        record = manager.vault.delete(name, who=manager.settings.user, why="delete")
        if manager.provider is not None:
            manager.provider.delete(name)
    except NotFoundError as exc:
        _failed(manager, "delete", name, exc.message)
        return None
    except VaultError as exc:
        _failed(manager, "delete", name, exc.message)
        raise
    committed(manager, "delete", name, record.version)
    return record


def undelete(manager: SecretsManager, name: str) -> SecretRecord | None:
    """Bring back a deleted secret; its live record, or None if there is nothing to bring
    back (audited as a failed 'undelete')."""
    try:
        record = manager.vault.undelete(name)
        if manager.provider is not None:
            secret = manager.vault.get(name)
            if secret is not None:
                manager.provider.put(name, secret.value)
    except (NotFoundError, ValidationError) as exc:
        _failed(manager, "undelete", name, exc.message)
        return None
    committed(manager, "undelete", name, record.version)
    return record


def rollback(manager: SecretsManager, name: str, version: int) -> SecretRecord:
    """Make ``version``'s value current again, as a new version; the new record."""
    try:
        record = manager.vault.rollback(
            name, int(version), who=manager.settings.user, source=manager.source
        )
    except VaultError as exc:
        _failed(manager, "rollback", name, exc.message)
        raise
    committed(manager, "rollback", name, record.version)
    return record


def update_metadata(
    manager: SecretsManager,
    name: str,
    *,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    rotation_policy: Any = None,
    expected_rev: int | None = None,
) -> SecretRecord | None:
    """Change description, tags or rotation policy of ``name`` (None: unchanged); the
    updated record, or None if absent. Check-and-set on the record revision
    (``expected_rev``, default: the one just read): ConflictError if it changed."""
    from core.rotation.policy import parse_policy, policy_to_str

    record = manager.vault.record(name)
    if record is None:
        _failed(manager, "update_metadata", name, "not found")
        return None
    rotation = None
    try:
        if rotation_policy is not None:
            policy = policy_to_str(parse_policy(rotation_policy))
            if policy != (record.rotation or {}).get("policy", "never"):
                rotation = {**(record.rotation or {}), "policy": policy}
        new = manager.vault.update_meta(
            name,
            description=description,
            tags=tags,
            rotation=rotation,
            expected_rev=record.rev if expected_rev is None else expected_rev,
        )
    except VaultError as exc:
        _failed(manager, "update_metadata", name, exc.message)
        raise
    committed(manager, "update_metadata", name, new.version)
    return new


def list_records(
    manager: SecretsManager,
    *,
    filter: str | None = None,
    tags: dict[str, str | None] | None = None,
    include_deleted: bool = False,
) -> list[SecretRecord]:
    """Metadata of every secret (no values), by name; audited as one 'list' with the
    count. ``filter`` is a case-insensitive substring of the name or description,
    ``tags`` maps key -> value (None: any value)."""
    records = manager.vault.list(include_deleted=include_deleted)
    if filter:
        needle = filter.lower()
        records = [
            r for r in records if needle in r.name.lower() or needle in r.description.lower()
        ]
    for key, want in (tags or {}).items():
        records = [r for r in records if key in r.tags and (want is None or r.tags[key] == want)]
    manager.audit_log.log("list", None, success=True, count=len(records))
    return records


def record(
    manager: SecretsManager, name: str, *, include_deleted: bool = False
) -> SecretRecord | None:
    """The metadata of ``name`` (no value, so not audited), or None if absent."""
    return manager.vault.record(name, include_deleted=include_deleted)


def history(manager: SecretsManager, name: str, *, refresh: bool = False) -> list[VersionInfo]:
    """Every version of ``name`` with who/when/why, oldest first (metadata only); audited
    as one 'history' (NotFoundError, audited too, if ``name`` never existed).

    ``refresh``: a view already shown (and audited) is brought up to date after a change
    the trail holds already; like the app's list refreshes, that is not a new event.
    """
    try:
        versions = manager.vault.history(name)
    except VaultError as exc:
        _failed(manager, "history", name, exc.message)
        raise
    if not refresh:
        manager.audit_log.log("history", name, success=True)
    return versions
