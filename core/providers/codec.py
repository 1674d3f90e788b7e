"""How typed secret values (``str``, ``bytes``, ``dict``) are stored in providers.

The rule everywhere: a ``str`` is stored as the plain string, a ``dict`` as JSON (for
HashiCorp Vault KV, as the secret's own fields), so other tools read them naturally;
``bytes`` are stored natively where the provider has binary values (AWS
``SecretBinary``, GCP payloads) and as base64 text elsewhere. Each provider records the
type next to the value (see the provider modules and docs/providers.md) so every value
comes back with the type it was stored with.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

from core.errors import ProviderLimitError
from core.vault.codec import SecretValue, encode_value, value_type

__all__ = [
    "SecretValue",
    "check_size",
    "from_bytes",
    "from_text",
    "parse_time",
    "to_bytes",
    "to_text",
    "value_type",
]


def to_bytes(value: object) -> tuple[bytes, str]:
    """``(payload, type)``: UTF-8 for str, raw bytes, compact JSON for dict.

    Raises ValidationError for a value that is not str, bytes or a JSON-like dict, and
    ValueTooLargeError beyond the vault's own 1 MiB limit.
    """
    encoded = encode_value(value)  # validates type, JSON-ability and the vault limit
    return encoded[1:], value_type(value)


def to_text(value: object) -> tuple[str, str]:
    """``(text, type)`` for providers whose values are strings (bytes become base64)."""
    payload, kind = to_bytes(value)
    if kind == "bytes":
        return base64.b64encode(payload).decode("ascii"), kind
    return payload.decode("utf-8"), kind


def from_bytes(data: bytes, kind: str | None) -> SecretValue:
    """Rebuild a value from a binary payload and its recorded type.

    An unknown type (a value written by another tool) is text when it is valid UTF-8,
    bytes otherwise. A payload that does not parse as its recorded type is returned as
    text or bytes rather than raising.
    """
    if kind == "bytes":
        return bytes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return bytes(data)
    return from_text(text, kind if kind in ("str", "dict") else "str")


def from_text(text: str, kind: str | None) -> SecretValue:
    """Rebuild a value from a text payload and its recorded type ('str' when unknown)."""
    if kind == "dict":
        parsed = _json_object(text)
        return parsed if parsed is not None else text
    if kind == "bytes":
        try:
            return base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return text
    return text


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def check_size(
    display_name: str, name: str, size: int, limit: int | None, *, base64_bytes: bool = False
) -> None:
    """Raise ProviderLimitError when ``size`` bytes exceed ``limit`` (never shows the value).

    ``base64_bytes`` adds a note that bytes values grow by 4/3 as base64.
    """
    if limit is None or size <= limit:
        return
    how = " (bytes values are stored as base64, 4/3 of their size)" if base64_bytes else ""
    raise ProviderLimitError(
        f"Secret {name!r} is {size} bytes as stored{how}; {display_name} accepts at most "
        f"{limit} bytes per value",
        hint="keep large values in the local vault only, or split them",
    )


def parse_time(value: object) -> datetime | None:
    """A UTC datetime from RFC 3339 text (any fraction digits), epoch seconds or a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    match = _RFC3339.fullmatch(text)
    if not match:
        return None
    base, frac, zone = match.group(1), match.group(2) or "", match.group(3) or "Z"
    frac = (frac[1:] + "000000")[:6] if frac else "000000"
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        parsed = datetime.fromisoformat(f"{base}.{frac}{zone}")
    except ValueError:
        return None
    if parsed.year < 1971:  # Vault's "zero" time for unset fields
        return None
    return parsed.astimezone(UTC)


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|z|[+-]\d\d:\d\d)?")
