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
