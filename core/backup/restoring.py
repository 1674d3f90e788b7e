"""Restoring backups: picking the backup for a point in time, walking an incremental
chain, and restoring into the open vault or into a new vault file, with ``dry_run``
and an errors list. A mixin of :class:`core.backup.manager.BackupManager`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.backup import catalog
from core.backup.catalog import BackupInfo, Damaged
from core.backup.recovery import load_chain, recover
from core.backup.restore import Plan, apply_plan, build_state, plan_restore
from core.errors import (
    BackupError,
    BackupIntegrityError,
    NotFoundError,
    ValidationError,
    VaultError,
)
from core.vault import KeySource, validate_name
from core.vault.gcpause import paused_gc

if TYPE_CHECKING:
    from core.vault import Vault

Progress = Callable[[str, int, int], None]


class _Rollback(Exception):
    """Undo the restore transaction (errors were found before writing)."""


def parse_when(value: datetime | float | int | str, now: datetime) -> datetime:
    """A point in time: a datetime (naive = local time), epoch seconds, ISO 8601 text,
    or an age such as ``90m``, ``2h``, ``3d``, ``1w`` (that long before ``now``)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.astimezone()
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])(?:\s*ago)?", text)
    if match:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
        return now - timedelta(seconds=float(match.group(1)) * unit)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"Cannot read the time {text!r}: use ISO 8601 (2024-01-15T10:30) or an age like 2h, 3d"
        ) from None
    return parsed if parsed.tzinfo else parsed.astimezone()


def validate_plan(plan: Plan) -> list[str]:
    """Problems that would make the restore fail half way, listed before writing
    (anything subtler still rolls the whole restore back)."""
    errors = []
    for action in plan.added + plan.changed:
        try:
            validate_name(action.name)
            if action.kind == "put" and action.entry.current_value()[:1] not in (b"s", b"b", b"j"):
                raise BackupIntegrityError("the backed-up value has an unknown encoding")
        except VaultError as exc:
            errors.append(f"{action.name}: {exc.message}")
    return errors


