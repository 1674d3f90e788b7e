"""Conflict copies that file-sync services leave beside the vault, merged in unasked.

When two machines write the vault while a file-sync service (Syncthing, Dropbox,
Nextcloud, OneDrive) is not looking, the service keeps both: the vault file and a
*conflict copy* beside it. :func:`absorb` merges every such copy into the vault field by
field (:mod:`core.sync.merge`: no write of either side is lost), then moves it into a
``merged/`` folder beside the vault. A copy that is not a sound vault of the same vault
id (another vault, a truncated or half-written file) is left where it is and reported.

:class:`CopyWatch` makes the check cheap enough to run before every operation: it looks
at the folder again only when the folder changed.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import VaultError
from core.vault import Vault

MERGED_DIR = "merged"
"""Where merged copies go, beside the vault file (never deleted: the user decides)."""


def copy_patterns(vault_path: Path) -> list[re.Pattern[str]]:
    """Name patterns of the conflict copies of ``vault_path`` that each service makes.

    - Syncthing: ``vault.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.db``
    - Dropbox: ``vault (HOST's conflicted copy YYYY-MM-DD).db`` (and ``(1)`` variants)
    - Nextcloud/ownCloud: ``vault (conflicted copy YYYY-MM-DD HHMMSS).db``
    - OneDrive: ``vault-HOSTNAME.db``
    """
    stem, suffix = re.escape(vault_path.stem), re.escape(vault_path.suffix)
    return [
        re.compile(rf"{stem}\.sync-conflict-\d{{8}}-\d{{6}}-[A-Z0-9]+{suffix}"),
        re.compile(
            rf"{stem} \([^()/]*'s conflicted copy \d{{4}}-\d{{2}}-\d{{2}}\)( \(\d+\))?{suffix}"
        ),
        re.compile(rf"{stem} \(conflicted copy \d{{4}}-\d{{2}}-\d{{2}} \d{{6}}\){suffix}"),
        re.compile(rf"{stem}-[A-Za-z0-9][A-Za-z0-9-]{{0,62}}{suffix}"),
    ]


def find_copies(vault_path: Path) -> list[Path]:
    """Conflict copies of ``vault_path`` in its folder, oldest first (whole names match)."""
    patterns = copy_patterns(vault_path)
    try:
        entries = list(os.scandir(vault_path.parent))
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name == vault_path.name or not entry.is_file(follow_symlinks=False):
            continue
        if any(p.fullmatch(entry.name) for p in patterns):
            found.append((entry.stat(follow_symlinks=False).st_mtime_ns, Path(entry.path)))
    return [p for _, p in sorted(found)]


@dataclass
class Absorbed:
    """What :func:`absorb` did: copies merged (and where they went), copies left alone."""

    merged: list[tuple[str, str, int]] = field(default_factory=list)
    """(copy name, where it was moved, secrets changed here)."""
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(copy name, why it was left alone)."""

    def __bool__(self) -> bool:
        return bool(self.merged or self.refused)


def _move_aside(copy: Path) -> Path:
    folder = copy.parent / MERGED_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / copy.name
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{copy.stem}.{n}{copy.suffix}"
    os.replace(copy, target)
    return target


def absorb(vault: Vault, audit: object | None = None, copies: list[Path] | None = None) -> Absorbed:
    """Merge every conflict copy beside ``vault`` (or just ``copies``) into it, and move
    each merged copy into ``merged/``. ``audit`` (an :class:`~core.audit.AuditLog`) gets one
    ``merge_copy`` event per copy (the copy's file name, never a value).

    Each copy is verified whole before anything is merged from it, so a half-synced or
    truncated file is refused without touching the vault. Never raises for a bad copy.
    """
    from core.sync.merge import merge_file

    done = Absorbed()
    for copy in find_copies(Path(vault.path)) if copies is None else copies:
        try:
            report = merge_file(vault, copy, verify_other=True)
        except VaultError as exc:
            reason = exc.message
            done.refused.append((copy.name, reason))
            _audit(audit, copy.name, success=False, error=reason)
            continue
        target = _move_aside(copy)
        done.merged.append((copy.name, str(target), report.changed))
        _audit(audit, copy.name, success=True, changed=report.changed)
    return done


def _audit(audit: object | None, copy_name: str, **fields: object) -> None:
    log = getattr(audit, "log", None)
    if log is None:
        return
    success = bool(fields.pop("success"))
    error = fields.pop("error", None)
    # the merge itself stands if the audit trail fails; that reports its own failures
    with contextlib.suppress(VaultError, OSError):
        log(
            "merge_copy",
            None,
            success=success,
            error_message=error,
            copy=copy_name,
            **fields,
        )


class CopyWatch:
    """Runs :func:`absorb` when the vault's folder may hold a new copy.

    A folder's modification time changes whenever a file is added or renamed in it, so
    one ``stat`` per call is all it costs while nothing happens. Refused copies are
    reported once per (name, size, mtime), not on every call.
    """

    def __init__(self, vault: Vault, audit: object | None = None) -> None:
        self._vault = vault
        self._audit = audit
        self._seen: int | None = None
        self._reported: set[tuple[str, int, int]] = set()
        self._lock = threading.Lock()

    def check(self) -> Absorbed:
        """Absorb copies if the folder changed since the last check; else do nothing."""
        folder = Path(self._vault.path).parent
        try:
            stamp = folder.stat().st_mtime_ns
        except OSError:
            return Absorbed()
        with self._lock:
            if stamp == self._seen:
                return Absorbed()
            self._seen = stamp
            fresh = [c for c in find_copies(Path(self._vault.path)) if self._new(c)]
            if not fresh:
                return Absorbed()
            result = absorb(self._vault, self._audit, fresh)
            for name, _ in result.refused:
                self._remember(folder / name)
            # moving a copy aside changed the folder again: look once more next time
            self._seen = None if result.merged else stamp
            return result

    def _key(self, path: Path) -> tuple[str, int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return (path.name, st.st_size, st.st_mtime_ns)

    def _new(self, path: Path) -> bool:
        key = self._key(path)
        return key is not None and key not in self._reported

    def _remember(self, path: Path) -> None:
        key = self._key(path)
        if key is not None:
            self._reported.add(key)
