"""Typed secret values: ``str``, ``bytes`` or a JSON-like ``dict``, encoded for storage.

The stored form is one type byte followed by the payload, so every value comes back
with the type it was stored with (``{'port': 5432}`` returns an ``int`` again).
"""

from __future__ import annotations

import json
from typing import Any

from core.errors import IntegrityError, ValidationError, ValueTooLargeError
from core.input_limits import MAX_VALUE_BYTES as MAX_VALUE_BYTES  # 1 MiB, after encoding

SecretValue = str | bytes | dict[str, Any]


def _compact_encoder() -> Any:
    # json.dumps(separators=...) builds a new encoder on every call, about half its cost
    # for the small arrays the vault stores per record; build the C encoder once.
    from json.encoder import (  # type: ignore[attr-defined]  # CPython C encoder, not in typeshed
        c_make_encoder,
        encode_basestring_ascii,
    )

    if c_make_encoder is None:  # pragma: no cover - CPython always has it
        return None
    return c_make_encoder(None, None, encode_basestring_ascii, None, ":", ",", False, False, True)


_COMPACT = _compact_encoder()


def compact_json(obj: Any) -> bytes:
    """``json.dumps(obj, separators=(",", ":")).encode()`` (same bytes), faster.

    For the vault's own metadata (lists, dicts, str, int, float, None, bool); anything
    else raises TypeError or ValueError like ``json.dumps``.
    """
    if _COMPACT is None or not isinstance(obj, list | dict):  # pragma: no cover
        return json.dumps(obj, separators=(",", ":")).encode()
    return "".join(_COMPACT(obj, 0)).encode()


_TYPES = {b"s": "str", b"b": "bytes", b"j": "dict"}


def value_type(value: object) -> str:
    """'str', 'bytes' or 'dict'; raises ValidationError for anything else."""
    if isinstance(value, str):
        return "str"
    if isinstance(value, bytes | bytearray | memoryview):
        return "bytes"
    if isinstance(value, dict):
        return "dict"
    raise ValidationError(f"A secret value must be str, bytes or dict, not {type(value).__name__}")


def encode_value(value: object) -> bytes:
    """Encode a value with its type tag; enforces the 1 MiB limit."""
    kind = value_type(value)
    if kind == "str":
        assert isinstance(value, str)
        try:
            payload = b"s" + value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("A str value must be valid Unicode text") from None
    elif kind == "bytes":
        payload = b"b" + bytes(value)  # type: ignore[call-overload]  # kind "bytes": bytes-like
    else:
        _check_json_like(value)
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            # the exception text may quote part of the value: do not chain it
            raise ValidationError(
                "A dict value must be JSON-like (str keys; str, int, float, bool, None, "
                f"list or dict values): {type(exc).__name__}"
            ) from None
        payload = b"j" + text.encode("utf-8")
    if len(payload) - 1 > MAX_VALUE_BYTES:
        raise ValueTooLargeError(
            f"A secret value is at most {MAX_VALUE_BYTES} bytes encoded (got {len(payload) - 1})"
        )
    return payload


def _check_json_like(value: object, depth: int = 0) -> None:
    """Refuse what JSON would silently change (non-str keys, tuples) or cannot hold."""
    if depth > 64:
        raise ValidationError("A dict value is nested too deeply (more than 64 levels)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(
                    f"Keys of a dict value must be strings, not {type(key).__name__}"
                )
            _check_json_like(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json_like(item, depth + 1)
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise ValidationError(
            f"A dict value may hold str, int, float, bool, None, list or dict, "
            f"not {type(value).__name__}"
        )


def decode_value(data: bytes) -> SecretValue:
    """Decode what :func:`encode_value` produced."""
    tag, payload = data[:1], data[1:]
    try:
        if tag == b"s":
            return payload.decode("utf-8")
        if tag == b"b":
            return bytes(payload)
        if tag == b"j":
            value = json.loads(payload)
            if isinstance(value, dict):
                return value
    except (UnicodeDecodeError, ValueError):
        pass
    raise IntegrityError("A stored value has an unknown encoding")


def type_of_encoded(data: bytes) -> str:
    """The type name of an encoded value without decoding it."""
    return _TYPES.get(data[:1], "unknown")
