"""``BackupManager``: create, list, verify, restore and clean up the backups of one vault.

One backup is one encrypted file ``backups/<name>.vbak`` (see ``container.py``). A full
backup holds every record with its history; an incremental one holds the records changed
since its parent (by change sequence, read from the vault's index, never by scanning)
and the purges, so restoring walks the chain back to its full backup. See docs/backup.md.
"""

from __future__ import annotations

import json
import logging
import os
import secrets as _secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.backup import body as body_codec
from core.backup import catalog, vault_io
from core.backup.audit_tail import recent_events
from core.backup.catalog import BackupInfo, Damaged
from core.backup.container import EXTENSION, FORMAT, Head, build_file, open_file
from core.backup.fsutil import (
    folder_lock,
    remove_durably,
    stale_temp_files,
    write_atomic,
)
from core.backup.restoring import BackupRestoring, Progress, parse_when
from core.backup.schedule import LAST_RUN_KEY, SCHEDULE_KEY, Schedule
from core.config import ensure_private_dir
from core.errors import (
    BackupError,
    BackupIntegrityError,
    NotFoundError,
    ValidationError,
    VaultError,
)
from core.vault import Vault
from core.vault.gcpause import paused_gc

log = logging.getLogger(__name__)

__all__ = ["BackupManager", "Progress", "parse_when"]

MADE_KEY = "backup.made"  # ids of the backups made from this vault file -> their seq
VERIFIED_KEY = "backup.verified"  # id -> [size, mtime_ns, verified at]


