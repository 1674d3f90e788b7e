"""Reading an audit trail in tests the way a key holder does: names opened.

Lines hold secret names sealed (see core.audit.sealing); tests that check what was
audited read the events back with the vault's audit key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.audit.sealing import AuditFieldSealer, open_event


def trail_events(path: Path, audit_key: bytes | None) -> list[dict[str, Any]]:
    """Every event of the live log at ``path``, sealed fields opened with ``audit_key``."""
    sealer = AuditFieldSealer(audit_key) if audit_key is not None else None
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [open_event(json.loads(x), sealer) for x in lines if x]


def has_event(events: list[dict[str, Any]], **fields: Any) -> bool:
    """True if some event has every given field with the given value."""
    return any(all(e.get(k) == v for k, v in fields.items()) for e in events)


def vault_audit_key(vault_path: Path, key_source: Any) -> bytes:
    """The audit key of the vault at ``vault_path`` (opened and closed again)."""
    from core.vault import Vault

    vault = Vault.open(vault_path, key_source)
    try:
        return vault.derive_key("audit")
    finally:
        vault.close()


def home_events(home: Path, key_source: Any = None) -> list[dict[str, Any]]:
    """Every event of the trail in vault home ``home``, opened with the vault's key
    (``key_source``, or the home's own key file when None)."""
    from core.vault import KeySource

    ks = key_source if key_source is not None else KeySource.from_key_file(home / "vault.key")
    key = vault_audit_key(home / "vault.db", ks)
    return trail_events(home / "logs" / "secrets_audit.log", key)


def app_events(app: Any) -> list[dict[str, Any]]:
    """Every event of an unlocked app's trail, opened with its vault's audit key."""
    manager = app.manager
    return trail_events(app.settings.audit_log_path, manager.vault.derive_key("audit"))
