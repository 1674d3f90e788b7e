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

The facade is a thin layer over :mod:`core.service` (which validates, audits and returns
typed results for every front end), :mod:`core.rotation`, :mod:`core.backup` and
:mod:`core.sync`; the app, ``vaultui --batch`` and the unlock agent call the same service.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.config import Settings, configure_logging
from core.errors import ValidationError, VaultError
from core.rotation.policy import SecretRotationPolicy, parse_policy
from core.service import secrets as service
from core.unlock import describe_key_source, open_vault
from core.vault import Argon2Params, KeySource, SecretRecord, Vault

if TYPE_CHECKING:
    from core.audit import AuditLog
    from core.backup import BackupManager
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


class SecretsManager:
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
        self._backup_manager: BackupManager | None = None
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
    def backup_manager(self) -> BackupManager:
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
        service.store(
            self, name, value, description, tags, expected_version=expected_version, why=why
        )
        return True

    def retrieve_secret(
        self, name: str, *, stage: str | None = None, version: int | None = None
    ) -> str | bytes | dict[str, Any] | None:
        """The value of ``name`` (or of a ``stage``/``version``), or None if absent.

        Raises WrongKeyError/IntegrityError on a tampered record (never wrong data).
        A secret with the ON_ACCESS policy is rotated after this read.
        """
        found = service.read(self, name, stage=stage, version=version)
        return found.value if found is not None else None

    get_secret = retrieve_secret

    @property
    def read_origin(self) -> str | None:
        """Where this thread's last ``retrieve_secret`` found its value: ``provider``,
        ``local``, ``local-only`` (not on the provider) or ``fallback`` (the provider
        failed), see :mod:`core.read_through`; None if it found nothing."""
        return getattr(self._origins, "value", None)

    def list_secrets(self) -> dict[str, SecretMetadata]:
        """``{name: SecretMetadata}`` for every live secret."""
        records = service.list_records(self)
        access = self._access_summary()
        return {
            r.name: SecretMetadata.from_record(r, self.provider_name, access.get(r.name))
            for r in records
        }

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
        return service.delete(self, name) is not None

    def undelete_secret(self, name: str) -> bool:
        """Bring back a deleted secret; False if there is nothing to bring back."""
        return service.undelete(self, name) is not None

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
        return service.update_metadata(self, name, **data) is not None

    def history(self, name: str) -> list[Any]:
        """The version history of ``name`` (who, when, why), oldest first."""
        return service.history(self, name)

    def rollback_secret(self, name: str, version: int) -> bool:
        """Make an old version current again (as a new version)."""
        service.rollback(self, name, version)
        return True

    # ------------------------------------------------------------------ rotation

    def set_rotation_policy(
        self,
        name: str,
        policy: SecretRotationPolicy | str,
        generator: str | dict[str, Any] | None = None,
        hooks: dict[str, Any] | None = None,
    ) -> bool:
        """Set how often ``name`` rotates ('DAILY' or the enum), with an optional
        generator spec and apply/verify hooks. See docs/rotation.md."""
        self.rotation_manager.set_policy(name, policy, generator=generator, hooks=hooks)
        return True

    def rotate_secret(self, name: str) -> bool:
        """Rotate ``name`` now (staged: PENDING -> hooks -> CURRENT). True on success."""
        return bool(self.rotation_manager.rotate(name, reason="manual").rotated)

    # ------------------------------------------------------------------ audit

    def get_audit_stats(self, name: str | None = None) -> dict[str, Any]:
        """Access statistics: total_accesses, successful_accesses, failed_accesses, ..."""
        return self.audit_log.stats(name)

    # ------------------------------------------------------------------ backup

    def create_backup(self, name: str | None = None, *, incremental: bool = False) -> str:
        """Create a full (or incremental) encrypted backup; returns its path."""
        return str(self.backup_manager.create_backup(name, incremental=incremental))

    def list_backups(self) -> list[dict[str, Any]]:
        """Backups with name, created_at, secret_count, size_mb, type, parent."""
        return self.backup_manager.list_backups()

    def verify_backup(self, name: str) -> dict[str, Any]:
        """Check a backup's integrity and its chain's completeness."""
        return self.backup_manager.verify_backup(name)

    def restore_backup(self, name: str, dry_run: bool = False, **kwargs: Any) -> dict[str, Any]:
        """Restore a backup (``dry_run`` lists what would change); see docs/backup.md."""
        return self.backup_manager.restore_backup(name, dry_run=dry_run, **kwargs)

    # ------------------------------------------------------------------ sync

    def sync(
        self, provider: str | None = None, *, sealed: bool = True, dry_run: bool = False
    ) -> Any:
        """Sync the vault with a provider (sealed: opaque records; native: named secrets).

        Returns a report of what moved and the conflicts to review (docs/sync.md).
        """
        from core.sync.service import run_sync

        return run_sync(
            self.vault,
            self.settings,
            provider or self.provider_name,
            sealed=sealed,
            dry_run=dry_run,
            audit=self.audit_log,
        )

    def merge(self, other_vault_file: str, *, dry_run: bool = False) -> Any:
        """Merge another copy of this vault (a USB copy, a sync tool's conflict copy)."""
        from core.service.sync import merge

        return merge(self, other_vault_file, dry_run=dry_run)

    # ------------------------------------------------------------------ integrity

    def verify_vault(self) -> dict[str, Any]:
        """Check every row of the vault file (decryption, lookup hashes, the record-set
        digest, the schema); returns counts (records, versions, seq). Raises
        IntegrityError on any damage. Audited as ``verify``."""
        try:
            result = self.vault.verify()
        except VaultError as exc:
            self.audit_log.log("verify", None, success=False, error_message=exc.message)
            raise
        self.audit_log.log("verify", None, success=True)
        return result

    # ------------------------------------------------------------------ status

    def get_status(self, *, health: bool = False) -> dict[str, Any]:
        """Health of the secrets manager: provider, counts, rotation, key source, paths.

        With an external provider, ``provider_fallback`` says whether the last read fell
        back to the local cache (and ``provider_error`` why); ``health=True`` also probes
        the provider (``provider_health``: ok, latency_ms, detail).
        """
        status: dict[str, Any] = {
            "provider": self.provider_name,
            "total_secrets": self.vault.count(),
            "rotation_active": bool(
                self._rotation_manager is not None and self._rotation_manager.is_running
            ),
            "vault_path": str(self.vault.path),
            "vault_id": self.vault.vault_id_hex,
            "home": str(self.settings.home),
            "key_source": describe_key_source(self.vault.key_source),
            "key_auto_generated": self.vault.key_source.auto_generated,
            "change_sequence": self.vault.seq,
            "rotation_workers": (
                len(self._rotation_manager.workers()) if self._rotation_manager is not None else 0
            ),
            "audit_log": str(self.settings.audit_log_path),
        }
        if self.provider_name != "local":
            status["provider_fallback"] = self._provider_error is not None
            status["provider_error"] = self._provider_error
            if health:
                ok, latency_ms, detail = self._read_provider.health()  # type: ignore[union-attr]  # set whenever the provider is not local
                status["provider_health"] = {"ok": ok, "latency_ms": latency_ms, "detail": detail}
        return status


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
