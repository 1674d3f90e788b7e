"""One-time passwords, registered as the operation ``otp`` of :mod:`core.agent.ops`.

The code is computed where the vault is open (inside the unlock agent when one runs), so
the TOTP seed never leaves it: the reply holds the current code and its timing only.
Each call writes one ``otp`` audit event naming the secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import NotFoundError, VaultError
from core.otp import find_totp
from core.service.ops import ProgressFn, op
from core.vault import validate_name

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager


@op("otp")
def otp(manager: SecretsManager, name: str, progress: ProgressFn | None = None) -> dict[str, Any]:
    """The current TOTP code of ``name``: ``{name, code, remaining, period, digits,
    algorithm}``. NotFoundError if the secret holds no TOTP, ValidationError if it is
    malformed."""
    try:
        validate_name(name)
        secret = manager.vault.get(name)
        if secret is None:
            raise NotFoundError(f"Secret {name!r} not found")
        totp = find_totp(name, secret.value)
        code, remaining = totp.code()
    except VaultError as exc:
        manager.audit_log.log("otp", name, success=False, error_message=exc.message)
        raise
    manager.audit_log.log("otp", name, success=True, version=secret.version)
    return {
        "name": name,
        "code": code,
        "remaining": remaining,
        "period": totp.period,
        "digits": totp.digits,
        "algorithm": totp.algorithm,
    }
