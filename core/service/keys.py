"""Changing what opens the vault: the passphrase (``passwd``) and the data key (``rekey``),
each audited as one event, never with key material."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import VaultError
from core.rekeying import rekey_manager as rekey

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager
    from core.vault import Argon2Params, KeySource

__all__ = ["change_passphrase", "rekey"]


def change_passphrase(
    manager: SecretsManager, old: KeySource, new: KeySource, *, kdf: Argon2Params | None = None
) -> str:
    """Replace the passphrase slot ``old`` opens, or add a passphrase slot when ``old`` is
    not a passphrase (a key file, the master key); returns ``changed`` or ``added``.
    Audited as one 'passwd' (success or failure)."""
    try:
        if old.kind == "passphrase":
            manager.vault.change_passphrase(old, new, kdf=kdf)
            action = "changed"
        else:
            manager.vault.add_key_slot(new, kdf=kdf)
            action = "added"
    except VaultError as exc:
        manager.audit_log.log("passwd", None, success=False, error_message=exc.message)
        raise
    manager.audit_log.log("passwd", None, success=True, action=action)
    return action