class BackupRestoring:
    """The restore methods of the backup manager."""

    # set by BackupManager.__init__ (annotations only: no class attributes)
    vault: Vault
    user: str
    _root: bytes

    if TYPE_CHECKING:  # provided by BackupManager

        def _now(self) -> datetime: ...

        def _scan(self) -> tuple[list[BackupInfo], list[Damaged]]: ...

        def _resolve(self, name: str) -> BackupInfo: ...

        def _audit(
            self, operation: str, *, success: bool, error: str | None = None, **extra: Any
        ) -> None: ...

    def _pick_at(self, infos: list[BackupInfo], name: str | None, when: datetime) -> BackupInfo:
        """The newest restorable backup taken at or before ``when`` (in ``name``'s
        family of chains when a name is given)."""
        by_id = {b.id: b for b in infos}
        pool = infos
        if name:
            anchor = catalog.find(infos, name)
            if anchor is None:
                raise NotFoundError(f"No backup named {name!r}")
            pool = [b for b in infos if b.root_id == anchor.root_id]
        candidates = sorted(
            (b for b in pool if b.created_ts <= when.timestamp()),
            key=lambda b: (b.created_ts, b.seq_to),
            reverse=True,
        )
        for candidate in candidates:
            try:
                catalog.chain_of(candidate, by_id)
                return candidate
            except BackupError:
                continue
        raise NotFoundError(f"No complete backup was taken at or before {when.isoformat()}")

    def restore_backup(
        self,
        name: str | None = None,
        dry_run: bool = False,
        point_in_time: datetime | float | str | None = None,
        exact: bool = False,
        target: Path | str | None = None,
        *,
        key_source: KeySource | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Bring the vault back to a backup (see core/backup/restore.py for the rules).

        ``point_in_time`` picks the newest complete backup taken at or before that time
        (within ``name``'s chains when a name is also given). ``exact`` also deletes the
        secrets that did not exist then. ``dry_run`` only reports. ``target`` writes a
        NEW vault file instead (disaster recovery), protected by ``key_source`` (default:
        the key this vault was opened with).

        Returns ``restored_secrets`` (added + changed), ``errors`` (nothing was written
        if not empty), and the names and ``counts`` of ``added``, ``changed``,
        ``deleted``, ``unchanged`` and ``kept`` (left alone). Raises
        BackupIntegrityError for a damaged backup and BackupError for a missing link:
        nothing is restored then.
        """
        if name is None and point_in_time is None:
            raise ValidationError("Name a backup or give a point in time to restore")
        infos, damaged = self._scan()
        if point_in_time is not None:
            info = self._pick_at(infos, name, parse_when(point_in_time, self._now()))
        else:
            assert name is not None
            info = catalog.find(infos, name) or self._resolve(name)
        try:
            if target is not None:
                return self._restore_to_target(info, Path(target), key_source, dry_run, progress)
            with paused_gc():
                return self._restore_chain(info, infos, damaged, dry_run, exact, progress)
        except VaultError as exc:
            if not dry_run:
                self._audit("backup_restore", success=False, error=exc.message, backup=info.name)
            raise

    def _restore_chain(
        self,
        info: BackupInfo,
        infos: list[BackupInfo],
        damaged: list[Damaged],
        dry_run: bool,
        exact: bool,
        progress: Progress | None,
    ) -> dict[str, Any]:
        chain, bodies = load_chain(
            info, infos, self._root, self.vault.vault_id, progress, damaged=damaged
        )
        entries = build_state(bodies, info.name)
        del bodies
        return self._restore_here(info, chain, entries, dry_run, exact, progress)

    def _restore_here(
        self,
        info: BackupInfo,
        chain: list[BackupInfo],
        entries: list[Any],
        dry_run: bool,
        exact: bool,
        progress: Progress | None,
    ) -> dict[str, Any]:
        base: dict[str, Any] = {
            "backup": info.name,
            "chain": [b.name for b in chain],
            "created_at": info.created_at.isoformat(),
            "dry_run": dry_run,
            "exact": exact,
            "target": None,
        }
        if progress is not None:
            progress("planning", 0, 1)
        if dry_run:
            plan = plan_restore(self.vault, entries, exact=exact)
            return self._summary(base, plan, validate_plan(plan), seq=self.vault.seq)
        why = f"restore from backup {info.name}"
        errors: list[str] = []
        seq_before = self.vault.seq
        try:
            with self.vault.transaction():
                seq_before = self.vault.seq
                plan = plan_restore(self.vault, entries, exact=exact)
                errors = validate_plan(plan)
                if errors:
                    raise _Rollback
                apply_plan(self.vault, plan, who=self.user or None, why=why, progress=progress)
        except _Rollback:
            pass
        except VaultError as exc:
            errors = [f"Restore rolled back, nothing was changed: {exc}"]
            plan = Plan()
        result = self._summary(base, plan, errors, seq=seq_before)
        result["seq_after"] = self.vault.seq
        if errors:
            result["restored_secrets"] = 0
        self._audit(
            "backup_restore",
            success=not errors,
            error="; ".join(errors)[:500] or None,
            backup=info.name,
            restored=result["restored_secrets"],
            deleted=len(result["deleted"]) if not errors else 0,
        )
        return result

    @staticmethod
    def _summary(
        base: dict[str, Any], plan: Plan, errors: list[str], *, seq: int
    ) -> dict[str, Any]:
        out = dict(base)
        out.update(plan.summary())
        out["restored_secrets"] = out["counts"]["added"] + out["counts"]["changed"]
        out["errors"] = errors
        out["seq_before"] = seq
        return out

    def _restore_to_target(
        self,
        info: BackupInfo,
        target: Path,
        key_source: KeySource | None,
        dry_run: bool,
        progress: Progress | None,
    ) -> dict[str, Any]:
        ks = key_source or self.vault.key_source
        if ks.kind == "data_key":
            raise BackupError(
                "This vault was opened by the unlock agent: give key_source= (a passphrase "
                "or key file) to protect the new vault"
            )
        result = recover(
            info.path,
            target,
            ks,
            data_key=self.vault.data_key_for_agent(),
            dry_run=dry_run,
            progress=progress,
        )
        if not dry_run:
            self._audit("backup_restore", success=True, backup=info.name, target=str(target))
        return result
