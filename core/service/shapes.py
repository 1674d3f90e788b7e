"""Records, versions and values as plain data: what operations return and the agent
sends. Metadata only, never a value, except :func:`extract_field` and :func:`leaves`,
which take a value the caller already read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.errors import NotFoundError, ValidationError
from core.vault import SecretRecord, VersionInfo


def _iso(dt: Any) -> str | None:
    return dt.isoformat() if dt is not None else None


def record_to_dict(r: SecretRecord) -> dict[str, Any]:
    """A record's metadata as plain data (never the value)."""
    return {
        "name": r.name,
        "type": r.type,
        "version": r.version,
        "description": r.description,
        "tags": dict(r.tags),
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at),
        "deleted": r.deleted,
        "deleted_at": _iso(r.deleted_at),
        "size": r.size,
        "stages": dict(r.stages),
        "rotation_policy": (r.rotation or {}).get("policy") or "never",
        "rev": r.rev,
        "seq": r.seq,
        "uid": r.uid,
    }


def version_to_dict(v: VersionInfo) -> dict[str, Any]:
    """One history entry as plain data."""
    return {
        "version": v.version,
        "created_at": _iso(v.created_at),
        "who": v.who,
        "why": v.why,
        "source": v.source,
        "device": v.device,
        "type": v.type,
        "size": v.size,
        "stage": v.stage,
    }


def type_name(value: object) -> str:
    """'str', 'bytes' or 'dict' for a secret value."""
    if isinstance(value, bytes | bytearray):
        return "bytes"
    if isinstance(value, dict):
        return "dict"
    return "str"


def extract_field(name: str, value: object, field: str) -> Any:
    """``value[field]`` of a dict secret (``a.b`` reaches into nested dicts)."""
    if not isinstance(value, dict):
        raise ValidationError(
            f"Secret {name!r} is a {type_name(value)} secret; --field needs a dict secret"
        )
    if field in value:
        return value[field]
    node: Any = value
    for part in field.split("."):
        if not isinstance(node, dict) or part not in node:
            raise NotFoundError(f"Secret {name!r} has no field {field!r}")
        node = node[part]
    return node


def leaves(value: object, prefix: str = "") -> Iterator[tuple[str | None, object]]:
    """(field path or None, leaf) for a value: itself, or every leaf of a dict."""
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(item, dict | list):
                yield from leaves(item if isinstance(item, dict) else dict(enumerate(item)), path)
            else:
                yield path, item
    else:
        yield (prefix or None), value
