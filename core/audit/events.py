"""The audit line format: building, chaining and parsing one JSON event per line.

A line is a JSON object written with ``json.dumps`` default separators, so the seed's
shell recipes work unchanged (``grep '"success": false'``, ``jq -r .operation``)::

    {"timestamp": "2024-01-15T10:30:00.123456+00:00", "operation": "read",
     "secret_name": "api_key", "user": "alice", "success": true, "error_message": null,
     "ip_address": null, "source": "api", "pid": 4242, "host": "laptop", "version": 3,
     "seq": 17, "kid": "4f1c0e9a2b7d3c55", "chain": "<64 hex digits>"}

(one physical line). The last three fields are always in this order:

- ``seq``: position in the whole trail (1, 2, 3 ... across rotated files);
- ``kid``: which key made ``chain`` (16 hex digits derived from the key), or ``null``
  for a line written while no key was known (for example a failed unlock);
- ``chain``: ``HMAC-SHA256(key, DOMAIN + previous chain + "\\n" + this line up to and
  including '"chain": "'``), or for keyless lines the plain SHA-256 of the same input.

Because every chain value covers the previous one, the first keyed line written after
some keyless lines also authenticates them. A secret value never reaches a line: the
caller passes names and metadata only, and :func:`clean_extra` strips keys that look
like values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import PurePath
from typing import Any

from core.errors import ValidationError

DOMAIN = b"vaultui-audit-v1\n"
DOMAIN_UNKEYED = b"vaultui-audit-v1-unkeyed\n"
GENESIS = "0" * 64
"""The "previous chain" of the very first line of a trail."""

SEED_FIELDS = (
    "timestamp",
    "operation",
    "secret_name",
    "user",
    "success",
    "error_message",
    "ip_address",
)
"""The seed's fields, first on every line, in this order."""

STANDARD_FIELDS = (*SEED_FIELDS, "source", "pid", "host", "version")
"""Every line's fields before the caller's extras, in this order (the seed's first)."""
TRAILER_FIELDS = ("seq", "kid", "chain")
"""The chain's fields, last on every line."""
RESERVED = frozenset(
    (*STANDARD_FIELDS, *TRAILER_FIELDS, "torn", "redacted", "sealed_extra", "name_withheld")
)
"""Fields a caller's extras may not set (standard, trailer and bookkeeping)."""


def standard_event(operation: str, **fields: Any) -> dict[str, Any]:
    """A line's standard fields in :data:`STANDARD_FIELDS` order: ``operation``, the
    given ``fields``, and for the rest None (``timestamp`` "" until the writer stamps
    it, ``success`` True). A name outside :data:`STANDARD_FIELDS` is a caller's bug
    (TypeError, as for any unknown keyword)."""
    body: dict[str, Any] = dict.fromkeys(STANDARD_FIELDS)
    body.update(timestamp="", operation=operation, success=True)
    for key, value in fields.items():
        if key not in body or key in ("timestamp", "operation"):
            raise TypeError(f"standard_event() got an unexpected field {key!r}")
        body[key] = value
    return body


FORBIDDEN_KEYS = frozenset(
    {
        "value",
        "values",
        "secret_value",
        "new_value",
        "old_value",
        "plaintext",
        "cleartext",
        "password",
        "passphrase",
        "secret",
        "token",
        "private_key",
        "master_key",
        "data_key",
        "api_key_value",
    }
)
"""Extra-field names refused by :func:`clean_extra`: they would carry a value."""

MAX_TEXT = 500
"""Longest string kept in an extra field or ``error_message`` (longer ones are cut)."""

_TRAILER = re.compile(rb', "seq": (\d+), "kid": (null|"[0-9a-f]{16}"), "chain": "([0-9a-f]{64})"\}')
_TRAILER_MARK = b', "seq": '
CHAIN_TAIL = 66  # 64 hex digits + '"}'


def key_id(key: bytes) -> str:
    """The public 16-hex-digit id of an audit key (what lines carry in ``kid``)."""
    return hmac.new(key, b"vaultui-audit-key-id", hashlib.sha256).hexdigest()[:16]


def chain_value(key: bytes | None, prev_chain: str, prefix: bytes) -> str:
    """The chain value of a line whose bytes up to '"chain": "' are ``prefix``."""
    msg = prev_chain.encode("ascii") + b"\n" + prefix
    if key is None:
        return hashlib.sha256(DOMAIN_UNKEYED + msg).hexdigest()
    return hmac.new(key, DOMAIN + msg, hashlib.sha256).hexdigest()


