"""The seed facade's calls beyond one secret: rotation policy and rotation, audit stats,
backups, sync and merge, the vault check and the status. A mixin of
:class:`core.secrets_manager.SecretsManager`; each method is unchanged, moved here so
that the facade stays small.
"""

from __future__ import annotations

from typing import Any

from core.errors import VaultError
from core.rotation.policy import SecretRotationPolicy
from core.unlock import describe_key_source


class VaultAdministration:
    """Rotation, audit, backup, sync, integrity and status calls of the facade."""

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

    def get_audit_stats(self, name: str | None = None) -> dict[str, Any]:
        """Access statistics: total_accesses, successful_accesses, failed_accesses, ..."""
        return self.audit_log.stats(name)

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
        from pathlib import Path

        from core.sync.merge import merge_file

        try:
            report = merge_file(self.vault, Path(other_vault_file), dry_run=dry_run)
        except VaultError as exc:
            self.audit_log.log("merge", None, success=False, error_message=str(exc))
            raise
        if not dry_run:
            self.audit_log.log("merge", None, success=True)
        return report

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
                ok, latency_ms, detail = self._read_provider.health()  # type: ignore[union-attr]
                status["provider_health"] = {"ok": ok, "latency_ms": latency_ms, "detail": detail}
        return status
