"""One entry point for the CLI and the app: configured remotes, running a sync, status.

Configured remotes and the background interval are kept sealed in the vault file
(``local_state``), so they travel with neither copies nor backups of other machines::

    cfg = load_config(vault)        # SyncConfig(remotes=[Remote(...)], interval=900)
    report = run_sync(vault, settings, "hashicorp_vault", sealed=True, audit=audit_log)
    status(vault)                   # last sync per remote, pending changes, conflicts

``VAULTUI_SYNC_INTERVAL`` (seconds, 0 = off) overrides the stored interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.sync.conflicts import list_conflicts
from core.sync.report import (
    ProgressFn,
    SyncReport,
    load_json,
    record_status,
    remotes_status,
    save_json,
)
from core.text import plural
from core.vault import Vault

CONFIG_KEY = "sync/config"
MIN_INTERVAL = 30


@dataclass(frozen=True)
class Remote:
    """A configured sync target: a provider name and a mode ('sealed' or 'native')."""

    provider: str
    mode: str = "sealed"

    @property
    def label(self) -> str:
        """``provider (mode)``."""
        return f"{self.provider} ({self.mode})"


@dataclass
class SyncConfig:
    """The remotes to sync with and the background interval (seconds, 0 = off)."""

    remotes: list[Remote] = field(default_factory=list)
    interval: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "remotes": [{"provider": r.provider, "mode": r.mode} for r in self.remotes],
            "interval": self.interval,
        }


def load_config(vault: Vault, settings: Any = None) -> SyncConfig:
    """The stored sync configuration (``VAULTUI_SYNC_INTERVAL`` overrides the interval)."""
    data = load_json(vault, CONFIG_KEY)
    remotes = [
        Remote(str(r.get("provider")), str(r.get("mode", "sealed")))
        for r in data.get("remotes", [])
        if isinstance(r, dict) and r.get("provider")
    ]
    interval = int(data.get("interval") or 0)
    override = getattr(settings, "sync_interval_seconds", 0)
    if override:
        interval = int(override)
    return SyncConfig(remotes, interval)


def save_config(vault: Vault, config: SyncConfig) -> None:
    """Store the sync configuration in the vault's sealed local state."""
    if config.interval and config.interval < MIN_INTERVAL:
        raise ConfigError(f"The sync interval is at least {MIN_INTERVAL} seconds (or 0: off)")
    for r in config.remotes:
        if r.mode not in ("sealed", "native"):
            raise ConfigError(f"Sync mode must be 'sealed' or 'native', not {r.mode!r}")
    save_json(vault, CONFIG_KEY, config.to_dict())


def add_remote(vault: Vault, remote: Remote) -> SyncConfig:
    """Remember ``remote`` (idempotent); returns the new configuration."""
    config = load_config(vault)
    if remote not in config.remotes:
        config.remotes.append(remote)
        save_config(vault, config)
    return config


def make_provider(settings: Any, name: str, **overrides: Any) -> Any:
    """Build provider ``name`` from ``settings`` (ConfigError for unknown names)."""
    from core.providers.registry import get_provider

    return get_provider(name, settings, **overrides)


def run_sync(
    vault: Vault,
    settings: Any,
    provider_name: str,
    *,
    sealed: bool,
    dry_run: bool = False,
    audit: Any = None,
    progress: ProgressFn | None = None,
    provider: Any = None,
) -> SyncReport:
    """Sync ``vault`` with one provider, sealed or native; records the outcome."""
    from core.sync.native import sync_native
    from core.sync.sealed import sync_sealed

    own = provider is None
    provider = provider or make_provider(settings, provider_name)
    try:
        if sealed:
            report = sync_sealed(vault, provider, dry_run=dry_run, progress=progress, audit=audit)
        else:
            report = sync_native(
                vault,
                provider,
                dry_run=dry_run,
                progress=progress,
                audit=audit,
                user=getattr(settings, "user", None),
            )
    finally:
        if own:
            provider.close()
    if not dry_run:
        record_status(vault, report)
        if audit is not None:
            audit.log(
                "sync",
                None,
                success=report.ok,
                error_message=(
                    f"{plural(len(report.failed), 'secret')} failed" if report.failed else None
                ),
                provider=provider_name,
                mode=report.mode,
                pushed=len(report.pushed),
                pulled=len(report.pulled),
                conflicts=len(report.conflicts),
            )
    return report


def pending_local(vault: Vault) -> dict[str, int]:
    """Per remote: how many secrets changed here since its last sync (no network)."""
    out: dict[str, int] = {}
    for rid in remotes_status(vault):
        cursor = load_json(vault, f"sync/{rid}")
        seq = int(cursor.get("seq", 0))
        recs = cursor.get("recs") or cursor.get("names") or {}
        by_uid = "recs" in cursor
        count = 0
        for rec in vault.changes_since(seq):
            entry = recs.get(rec.uid if by_uid else rec.name)
            rev = None
            if isinstance(entry, list) and len(entry) > 2:
                rev = entry[2]
            elif isinstance(entry, dict):
                rev = entry.get("r")
            if rev != rec.rev:
                count += 1
        out[rid] = count
    return out


def status(vault: Vault) -> dict[str, Any]:
    """What the sync pane shows: remotes with last sync and pending local changes,
    open conflicts, the configuration and conflict copies beside the vault file."""
    remotes = remotes_status(vault)
    pending = pending_local(vault)
    for rid, info in remotes.items():
        info["pending_local"] = pending.get(rid, 0)
    return {
        "secrets": vault.count(),
        "config": load_config(vault).to_dict(),
        "remotes": remotes,
        "conflicts": list_conflicts(vault),
        "conflict_copies": [str(p) for p in find_conflict_copies(Path(vault.path))],
    }


def find_conflict_copies(vault_path: Path) -> list[Path]:
    """Conflict copies of the vault file that a file-sync service left beside it
    (:func:`core.sync.copies.find_copies`: Syncthing, Dropbox, Nextcloud, OneDrive)."""
    from core.sync.copies import find_copies

    return find_copies(vault_path)
