"""What changed between two versions of a secret: the one diff used by
``vaultui --batch history NAME --diff A B`` and by the app's history screen.

:func:`diff_values` compares two decoded values and returns plain data (so the unlock
agent can send it): for dict secrets one entry per added, removed or changed field
(nested fields as ``a.b``), for text and bytes one entry for the whole value. Unless
``reveal`` is set no value appears in the result, only a mask with its length
(``•••• (12 chars)``); revealed text values come with a unified diff of their lines.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from typing import Any

MASK = "••••"


def _flatten(value: object, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, leaf) for every leaf of a dict (lists count as leaves)."""
    assert isinstance(value, dict)
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict) and item:
            yield from _flatten(item, path)
        else:
            yield path, item


def _kind(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return "bytes"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, str):
        return "str"
    return "json"


def _length(value: object) -> int:
    """Characters of a text value, bytes of a bytes value, JSON characters otherwise."""
    if isinstance(value, str | bytes | bytearray):
        return len(value)
    return len(json.dumps(value, sort_keys=True, default=str))


def masked(value: object) -> str:
    """A value shown without its content: the mask and how long it is."""
    n = _length(value)
    unit = "byte" if isinstance(value, bytes | bytearray) else "char"
    return f"{MASK} ({n} {unit}{'' if n == 1 else 's'})"


def shown(value: object) -> Any:
    """A revealed value as plain data (bytes as hex, text and JSON as they are)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return value


def _lines(value: object) -> list[str]:
    if isinstance(value, str):
        return value.splitlines()
    return [json.dumps(value, sort_keys=True, default=str)]


_MISSING = object()


def diff_values(
    old: object,
    new: object,
    *,
    reveal: bool = False,
    a_label: str = "a",
    b_label: str = "b",
) -> dict[str, Any]:
    """Compare two secret values; returns ``{"type_a", "type_b", "same", "changes",
    "unchanged"}``.

    ``changes`` lists ``{"field", "change", "a_length", "b_length", "a", "b", "diff"}``
    with ``change`` one of added/removed/changed and ``field`` None for a whole value;
    ``a``/``b`` are masks unless ``reveal``; ``diff`` holds unified-diff lines for a
    revealed text value that changed. ``unchanged`` counts equal dict fields.
    """
    changes: list[dict[str, Any]] = []
    unchanged = 0
    if isinstance(old, dict) and isinstance(new, dict):
        before = dict(_flatten(old))
        after = dict(_flatten(new))
        for path in sorted(before.keys() | after.keys()):
            x, y = before.get(path, _MISSING), after.get(path, _MISSING)
            if x is not _MISSING and y is not _MISSING and x == y and type(x) is type(y):
                unchanged += 1
                continue
            changes.append(
                _change_missing(path, x, y, f"{a_label}:{path}", f"{b_label}:{path}", reveal)
            )
    elif not (old == new and type(old) is type(new)):
        changes.append(_change_missing(None, old, new, a_label, b_label, reveal))
    return {
        "type_a": _kind(old),
        "type_b": _kind(new),
        "same": not changes,
        "changes": changes,
        "unchanged": unchanged,
    }


def _change_missing(
    field: str | None, old: object, new: object, a_label: str, b_label: str, reveal: bool
) -> dict[str, Any]:
    kind = "added" if old is _MISSING else "removed" if new is _MISSING else "changed"
    entry: dict[str, Any] = {
        "field": field,
        "change": kind,
        "a_length": None if old is _MISSING else _length(old),
        "b_length": None if new is _MISSING else _length(new),
        "a": None if old is _MISSING else (shown(old) if reveal else masked(old)),
        "b": None if new is _MISSING else (shown(new) if reveal else masked(new)),
        "diff": None,
    }
    if reveal and kind == "changed" and isinstance(old, str) and isinstance(new, str):
        entry["diff"] = list(
            difflib.unified_diff(_lines(old), _lines(new), a_label, b_label, lineterm="")
        )
    return entry


def render_lines(result: dict[str, Any], a: int, b: int) -> list[str]:
    """The diff as text lines for a terminal or a screen (masked unless revealed)."""
    out: list[str] = []
    if result["type_a"] != result["type_b"]:
        out.append(f"type: {result['type_a']} -> {result['type_b']}")
    if result["same"]:
        out.append(f"versions {a} and {b} hold the same value")
        return out
    for c in result["changes"]:
        label = c["field"] if c["field"] is not None else "value"
        if c["change"] == "added":
            out.append(f"+ {label}: {_text(c['b'])}")
        elif c["change"] == "removed":
            out.append(f"- {label}: {_text(c['a'])}")
        elif c["diff"]:
            out.append(f"~ {label}:")
            out.extend(f"    {line}" for line in c["diff"])
        else:
            out.append(f"~ {label}: {_text(c['a'])} -> {_text(c['b'])}")
    if result["unchanged"]:
        n = result["unchanged"]
        out.append(f"  ({n} field{'' if n == 1 else 's'} unchanged)")
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