class BackupManager(BackupRestoring):
    """Full and incremental encrypted backups of ``vault`` in ``backups_dir``.

    ``audit`` is the vault's :class:`core.audit.AuditLog` (or None): backups carry its
    recent events and every backup operation is recorded in it. ``clock`` returns the
    current time (tests and schedulers pass their own).
    """

    def __init__(
        self,
        vault: Vault,
        backups_dir: Path | str,
        *,
        audit: Any = None,
        audit_path: Path | None = None,
        user: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.vault = vault
        self.backups_dir = Path(backups_dir)
        self.audit = audit
        self.audit_path = audit_path
        self.user = user or getattr(audit, "user", None) or ""
        self.clock = clock or (lambda: datetime.now(UTC))
        self._root = vault.derive_key("backup")

    def __repr__(self) -> str:
        return f"BackupManager({str(self.backups_dir)!r})"

    # ------------------------------------------------------------------ helpers

    def _now(self) -> datetime:
        now = self.clock()
        return now if now.tzinfo else now.astimezone()

    def _path(self, name: str) -> Path:
        return self.backups_dir / (catalog.check_name(name) + EXTENSION)

    def _scan(self) -> tuple[list[BackupInfo], list[Damaged]]:
        return catalog.scan(self.backups_dir, self._root, self.vault.vault_id)

    def _local_json(self, key: str) -> dict[str, Any]:
        try:
            raw = self.vault.get_local(key)
            data = json.loads(raw) if raw else {}
        except (VaultError, ValueError):
            data = {}
        return data if isinstance(data, dict) else {}

    def _set_local_json(self, key: str, data: dict[str, Any]) -> None:
        self.vault.set_local(key, json.dumps(data, sort_keys=True).encode())

    def _audit(
        self, operation: str, *, success: bool, error: str | None = None, **extra: Any
    ) -> None:
        if self.audit is None:
            return
        try:
            self.audit.log(operation, None, success=success, error_message=error, **extra)
        except (VaultError, OSError, TypeError):
            log.warning("could not record %s in the audit log", operation)

    def _resolve(self, name: str) -> BackupInfo:
        """The backup called ``name`` in the folder (NotFoundError if absent)."""
        path = self._path(name)
        if not path.exists():
            raise NotFoundError(
                f"No backup named {catalog.check_name(name)!r} in {self.backups_dir}"
            )
        return catalog.read_info(path, self._root, self.vault.vault_id)

    def _auto_name(self, prefix: str, now: datetime) -> str:
        base = f"{prefix}_{now.astimezone(UTC):%Y%m%d_%H%M%S}"
        name, n = base, 1
        while (self.backups_dir / (name + EXTENSION)).exists():
            n += 1
            name = f"{base}_{n}"
        return name

    # ------------------------------------------------------------------ create

    def create_backup(
        self,
        name: str | None = None,
        *,
        incremental: bool = False,
        progress: Progress | None = None,
    ) -> Path:
        """Write a full (or incremental) backup; returns its path.

        Without ``name`` the name is ``backup_<UTC timestamp>``. An incremental backup
        stores only what changed since the newest backup made from this vault file; with
        no usable parent it falls back to a full backup. Raises BackupError if the name
        is taken or invalid, StorageError if the disk refuses.
        """
        try:
            with folder_lock(self.backups_dir, exclusive=True), paused_gc():
                path = self._create_locked(name, incremental, progress, prefix="backup")
        except VaultError as exc:
            self._audit("backup_create", success=False, error=exc.message, backup=name)
            raise
        return path

    def _parent_for_incremental(self, infos: list[BackupInfo]) -> BackupInfo | None:
        made = self._local_json(MADE_KEY)
        ours = [b for b in infos if b.id in made]
        if not ours:
            return None
        parent = max(ours, key=lambda b: (b.seq_to, b.created_ts))
        if parent.seq_to > self.vault.seq:
            return None  # this file went back in time (replaced by an older copy)
        try:
            catalog.chain_of(parent, {b.id: b for b in infos})
        except BackupError as exc:
            log.warning("incremental backup: %s; making a full backup instead", exc.message)
            return None
        return parent

    def _create_locked(
        self,
        name: str | None,
        incremental: bool,
        progress: Progress | None,
        *,
        prefix: str,
        now: datetime | None = None,
    ) -> Path:
        ensure_private_dir(self.backups_dir)
        now = now or self._now()
        name = catalog.check_name(name) if name else self._auto_name(prefix, now)
        path = self._path(name)
        if path.exists():
            raise BackupError(f"A backup named {name!r} already exists")
        infos, _damaged = self._scan()
        parent = self._parent_for_incremental(infos) if incremental else None
        if incremental and parent is None:
            log.info("no usable parent for an incremental backup: making a full one")
        if progress is not None:
            progress("reading", 0, 1)
        snap = vault_io.export(self.vault, parent.seq_to if parent else 0)
        events = recent_events(
            self.audit, self.audit_path, since_ts=parent.created_ts if parent else None
        )
        backup_id = _secrets.token_bytes(16)
        n_versions = len(snap.versions)
        manifest = {
            "format": FORMAT,
            "id": backup_id.hex(),
            "name": name,
            "type": "incremental" if parent else "full",
            "parent": {"id": parent.id, "name": parent.name} if parent else None,
            "root": parent.root_id if parent else backup_id.hex(),
            "depth": (int(parent.manifest.get("depth", 0)) + 1) if parent else 0,
            "vault_id": self.vault.vault_id_hex,
            "seq_from": parent.seq_to if parent else 0,
            "seq_to": snap.seq,
            "created_at": now.astimezone(UTC).isoformat(),
            "created_ts": now.timestamp(),
            "created_by": {"user": self.user, "device": self.vault.device_id},
            "secret_count": snap.live_count,
            "counts": {
                "records": len(snap.rows),
                "tombstones": sum(1 for r in snap.rows if r[3]),
                "versions": n_versions,
                "purged": len(snap.purged),
                "audit_events": len(events),
            },
            "meta_keys": list(snap.meta_keys),
            "key_slots": len(snap.slots),
        }
        if progress is not None:
            progress("writing", 0, 1)
        head = Head(self.vault.vault_id, backup_id, os.urandom(16), tuple(snap.slots))
        chunks = build_file(
            head,
            self._root,
            manifest,
            body_codec.encode(
                snap.rows,
                snap.metas,
                snap.counts,
                snap.versions,
                snap.infos,
                snap.values,
                snap.purged,
                events,
            ),
        )
        write_atomic(path, chunks)
        made = self._local_json(MADE_KEY)
        made[backup_id.hex()] = snap.seq
        self._set_local_json(MADE_KEY, made)
        if progress is not None:
            progress("writing", 1, 1)
        self._audit(
            "backup_create",
            success=True,
            backup=name,
            backup_type=manifest["type"],
            records=len(snap.rows),
        )
        return path

    # ------------------------------------------------------------------ list

    def list_backups(self) -> list[dict[str, Any]]:
        """Every backup, oldest first: ``name``, ``created_at`` (ISO 8601, UTC),
        ``secret_count``, ``size_mb`` (the seed's keys) plus ``type``, ``parent``,
        ``chain``, ``verified`` (passed :meth:`verify_backup` and unchanged since),
        ``status`` ('ok', 'broken chain' or 'damaged') and ``error``."""
        infos, damaged = self._scan()
        by_id = {b.id: b for b in infos}
        verified = self._local_json(VERIFIED_KEY)
        out = []
        for info in infos:
            status, error, chain = "ok", None, []
            try:
                chain = [b.name for b in catalog.chain_of(info, by_id, damaged)]
            except (BackupError, BackupIntegrityError) as exc:
                status, error = "broken chain", exc.message
            mark = verified.get(info.id)
            is_verified = bool(
                mark and mark[0] == info.size_bytes and mark[1] == info.mtime_ns and status == "ok"
            )
            out.append(
                {
                    "name": info.name,
                    "created_at": info.created_at.isoformat(),
                    "secret_count": info.secret_count,
                    "size_mb": info.size_bytes / (1024 * 1024),
                    "size_bytes": info.size_bytes,
                    "type": info.type,
                    "parent": info.parent_name,
                    "chain": chain,
                    "records": int(info.manifest.get("counts", {}).get("records", 0)),
                    "seq_from": info.seq_from,
                    "seq_to": info.seq_to,
                    "verified": is_verified,
                    "verified_at": mark[2] if mark and is_verified else None,
                    "status": status,
                    "error": error,
                    "id": info.id,
                    "path": str(info.path),
                }
            )
        for bad in damaged:
            out.append(
                {
                    "name": bad.name,
                    "created_at": datetime.fromtimestamp(bad.mtime, UTC).isoformat(),
                    "secret_count": 0,
                    "size_mb": bad.size_bytes / (1024 * 1024),
                    "size_bytes": bad.size_bytes,
                    "type": "unknown",
                    "parent": None,
                    "chain": [],
                    "records": 0,
                    "seq_from": None,
                    "seq_to": None,
                    "verified": False,
                    "verified_at": None,
                    "status": "damaged",
                    "error": bad.error,
                    "id": None,
                    "path": str(bad.path),
                }
            )
        out.sort(key=lambda b: (b["created_at"], b["name"]))
        return out

    # ------------------------------------------------------------------ verify

    def verify_backup(self, name: str, *, progress: Progress | None = None) -> dict[str, Any]:
        """Check a backup and every backup its chain needs: each file's MAC, manifest and
        contents (any changed byte fails), and that no link is missing.

        Returns ``valid`` (bool), ``errors`` (messages such as "Backup integrity check
        failed: ..." or "Backup chain incomplete: ..."), ``chain`` and ``secret_count``.
        Raises NotFoundError only if ``name`` itself does not exist.
        """
        path = self._path(name)
        if not path.exists():
            raise NotFoundError(f"No backup named {catalog.check_name(name)!r}")
        errors: list[str] = []
        checked: list[BackupInfo] = []
        result: dict[str, Any] = {"name": catalog.check_name(name), "chain": [], "secret_count": 0}
        infos, damaged = self._scan()
        info = catalog.find(infos, name)
        if info is None:
            try:
                catalog.read_info(path, self._root, self.vault.vault_id)
            except VaultError as exc:
                errors.append(exc.message)
            else:
                errors.append(f"Backup {name} could not be read")
            return self._verified_result(result, errors, checked)
        try:
            chain = catalog.chain_of(info, {b.id: b for b in infos}, damaged)
        except (BackupError, BackupIntegrityError) as exc:
            errors.append(exc.message)
            chain = [info]
        result["chain"] = [b.name for b in chain]
        result["type"] = info.type
        result["secret_count"] = info.secret_count
        with folder_lock(self.backups_dir, exclusive=False), paused_gc():
            for i, link in enumerate(chain, 1):
                try:
                    opened = open_file(link.path, self._root, self.vault.vault_id)
                    decoded = body_codec.decode(opened.body, link.name)
                    counts = opened.manifest.get("counts", {})
                    if len(decoded.records) != counts.get("records") or len(
                        decoded.purged
                    ) != counts.get("purged"):
                        raise BackupIntegrityError(
                            f"Backup integrity check failed: {link.name}: its contents do "
                            "not match its manifest counts"
                        )
                    checked.append(link)
                except VaultError as exc:
                    errors.append(exc.message)
                if progress is not None:
                    progress("verifying", i, len(chain))
        return self._verified_result(result, errors, checked)

    def _verified_result(
        self, result: dict[str, Any], errors: list[str], checked: list[BackupInfo]
    ) -> dict[str, Any]:
        result["valid"] = not errors
        result["errors"] = errors
        result["checked"] = [b.name for b in checked]
        marks = self._local_json(VERIFIED_KEY)
        stamp = self._now().astimezone(UTC).isoformat()
        fresh = False
        for link in checked:
            old = marks.get(link.id)
            if not old or old[:2] != [link.size_bytes, link.mtime_ns]:
                marks[link.id] = [link.size_bytes, link.mtime_ns, stamp]
                fresh = True
        if fresh:
            try:
                self._set_local_json(VERIFIED_KEY, marks)
            except VaultError:
                log.warning("could not remember the verification")
        self._audit(
            "backup_verify",
            success=not errors,
            error="; ".join(errors)[:500] or None,
            backup=result["name"],
        )
        return result

    # ------------------------------------------------------------------ cleanup

    def cleanup_old_backups(self, keep_days: float = 30, keep_last: int | None = None) -> int:
        """Delete backups older than ``keep_days`` days, except the newest ``keep_last``
        and every backup that a kept incremental needs. Damaged files and other vaults'
        backups are never deleted. Returns how many backups were deleted."""
        if keep_days < 0 or (keep_last is not None and keep_last < 0):
            raise ValidationError("keep_days and keep_last cannot be negative")
        with folder_lock(self.backups_dir, exclusive=True):
            return self._cleanup_locked(keep_days, keep_last)

    def _cleanup_locked(
        self, keep_days: float, keep_last: int | None, now: datetime | None = None
    ) -> int:
        infos, _damaged = self._scan()
        cutoff = (now or self._now()).timestamp() - keep_days * 86400
        doomed = catalog.cleanup_plan(infos, cutoff_ts=cutoff, keep_last=keep_last)
        remove_durably([b.path for b in doomed] + stale_temp_files(self.backups_dir))
        if doomed:
            gone = {b.id for b in doomed}
            for key in (MADE_KEY, VERIFIED_KEY):
                data = self._local_json(key)
                if gone & data.keys():
                    self._set_local_json(key, {k: v for k, v in data.items() if k not in gone})
            self._audit("backup_cleanup", success=True, deleted=len(doomed))
        return len(doomed)

    # ------------------------------------------------------------------ schedule

    def get_schedule(self) -> Schedule:
        """The scheduled-backup settings of this vault (disabled by default)."""
        try:
            return Schedule.from_bytes(self.vault.get_local(SCHEDULE_KEY))
        except VaultError:
            return Schedule()

    def set_schedule(self, schedule: Schedule | None = None, **changes: Any) -> Schedule:
        """Store new schedule settings (``changes`` override fields); returns them."""
        current = schedule or self.get_schedule()
        updated = Schedule(**{**current.__dict__, **changes}).validated()
        self.vault.set_local(SCHEDULE_KEY, updated.to_bytes())
        return updated

    def next_due(self, now: datetime | None = None) -> datetime | None:
        """When the next scheduled backup is due (None when the schedule is off)."""
        schedule = self.get_schedule()
        if not schedule.enabled:
            return None
        last = self._local_json(LAST_RUN_KEY).get("ts")
        now = now or self._now()
        if not isinstance(last, int | float):
            return now
        return datetime.fromtimestamp(last, UTC) + timedelta(hours=schedule.interval_hours)

    def run_scheduled(self, now: datetime | None = None) -> dict[str, Any]:
        """Make the scheduled backup if one is due, then apply the retention.

        Safe to call as often as you like from any number of processes (the rotation
        worker calls it on every pass): the due check and the backup happen under the
        backups folder's lock. Returns ``ran`` (bool), ``reason`` or ``backup``,
        ``type``, ``deleted`` and ``offsite``.
        """
        now = now or self._now()
        schedule = self.get_schedule()
        if not schedule.enabled:
            return {"ran": False, "reason": "scheduled backups are off"}
        try:
            with folder_lock(self.backups_dir, exclusive=True), paused_gc():
                due = self.next_due(now)
                if due is not None and due > now:
                    return {"ran": False, "reason": "not due", "next_due": due.isoformat()}
                infos, _damaged = self._scan()
                made = self._local_json(MADE_KEY)
                fulls = [b for b in infos if b.type == "full" and b.id in made]
                newest_full = max((b.created_ts for b in fulls), default=None)
                want_full = newest_full is None or (
                    now.timestamp() - newest_full >= schedule.full_every_days * 86400
                )
                path = self._create_locked(None, not want_full, None, prefix="scheduled", now=now)
                deleted = self._cleanup_locked(schedule.keep_days, schedule.keep_last, now)
                self._set_local_json(LAST_RUN_KEY, {"ts": now.timestamp()})
        except VaultError as exc:
            self._audit("backup_scheduled", success=False, error=exc.message)
            return {"ran": False, "reason": "failed", "error": exc.message}
        result: dict[str, Any] = {
            "ran": True,
            "backup": path.stem,
            "type": catalog.read_info(path, self._root, self.vault.vault_id).type,
            "deleted": deleted,
            "offsite": None,
        }
        if schedule.offsite_dir:
            try:
                dest = Path(schedule.offsite_dir).expanduser()
                ensure_private_dir(dest)
                write_atomic(dest / path.name, path.read_bytes())
                result["offsite"] = str(dest / path.name)
            except (VaultError, OSError) as exc:
                message = exc.message if isinstance(exc, VaultError) else str(exc)
                result["offsite_error"] = message
                self._audit("backup_offsite", success=False, error=message)
        return result
