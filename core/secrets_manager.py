"""The FEDzk-compatible facade: ``get_secrets_manager()`` and friends.

Every call shown in the FEDzk secrets manager's documentation works here as written, with
``from core.secrets_manager import ...``::

    secrets = get_secrets_manager()
    secrets.store_secret('db_password', 'my_secret_password', 'Database password')
    secrets.retrieve_secret('db_password')
    secrets.list_secrets()['db_password'].description
    secrets.set_rotation_policy('api_key', SecretRotationPolicy.DAILY)
    secrets.get_audit_stats('db_password')['total_accesses']
    secrets.create_backup('production_backup'); secrets.restore_backup('production_backup')

The facade is a thin layer over :mod:`core.vault` (storage), :mod:`core.audit` (the
trail), :mod:`core.rotation`, :mod:`core.backup` and :mod:`core.providers`; the app and
``vaultui --batch`` use the same layers.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.config import Settings, configure_logging
from core.errors import (
    NotFoundError,
    ValidationError,
    VaultError,
)
from core.rotation.policy import SecretRotationPolicy, parse_policy, policy_to_str
from core.secrets_manager_admin import VaultAdministration
from core.unlock import open_vault
from core.vault import Argon2Params, KeySource, SecretRecord, Vault, validate_name

if TYPE_CHECKING:
    from core.audit import AuditLog
    from core.providers.base import Provider

log = logging.getLogger(__name__)

__all__ = [
    "SecretMetadata",
    "SecretRotationPolicy",
    "SecretsManager",
    "delete_secret",
    "get_secret",
    "get_secrets_manager",
    "list_secrets",
    "reset_secrets_manager",
    "retrieve_secret",
    "store_secret",
]


@dataclass
class SecretMetadata:
    """What ``list_secrets()`` returns per secret (the seed's fields, plus a few).

    Pass one (or a dict with the same keys) to ``update_secret_metadata`` to change the
    description, tags or rotation policy.
    """

    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_accessed: datetime | None = None
    access_count: int = 0
    rotation_policy: SecretRotationPolicy | str = SecretRotationPolicy.NEVER
    last_rotated: datetime | None = None
    version: int = 1
    provider: str = "local"
    type: str = "str"

    @classmethod
    def from_record(
        cls, record: SecretRecord, provider: str, access: tuple[int, datetime | None] | None = None
    ) -> SecretMetadata:
        """Build the seed-shaped metadata from a vault record."""
        rotation = record.rotation or {}
        policy: SecretRotationPolicy | str = SecretRotationPolicy.NEVER
        raw = rotation.get("policy")
        if raw:
            try:
                parsed = parse_policy(raw)
                policy = parsed if isinstance(parsed, SecretRotationPolicy) else raw
            except ValidationError:
                policy = raw
        last_rotated = rotation.get("last_rotated")
        count, last = access or (0, None)
        return cls(
            name=record.name,
            description=record.description,
            tags=dict(record.tags),
            created_at=record.created_at,
            updated_at=record.updated_at,
            last_accessed=last,
            access_count=count,
            rotation_policy=policy,
            last_rotated=datetime.fromisoformat(last_rotated) if last_rotated else None,
            version=record.version,
            provider=record.extra.get("provider", provider),
            type=record.type,
        )


class SecretsManager(VaultAdministration):
    """Store, retrieve, list, rotate, audit and back up secrets in the vault home.

    One instance owns one open vault. ``source`` names the interface using it in the
    audit trail ('api', 'batch', 'app', 'worker', 'agent').
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        key_source: KeySource | None = None,
        vault: Vault | None = None,
        source: str = "api",
        kdf: Argon2Params | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        configure_logging(self.settings)
        self.provider_name = self.settings.validate_provider()
        self.source = source
        self._lock = threading.RLock()
        self._provider: Provider | None = None
        self._quick_provider: Provider | None = None
        self._provider_error: str | None = None
        self._origins = threading.local()  # per thread: the agent serves several at once
        self._rotation_manager: Any = None
        self._backup_manager: Any = None
        try:
            self.vault = vault or open_vault(self.settings, key_source, kdf=kdf)
        except VaultError as exc:
            self._audit_unkeyed("unlock", exc)
            raise
        self.audit_log: AuditLog = self._make_audit_log()
        if vault is None:
            self.audit_log.log("unlock", success=True)
        self._copy_watch: Any = None
        self.copies_absorbed = self.absorb_conflict_copies()
        """Conflict copies merged in (or refused) when this manager opened the vault."""

    def absorb_conflict_copies(self) -> Any:
        """Merge the conflict copies file-sync services left beside the vault, move them
        to ``merged/`` and audit each (:mod:`core.sync.copies`). One ``stat`` while the
        vault's folder is unchanged; returns a (falsy when empty) ``Absorbed``."""
        from core.sync.copies import CopyWatch

        if self._copy_watch is None:
            self._copy_watch = CopyWatch(self.vault, self.audit_log)
        return self._copy_watch.check()

    # ------------------------------------------------------------------ wiring

    def _make_audit_log(self) -> AuditLog:
        from core.audit import AuditLog
        from core.audit.alerts import load_rules_file

        return AuditLog(
            self.settings.audit_log_path,
            self.vault.derive_key("audit"),
            source=self.source,
            user=self.settings.user,
            alert_rules=load_rules_file(self.settings.audit_rules_path),
            hook=self.settings.audit_hook,
        )

    def _audit_unkeyed(self, operation: str, exc: VaultError) -> None:
        """Record a failure that happened before the key was known (e.g. wrong key)."""
        try:
            from core.audit import AuditLog

            if self.settings.logs_dir.exists():
                trail = AuditLog(
                    self.settings.audit_log_path, None, source=self.source, user=self.settings.user
                )
                try:
                    trail.log(operation, success=False, error_message=exc.message)
                finally:
                    trail.close()
        except (VaultError, OSError):
            log.warning("could not record the failed %s in the audit log", operation)

    def _audit_committed(self, operation: str, name: str, version: int) -> None:
        """Audit a change that is already committed to the vault.

        If the trail cannot be written (say the disk holding logs/ is full), the error
        says plainly that the change itself was stored, so a caller does not retry it
        and add a duplicate version (an unaudited success is never silent).
        """
        from core.errors import AuditError

        try:
            self.audit_log.log(operation, name, success=True, version=version)
        except AuditError as exc:
            raise AuditError(
                f"The {operation} of {name!r} was stored (version {version}) but could not "
                f"be written to the audit log: {exc.message}"
            ) from None

    @property
    def provider(self) -> Provider | None:
        """The external provider when FEDZK_SECRETS_PROVIDER is not 'local' (lazy)."""
        if self.provider_name == "local":
            return None
        if self._provider is None:
            from core.providers.registry import get_provider

            self._provider = get_provider(self.provider_name, self.settings)
        return self._provider

    @property
    def _read_provider(self) -> Provider | None:
        """The provider for interactive reads: few retries and a short timeout, so an
        unreachable provider falls back to the local cache in seconds, not half a minute."""
        if self.provider_name == "local":
            return None
        if self._quick_provider is None:
            from core.providers.registry import get_provider
            from core.providers.retry import RetryPolicy

            self._quick_provider = get_provider(
                self.provider_name,
                self.settings,
                retry=RetryPolicy(attempts=2, deadline=5),
                timeout=3,
            )
        return self._quick_provider

    @property
    def rotation_manager(self) -> Any:
        """The rotation engine and its background scheduler (core.rotation)."""
        with self._lock:
            if self._rotation_manager is None:
                from core.rotation.manager import RotationManager

                publish = None
                if self.provider_name != "local":
                    # rotated values reach the provider after the hooks, before promotion
                    def publish(name: str, value: Any) -> None:
                        assert self.provider is not None
                        self.provider.put(name, value)

                self._rotation_manager = RotationManager(
                    self.vault,
                    audit=self.audit_log,
                    interval_seconds=self.settings.rotation_interval_seconds or 3600,
                    user=self.settings.user,
                    env=self.settings.env,
                    source=self.source,
                    publish=publish,
                    # the same worker makes the scheduled backup (when one is configured)
                    on_cycle=lambda: self.backup_manager.run_scheduled(),
                )
            return self._rotation_manager

    @property
    def backup_manager(self) -> Any:
        """Full and incremental backups of this vault (core.backup)."""
        with self._lock:
            if self._backup_manager is None:
                from core.backup import BackupManager

                self._backup_manager = BackupManager(
                    self.vault, self.settings.backups_dir, audit=self.audit_log
                )
            return self._backup_manager

    def close(self) -> None:
        """Stop the rotation worker, close provider connections, the trail and the vault."""
        if self._rotation_manager is not None:
            self._rotation_manager.stop_rotation_scheduler()
        self.audit_log.close()
        for provider in (self._provider, self._quick_provider):
            if provider is not None:
                provider.close()
        self.vault.close()

    # ------------------------------------------------------------------ secrets

    def store_secret(
        self,
        name: str,
        value: str | bytes | dict[str, Any],
        description: str | None = None,
        tags: dict[str, str] | list[str] | None = None,
        *,
        expected_version: int | None = None,
        why: str | None = None,
    ) -> bool:
        """Store ``value`` under ``name`` as a new version; True on success.

        A description (or tags) of None keeps the existing one (a new secret gets "").
        With an external provider the value
        goes to the provider first (native secret) and then to the local encrypted cache.
        Raises InvalidNameError / ValueTooLargeError / ConflictError / ProviderError.
        """
        extra: dict[str, Any] | None = None
        try:
            validate_name(name)
            if self.provider is not None:
                existing = self.vault.record(name)
                version_id = self.provider.put(name, value)
                extra = dict(existing.extra) if existing else {}
                extra.update(provider=self.provider_name, provider_version=version_id)
            record = self.vault.put(
                name,
                value,
                description=description,
                tags=tags,  # type: ignore[arg-type]
                expected_version=expected_version,
                who=self.settings.user,
                why=why or "store",
                source=self.source,
                extra=extra,
            )
        except VaultError as exc:
            self.audit_log.log("write", name, success=False, error_message=exc.message)
            raise
        self._audit_committed("write", name, record.version)
        return True

    def retrieve_secret(
        self, name: str, *, stage: str | None = None, version: int | None = None
    ) -> str | bytes | dict[str, Any] | None:
        """The value of ``name`` (or of a ``stage``/``version``), or None if absent.

        Raises WrongKeyError/IntegrityError on a tampered record (never wrong data).
        A secret with the ON_ACCESS policy is rotated after this read.
        """
        try:
            validate_name(name)
            value, record = self._read(name, stage=stage, version=version)
        except VaultError as exc:
            self.audit_log.log("read", name, success=False, error_message=exc.message)
            raise
        if record is None:
            self.audit_log.log("read", name, success=False, error_message="secret not found")
            return None
        origin = self.read_origin
        # a value the provider did not give is audited as such
        extra: dict[str, Any] = {"origin": origin} if origin in ("local-only", "fallback") else {}
        self.audit_log.log("read", name, success=True, version=record.version, **extra)
        on_access = (record.rotation or {}).get("policy") == SecretRotationPolicy.ON_ACCESS.value
        if on_access and stage is None and version is None:
            self.rotation_manager.after_access(name)  # never raises; failures are audited
        return value

    get_secret = retrieve_secret

    def _read(
        self, name: str, *, stage: str | None, version: int | None
    ) -> tuple[Any, SecretRecord | None]:
        from core.read_through import read_through

        found = read_through(self, name, stage=stage, version=version)
        self._origins.value = found.origin if found.record is not None else None
        return found.value, found.record

    @property
    def read_origin(self) -> str | None:
        """Where this thread's last ``retrieve_secret`` found its value: ``provider``,
        ``local``, ``local-only`` (not on the provider) or ``fallback`` (the provider
        failed), see :mod:`core.read_through`; None if it found nothing."""
        return getattr(self._origins, "value", None)

    def list_secrets(self) -> dict[str, SecretMetadata]:
        """``{name: SecretMetadata}`` for every live secret."""
        records = self.vault.list()
        access = self._access_summary()
        out = {
            r.name: SecretMetadata.from_record(r, self.provider_name, access.get(r.name))
            for r in records
        }
        self.audit_log.log("list", None, success=True)
        return out

    def _access_summary(self) -> dict[str, tuple[int, datetime | None]]:
        from core.audit.report import READ_OPS

        try:
            return self.audit_log.access_summary(READ_OPS)
        except (VaultError, OSError):
            return {}

    def delete_secret(self, name: str) -> bool:
        """Delete ``name`` (a tombstone, undoable with :meth:`undelete_secret`).

        Returns False if it did not exist.
        """
        try:
            record = self.vault.delete(name, who=self.settings.user, why="delete")
            if self.provider is not None:
                self.provider.delete(name)
        except NotFoundError as exc:
            self.audit_log.log("delete", name, success=False, error_message=exc.message)
            return False
        except VaultError as exc:
            self.audit_log.log("delete", name, success=False, error_message=exc.message)
            raise
        self._audit_committed("delete", name, record.version)
        return True

    def undelete_secret(self, name: str) -> bool:
        """Bring back a deleted secret; False if there is nothing to bring back."""
        try:
            record = self.vault.undelete(name)
            if self.provider is not None:
                secret = self.vault.get(name)
                if secret is not None:
                    self.provider.put(name, secret.value)
        except (NotFoundError, ValidationError) as exc:
            self.audit_log.log("undelete", name, success=False, error_message=exc.message)
            return False
        self._audit_committed("undelete", name, record.version)
        return True

    def update_secret_metadata(
        self, name: str, metadata: SecretMetadata | dict[str, Any] | None = None, **changes: Any
    ) -> bool:
        """Change description, tags or rotation policy of ``name``; the value is untouched.

        ``metadata`` is a :class:`SecretMetadata` (as returned by ``list_secrets``) or a
        dict with any of ``description``, ``tags``, ``rotation_policy``. False if absent.
        """
        if isinstance(metadata, SecretMetadata):
            data: dict[str, Any] = {
                "description": metadata.description,
                "tags": metadata.tags,
                "rotation_policy": metadata.rotation_policy,
            }
        else:
            data = dict(metadata or {})
        data.update(changes)
        unknown = set(data) - {"description", "tags", "rotation_policy"}
        if unknown:
            raise ValidationError(
                "update_secret_metadata accepts description, tags and rotation_policy, not "
                + ", ".join(sorted(unknown))
            )
        record = self.vault.record(name)
        if record is None:
            self.audit_log.log("update_metadata", name, success=False, error_message="not found")
            return False
        rotation = None
        if data.get("rotation_policy") is not None:
            policy = parse_policy(data["rotation_policy"])
            if policy_to_str(policy) != (record.rotation or {}).get("policy", "never"):
                rotation = dict(record.rotation or {})
                rotation["policy"] = policy_to_str(policy)
        self.vault.update_meta(
            name,
            description=data.get("description"),
            tags=data.get("tags"),
            rotation=rotation,
            expected_rev=record.rev,
        )
        self._audit_committed("update_metadata", name, record.version)
        return True

    def history(self, name: str) -> list[Any]:
        """The version history of ``name`` (who, when, why), oldest first."""
        return self.vault.history(name)

    def rollback_secret(self, name: str, version: int) -> bool:
        """Make an old version current again (as a new version)."""
        try:
            record = self.vault.rollback(name, version, who=self.settings.user, source=self.source)
        except VaultError as exc:
            self.audit_log.log("rollback", name, success=False, error_message=exc.message)
            raise
        self._audit_committed("rollback", name, record.version)
        return True


_instance: SecretsManager | None = None
_instance_lock = threading.Lock()


def get_secrets_manager() -> SecretsManager:
    """The process-wide secrets manager, configured from the environment on first use."""
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = SecretsManager()
        return _instance


def reset_secrets_manager() -> None:
    """Close and forget the process-wide instance (tests, or after changing env vars)."""
    global _instance
    with _instance_lock:
        if _instance is not None:
            _instance.close()
        _instance = None


def store_secret(
    name: str,
    value: str | bytes | dict[str, Any],
    description: str | None = None,
    tags: dict[str, str] | list[str] | None = None,
) -> bool:
    """Store a secret with the process-wide manager (the seed's module-level call)."""
    return get_secrets_manager().store_secret(name, value, description, tags)


def retrieve_secret(name: str) -> str | bytes | dict[str, Any] | None:
    """Read a secret with the process-wide manager; None if absent."""
    return get_secrets_manager().retrieve_secret(name)


def get_secret(name: str) -> str | bytes | dict[str, Any] | None:
    """Alias of :func:`retrieve_secret`."""
    return retrieve_secret(name)


def delete_secret(name: str) -> bool:
    """Delete a secret with the process-wide manager."""
    return get_secrets_manager().delete_secret(name)


def list_secrets() -> dict[str, SecretMetadata]:
    """List secrets with the process-wide manager."""
    return get_secrets_manager().list_secrets()
