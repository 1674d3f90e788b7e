"""What a provider sync did (or would do), and where its cursors are kept.

A sync's bookkeeping lives in the vault file's sealed ``local_state`` (never in the
provider): the local change sequence it reached and, per secret, the remote version it
last saw. :func:`remote_id` names a remote by provider and address, so two OpenBao
servers (or two AWS regions) keep separate cursors.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.sync.join import Conflict
from core.vault import Vault

ProgressFn = Callable[[int, int, str], None]
"""``progress(done, total, what)``: called from the sync's thread."""

STATUS_KEY = "sync/remotes"


def remote_id(provider: Any, mode: str) -> str:
    """A stable id for (provider, its address/region/project, mode)."""
    describe = getattr(provider, "_describe", lambda: provider.name)()
    tag = hashlib.sha256(f"{provider.name}|{describe}".encode()).hexdigest()[:10]
    return f"{provider.name}:{tag}:{mode}"


def load_json(vault: Vault, key: str) -> dict[str, Any]:
    """A JSON object kept sealed in the vault's local state ({} if absent or damaged)."""
    raw = vault.get_local(key)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def save_json(vault: Vault, key: str, data: dict[str, Any]) -> None:
    """Store a JSON object in the vault's sealed local state."""
    vault.set_local(key, json.dumps(data, separators=(",", ":")).encode())


@dataclass
class SyncReport:
    """The outcome (or with ``dry_run`` the plan) of one sync with a provider.

    ``pushed``/``pulled`` name the secrets written to the provider / to this vault;
    ``deleted_here``/``deleted_there`` deletions applied on each side; ``conflicts``
    fields both sides changed (the later change won, the other is in history);
    ``failed`` maps a secret name to the error that stopped it (the rest still
    synced); ``pending_local``/``pending_remote`` count the changes each side had.
    Never holds a secret value.
    """

    provider: str
    mode: str
    remote: str
    dry_run: bool
    pushed: list[str] = field(default_factory=list)
    pulled: list[str] = field(default_factory=list)
    deleted_here: list[str] = field(default_factory=list)
    deleted_there: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    pending_local: int = 0
    pending_remote: int = 0
    remote_calls: int = 0
    values_read: int = 0
    seconds: float = 0.0
    started_at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "provider": self.provider,
            "mode": self.mode,
            "remote": self.remote,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "pushed": sorted(self.pushed),
            "pulled": sorted(self.pulled),
            "deleted_here": sorted(self.deleted_here),
            "deleted_there": sorted(self.deleted_there),
            "conflicts": [c.to_dict() for c in self.conflicts],
            "failed": dict(sorted(self.failed.items())),
            "pending_local": self.pending_local,
            "pending_remote": self.pending_remote,
            "remote_calls": self.remote_calls,
            "values_read": self.values_read,
            "seconds": round(self.seconds, 3),
        }


def record_status(vault: Vault, report: SyncReport) -> None:
    """Remember the last sync with each remote (for the sync pane and ``sync status``)."""
    data = load_json(vault, STATUS_KEY)
    data[report.remote] = {
        "provider": report.provider,
        "mode": report.mode,
        "last_sync": report.started_at + report.seconds,
        "ok": report.ok,
        "pushed": len(report.pushed),
        "pulled": len(report.pulled),
        "conflicts": len(report.conflicts),
        "failed": len(report.failed),
        "seq": vault.seq,
    }
    save_json(vault, STATUS_KEY, data)


def remotes_status(vault: Vault) -> dict[str, dict[str, Any]]:
    """Every remote this vault synced with: provider, mode, last sync time, counts."""
    return load_json(vault, STATUS_KEY)
