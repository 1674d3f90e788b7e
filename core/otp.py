"""Time-based one-time passwords (RFC 6238) from what a secret holds.

A secret gives a TOTP when it is (or contains) an ``otpauth://totp/...`` URI: the whole
value, any line of a text value (pass-otp keeps it on a line after the password), or
the ``totp`` (or ``otp``) field of a dict secret (KeePassXC's ``otp`` attribute is
imported as ``totp``), which may also be a bare base32 seed (30 s, 6 digits, SHA-1).
Codes are computed with ``pyotp``. No error message quotes the seed or the URI.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from core.errors import NotFoundError, ValidationError

ALGORITHMS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
DIGITS = (6, 7, 8)
MAX_PERIOD = 86400
OTP_FIELDS = ("totp", "otp")


@dataclass(frozen=True)
class Totp:
    """One TOTP generator: the base32 seed, digits, period and hash algorithm."""

    secret: str = field(repr=False)
    digits: int = 6
    period: int = 30
    algorithm: str = "SHA1"
    label: str = ""

    def __post_init__(self) -> None:
        if self.digits not in DIGITS:
            raise ValidationError(f"A one-time password has 6, 7 or 8 digits, not {self.digits}")
        if not 1 <= self.period <= MAX_PERIOD:
            raise ValidationError(f"The one-time password period must be 1..{MAX_PERIOD} s")
        if self.algorithm not in ALGORITHMS:
            raise ValidationError(
                f"Unknown one-time password algorithm {self.algorithm[:16]!r}: "
                "use SHA1, SHA256 or SHA512"
            )

    def code(self, at: float | None = None) -> tuple[str, int]:
        """The code valid at ``at`` (Unix time; now by default) and the whole seconds
        it stays valid."""
        now = time.time() if at is None else at
        try:
            totp = _client_totp()(
                self.secret,
                digits=self.digits,
                digest=ALGORITHMS[self.algorithm],
                interval=self.period,
            )
            code = totp.at(int(now))
        except (ValueError, TypeError):
            raise ValidationError("The one-time password seed is not valid base32") from None
        remaining = self.period - int(now) % self.period
        return code, remaining


def _client_totp() -> type:
    """pyotp's TOTP accepting the seeds sites really issue: pyotp refuses seeds under
    112 bits (a rule for issuers), yet 80-bit seeds are common, and oathtool, pass-otp
    and KeePassXC compute their codes."""
    import pyotp

    class ClientTotp(pyotp.TOTP):
        min_secret_length_bits = 8

    return ClientTotp


def from_text(text: str) -> Totp:
    """A :class:`Totp` from an ``otpauth://totp/`` URI or a bare base32 seed."""
    text = text.strip()
    if text.lower().startswith("otpauth://"):
        return from_uri(text)
    return Totp(_base32(text))


def from_uri(uri: str) -> Totp:
    """Parse ``otpauth://totp/LABEL?secret=...&algorithm=&digits=&period=``."""
    parts = urlsplit(uri.strip())
    if parts.scheme.lower() != "otpauth":
        raise ValidationError("Not an otpauth:// URI")
    if parts.netloc.lower() != "totp":
        raise ValidationError(
            f"Only time-based one-time passwords (otpauth://totp) are supported, not "
            f"{parts.netloc[:8]!r}"
        )
    query = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
    if "secret" not in query:
        raise ValidationError("The otpauth:// URI has no secret parameter")
    try:
        digits = int(query.get("digits", "6"))
        period = int(query.get("period", "30"))
    except ValueError:
        raise ValidationError("The otpauth:// URI has a malformed digits or period") from None
    algorithm = query.get("algorithm", "SHA1").upper().replace("-", "")
    label = unquote(parts.path.lstrip("/"))[:200]
    return Totp(_base32(query["secret"]), digits, period, algorithm, label)


def _base32(seed: str) -> str:
    """The seed in canonical base32 (upper case, no spaces or padding); checked."""
    import base64
    import binascii

    clean = "".join(seed.split()).upper().rstrip("=")
    if not clean:
        raise ValidationError("The one-time password seed is empty")
    try:
        base64.b32decode(clean + "=" * (-len(clean) % 8))
    except (binascii.Error, ValueError):
        raise ValidationError("The one-time password seed is not valid base32") from None
    return clean


def legacy_keepassxc_uri(seed: str, settings: str | None) -> str | None:
    """An otpauth:// URI from KeePassXC's older ``TOTP Seed`` and ``TOTP Settings``
    (``"30;6"``: period;digits) attributes, or None when they describe no TOTP we
    compute (Steam's ``S`` encoding)."""
    from urllib.parse import quote

    period, _, digits = (settings or "30;6").partition(";")
    if not period.strip().isdigit() or not (digits.strip() or "6").isdigit():
        return None
    return (
        f"otpauth://totp/KeePassXC?secret={quote(''.join(seed.split()))}"
        f"&period={period.strip()}&digits={digits.strip() or '6'}"
    )


def find_totp(name: str, value: Any) -> Totp:
    """The TOTP a secret value holds (see the module docstring); NotFoundError if none."""
    if isinstance(value, dict):
        for key in OTP_FIELDS:
            found = value.get(key)
            if isinstance(found, str) and found.strip():
                return from_text(found)
        for item in value.values():
            if isinstance(item, str) and item.strip().lower().startswith("otpauth://totp"):
                return from_uri(item)
        raise NotFoundError(f"Secret {name!r} has no totp field or otpauth:// URI")
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    for line in str(value).splitlines():
        if line.strip().lower().startswith("otpauth://"):
            return from_uri(line)
    raise NotFoundError(
        f"Secret {name!r} holds no otpauth:// URI",
        hint="store one (otpauth://totp/...?secret=BASE32) or a dict with a totp field",
    )
