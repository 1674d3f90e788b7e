"""The JSON export format, and the JSON shapes ``import`` accepts.

Export (``vaultui-export/1``)::

    {"format": "vaultui-export/1", "exported_at": "2025-01-15T10:30:00+00:00",
     "secrets": [{"name": "db/password", "type": "str", "value": "...",
                  "description": "...", "tags": {"env": "prod"}}, ...]}

``bytes`` values are base64 text with ``"encoding": "base64"``. Import reads that
format back exactly (types, descriptions, tags), and also a flat object
``{"NAME": value, ...}`` (str or object values; numbers and booleans become text).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from core.errors import ValidationError

FORMAT = "vaultui-export/1"


def render(entries: list[dict[str, Any]]) -> str:
    """The export document for entries (name, type, value, description, tags)."""
    secrets = []
    for e in entries:
        item: dict[str, Any] = {"name": e["name"], "type": e.get("type") or _type(e["value"])}
        value = e["value"]
        if isinstance(value, bytes | bytearray):
            item["value"] = base64.b64encode(bytes(value)).decode()
            item["encoding"] = "base64"
        else:
            item["value"] = value
        item["description"] = e.get("description") or ""
        item["tags"] = dict(e.get("tags") or {})
        secrets.append(item)
    doc = {
        "format": FORMAT,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "secrets": secrets,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _type(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return "bytes"
    return "dict" if isinstance(value, dict) else "str"


def parse(text: str, prefix: str = "") -> list[dict[str, Any]]:
    """Entries from a ``vaultui-export/1`` document or a flat ``{name: value}`` object.

    ValidationError (naming the entry, never its value) on anything else.
    """
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ValidationError(
            f"Not valid JSON (line {getattr(exc, 'lineno', '?')}, "
            f"column {getattr(exc, 'colno', '?')})"
        ) from None
    except RecursionError:
        raise ValidationError(
            "The JSON is nested too deeply to read",
            hint="secret values nest at most 64 levels; check the file is a vaultui export",
        ) from None
    if isinstance(doc, dict) and doc.get("format") == FORMAT:
        return [_from_export(i, item, prefix) for i, item in enumerate(doc.get("secrets") or [])]
    if isinstance(doc, dict):
        return [{"name": prefix + str(k), "value": _plain(str(k), v)} for k, v in doc.items()]
    raise ValidationError("JSON import expects an object: a vaultui export or {name: value}")


def _from_export(i: int, item: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise ValidationError(f"Secret {i + 1} in the export has no name")
    name = item["name"]
    value = item.get("value")
    if item.get("encoding") == "base64" or item.get("type") == "bytes":
        try:
            value = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(f"Secret {name!r}: value is not valid base64") from None
    elif not isinstance(value, str | dict):
        raise ValidationError(f"Secret {name!r}: value must be text or an object")
    tags = item.get("tags") or {}
    if not isinstance(tags, dict):
        raise ValidationError(f"Secret {name!r}: tags must be an object")
    return {
        "name": prefix + name,
        "value": value,
        "description": str(item.get("description") or ""),
        "tags": {str(k): "" if v is None else str(v) for k, v in tags.items()},
    }


def _plain(name: str, value: Any) -> str | dict[str, Any]:
    if isinstance(value, str | dict):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValidationError(f"Secret {name!r}: value must be text, a number or an object")