def build_line(
    body: Mapping[str, Any], seq: int, kid: str | None, key: bytes | None, prev_chain: str
) -> tuple[bytes, str]:
    """Serialise ``body`` plus the trailer; return (line with newline, its chain value).

    ``body`` must not hold trailer fields; its key order is kept.
    """
    text = json.dumps({**body, "seq": seq, "kid": kid, "chain": ""})
    prefix = text[:-2].encode("ascii")  # ... "chain": "
    chain = chain_value(key, prev_chain, prefix)
    return prefix + chain.encode("ascii") + b'"}\n', chain


@dataclass(frozen=True, slots=True)
class Trailer:
    """The chain fields of a line, read without parsing the whole JSON."""

    seq: int
    kid: str | None
    chain: str
    prefix: bytes
    """The bytes the chain value was computed over (line up to '"chain": "')."""


def parse_trailer(raw: bytes) -> Trailer | None:
    """Read ``seq``/``kid``/``chain`` from a line (no newline); None if it has no trailer.

    A line with a trailer was, byte for byte, produced by :func:`build_line` unless it
    was tampered with; the chain check decides which.
    """
    at = raw.rfind(_TRAILER_MARK)
    if at < 0 or not raw.startswith(b"{"):
        return None
    m = _TRAILER.fullmatch(raw, at)
    if m is None:
        return None
    kid_raw = m.group(2)
    kid = None if kid_raw == b"null" else kid_raw[1:-1].decode("ascii")
    return Trailer(int(m.group(1)), kid, m.group(3).decode("ascii"), raw[:-CHAIN_TAIL])


def parse_event(raw: bytes) -> dict[str, Any] | None:
    """The event dict of a vaultui line, or None for a foreign, corrupt or torn line."""
    if parse_trailer(raw) is None:
        return None
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def now_utc() -> datetime:
    """The current time, UTC, with offset."""
    return datetime.now(UTC)


def format_ts(moment: datetime) -> str:
    """ISO 8601 in UTC with the offset and microseconds (what ``timestamp`` holds)."""
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(text: str) -> float | None:
    """Seconds since the epoch for a ``timestamp`` string, or None if unreadable.

    A timestamp without an offset (the seed's example) is read as UTC.
    """
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def to_epoch(value: datetime | date | float | int | str | None) -> float | None:
    """A query bound as epoch seconds. Naive datetimes are local time (as
    ``datetime.now() - timedelta(days=7)`` in the seed means)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        ts = parse_ts(value)
        if ts is None:
            raise ValidationError(f"Cannot read the time {value!r}", hint="use ISO 8601")
        return ts
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).astimezone().timestamp()
    raise ValidationError(f"Cannot use {type(value).__name__} as a time bound")


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*", re.IGNORECASE)
_DURATION_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | timedelta) -> timedelta:
    """Read '30d', '12h', '15m', '90s', '2w' (or pass a timedelta through)."""
    if isinstance(text, timedelta):
        return text
    m = _DURATION.fullmatch(text or "")
    if not m:
        raise ValidationError(
            f"Cannot read the duration {text!r}",
            hint="use a number and a unit: 90s, 15m, 12h, 30d, 2w",
        )
    return timedelta(seconds=float(m.group(1)) * _DURATION_UNITS[m.group(2).lower()])


def clean_text(value: object) -> str | None:
    """A short one-line string for ``error_message`` (None stays None)."""
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def clean_extra(extra: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Make caller-supplied extra fields safe to log.

    Returns (fields, redacted names). Keys in :data:`FORBIDDEN_KEYS` (at any depth) are
    dropped and named in the second element; reserved names raise
    :class:`ValidationError`; values are reduced to JSON scalars, lists and dicts
    (other objects become their type name, never their ``str``).
    """
    redacted: list[str] = []
    out: dict[str, Any] = {}
    for key, value in extra.items():
        if not isinstance(key, str):
            raise ValidationError("Audit field names must be strings")
        if key in RESERVED:
            raise ValidationError(f"Audit field {key!r} is reserved")
        if key.lower() in FORBIDDEN_KEYS:
            redacted.append(key)
            continue
        out[key] = _jsonable(value, redacted, key, 0)
    return out, redacted


def _jsonable(value: Any, redacted: list[str], path: str, depth: int) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return _jsonable(value.value, redacted, path, depth)
    if isinstance(value, PurePath):
        return clean_text(str(value))
    if depth >= 4:
        return f"<{type(value).__name__}>"
    if isinstance(value, Mapping):
        inner: dict[str, Any] = {}
        for k, v in value.items():
            name = str(k)
            if name.lower() in FORBIDDEN_KEYS:
                redacted.append(f"{path}.{name}")
                continue
            inner[name] = _jsonable(v, redacted, f"{path}.{name}", depth + 1)
        return inner
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v, redacted, path, depth + 1) for v in list(value)[:100]]
    return f"<{type(value).__name__}>"
