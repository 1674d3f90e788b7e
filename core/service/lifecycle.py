"""Opening and locking a manager: the 'unlock' and 'lock' events, written once here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Settings
    from core.secrets_manager import SecretsManager
    from core.vault import Vault


def adopt(settings: Settings, vault: Vault, *, source: str) -> SecretsManager:
    """A manager over a vault this process already opened (the app opens it first to show
    the list sooner); audited as the one 'unlock' of that vault."""
    from core.secrets_manager import SecretsManager

    manager = SecretsManager(settings, vault=vault, source=source)
    manager.audit_log.log("unlock", success=True)
    return manager


def lock(manager: SecretsManager) -> None:
    """Audit the 'lock' and close the manager (the key is forgotten), even if the audit
    line cannot be written."""
    try:
        manager.audit_log.log("lock", success=True)
    finally:
        manager.close()
