"""The ``.env`` format: ``KEY=value`` lines, as docker compose and python-dotenv read them.

Reading accepts ``export KEY=value``, ``#`` comments, blank lines, unquoted values (an
inline `` #comment`` is dropped), single-quoted values (literal) and double-quoted
values (``\\n``, ``\\t``, ``\\"``, ``\\\\`` escapes; may span lines).

Writing uses single quotes when the value allows (nothing is expanded inside them),
else double quotes with escapes; dict values are written as JSON text and bytes as
base64, both read back as text.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from core.errors import ValidationError
from core.importexport.names import env_vars

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def parse(text: str, prefix: str = "") -> list[dict[str, Any]]:
    """Entries (``name``, ``value``) from ``.env`` text; ValidationError with the line
    number (never the value) on a malformed line."""
    entries: list[dict[str, Any]] = []
    i, n = 0, len(text)
    line_no = 1
    while i < n:
        end = text.find("\n", i)
        end = n if end < 0 else end
        line = text[i:end].strip()
        if not line or line.startswith("#"):
            i, line_no = end + 1, line_no + 1
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        m = _KEY.match(line)
        rest = line[m.end() :].lstrip() if m else ""
        if not m or not rest.startswith("="):
            raise ValidationError(f".env line {line_no} is not KEY=value")
        key = m.group(0)
        raw = rest[1:].lstrip()
        start_line = line_no
        if raw.startswith(("'", '"')):
            quote = raw[0]
            # the value may continue over the following lines of the original text
            offset = i + text[i:end].index(raw) + 1
            value, after = _quoted(text, offset, quote, start_line)
            line_no += text.count("\n", i, after)
            tail_end = text.find("\n", after)
            tail_end = n if tail_end < 0 else tail_end
            tail = text[after:tail_end].strip()
            if tail and not tail.startswith("#"):
                raise ValidationError(f".env line {start_line}: text after the closing quote")
            i, line_no = tail_end + 1, line_no + 1
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].rstrip()
            i, line_no = end + 1, line_no + 1
        entries.append({"name": prefix + key, "value": value})
    return entries


def _quoted(text: str, pos: int, quote: str, line_no: int) -> tuple[str, int]:
    """The quoted value starting after the opening quote at ``pos``; (value, end)."""
    out = []
    while pos < len(text):
        c = text[pos]
        if c == quote:
            return "".join(out), pos + 1
        if c == "\\" and quote == '"' and pos + 1 < len(text):
            nxt = text[pos + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            pos += 2
            continue
        out.append(c)
        pos += 1
    raise ValidationError(f".env line {line_no}: the quoted value is never closed")


def quote(value: str) -> str:
    """``value`` quoted so that .env readers give it back unchanged."""
    if "'" not in value and "\n" not in value and "\r" not in value:
        return f"'{value}'"
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def as_text(value: object) -> str:
    """A value as .env text: str as is, dict as JSON, bytes as base64."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render(entries: list[dict[str, Any]]) -> str:
    """``.env`` text for exported entries (name -> VARIABLE, see names.env_var)."""
    by_var = env_vars([e["name"] for e in entries])
    values = {e["name"]: e["value"] for e in entries}
    lines = [f"{var}={quote(as_text(values[name]))}" for var, name in by_var.items()]
    return "\n".join(lines) + ("\n" if lines else "")
