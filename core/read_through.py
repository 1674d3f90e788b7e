"""Reading a secret in provider (native) mode: the provider first, then the local vault.

With ``FEDZK_SECRETS_PROVIDER`` set, the local vault is the provider's encrypted cache and
write-through log, but it can also hold secrets the provider has never seen (pulled by a
sealed sync, or stored while the provider was ``local``). ``list`` shows those, so a read
must find them too: a name the provider does not know is read from the local vault and
reported as :data:`LOCAL_ONLY`, so front ends can say where the value came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import ProviderError
from core.vault import SecretRecord

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager

PROVIDER = "provider"
"""The value came from the external provider."""
LOCAL = "local"
"""Local mode, or a past version/stage: the local vault is the only place to look."""
LOCAL_ONLY = "local-only"
"""The provider does not know the name; the value is the local vault's."""
FALLBACK = "fallback"
"""The provider failed; the value is the local vault's cached copy."""


@dataclass(frozen=True)
class Read:
    """What one read found: the value, its record (None when absent) and its origin."""

    value: Any
    record: SecretRecord | None
    origin: str


def read_through(
    manager: SecretsManager, name: str, *, stage: str | None, version: int | None
) -> Read:
    """Read ``name`` as the facade does (see the module docs); raises the vault's errors.

    A provider failure is recorded (``provider_fallback`` audit event, the manager's
    ``provider_error``) and the local copy answers.
    """
    provider = manager._read_provider
    origin = LOCAL
    if provider is not None and stage is None and version is None:
        try:
            remote = provider.get(name)
            manager._provider_error = None
        except ProviderError as exc:
            manager._provider_error = str(exc)
            manager.audit_log.log("provider_fallback", name, success=False, error_message=str(exc))
            origin = FALLBACK
        else:
            if remote is not None:
                record = manager.vault.record(name)
                if record is None:
                    # known to the provider only: describe it from what the provider says
                    record = SecretRecord(name, "", 0, 1, 0, False, type(remote.value).__name__)
                return Read(remote.value, record, PROVIDER)
            origin = LOCAL_ONLY
    secret = manager.vault.get(name, stage=stage, version=version)
    if secret is None:
        return Read(None, None, origin)
    return Read(secret.value, secret.record, origin)
