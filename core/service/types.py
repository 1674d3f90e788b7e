"""The plain types and checks front ends name: records, versions, key sources, names.

Re-exported here so that ``vaultui`` reaches the vault's types through the service and
never imports the storage modules themselves.
"""

from __future__ import annotations

from typing import Any

from core.service.lazy import lazy_exports

_EXPORTS = {
    "Argon2Params": ("core.vault", "Argon2Params"),
    "KeySource": ("core.vault", "KeySource"),
    "SecretRecord": ("core.vault", "SecretRecord"),
    "SecretRotationPolicy": ("core.rotation.policy", "SecretRotationPolicy"),
    "SecretsManager": ("core.secrets_manager", "SecretsManager"),
    "Vault": ("core.vault", "Vault"),
    "VersionInfo": ("core.vault", "VersionInfo"),
    "allow_gc_pause": ("core.vault.gcpause", "allow_gc_pause"),
    "validate_name": ("core.vault", "validate_name"),
    "write_new_key_file": ("core.vault", "write_new_key_file"),
}

__all__ = list(_EXPORTS)
__getattr__: Any = lazy_exports(__name__, _EXPORTS)
