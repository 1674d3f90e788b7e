"""The ``.env`` format: ``KEY=value`` lines, as docker compose and python-dotenv read them.

Reading accepts ``export KEY=value``, ``#`` comments, blank lines, unquoted values (an
inline `` #comment`` is dropped), single-quoted values (literal) and double-quoted
values (``\\n``, ``\\t``, ``\\"``, ``\\\\`` escapes; may span lines).

Writing must give back the exact value to three readers at once: a POSIX shell
(``set -a; . ./.env`` in sh, bash or dash), python-dotenv and :func:`parse`. It uses
single quotes when the value has no ``'`` and no ``\\\\`` (the shell expands nothing
inside them), else double quotes with only ``\\`` and ``"`` escaped and newlines kept
literal, which is exact only when the value has no ``$`` and no backtick. A value no form
carries exactly is refused, naming the secret (never the value): one holding a NUL or a
carriage return, ending in a backslash, holding ``${`` (python-dotenv expands it), or
mixing ``'`` or ``\\\\`` with ``$`` or a backtick. ``--format json`` exports any value.
Dict values are written as JSON text and bytes as base64, both read back as text.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from core.errors import ValidationError
from core.importexport.names import env_vars

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
# variables that change what the sourcing shell, or every program it starts, runs
_RUNS_CODE = frozenset(
    ("BASH_ENV", "BASHOPTS", "CDPATH", "ENV", "IFS", "PATH", "PROMPT_COMMAND", "PS4", "SHELLOPTS")
)
_RUNS_CODE_PREFIXES = ("LD_", "DYLD_", "BASH_FUNC_")
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
    out: list[str] = []
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


def refusal(value: str) -> str | None:
    """Why ``value`` cannot be written to a .env file exactly, or None if it can.

    The answer describes the value's shape, never its content.
    """
    if "\0" in value:
        return "holds a NUL character, which no shell variable can hold"
    if "\r" in value:
        return "holds a carriage return, which .env readers turn into a newline"
    if value.endswith("\\"):
        return "ends with a backslash, which .env readers take as escaping the closing quote"
    if "${" in value:
        return "holds '${', which python-dotenv expands as a variable"
    if _single_quotable(value) or _double_quotable(value):
        return None
    return "mixes a quote or a double backslash with '$' or a backtick"


def _single_quotable(value: str) -> bool:
    # python-dotenv reads \\ and \' inside single quotes as escapes; the shell does not
    return "'" not in value and "\\\\" not in value


def _double_quotable(value: str) -> bool:
    # the shell expands $ and ` inside double quotes, and python-dotenv keeps a \$ as is
    return "$" not in value and "`" not in value


def quote(value: str) -> str:
    """``value`` quoted so that sh, bash, dash, python-dotenv and :func:`parse` all give
    it back unchanged; ValidationError (without the value) if no quoting can."""
    why = refusal(value)
    if why is not None:
        raise ValidationError(f"This value cannot be written to a .env file: it {why}")
    if _single_quotable(value):
        return f"'{value}'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def as_text(value: object) -> str:
    """A value as .env text: str as is, dict as JSON, bytes as base64."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render(entries: list[dict[str, Any]]) -> str:
    """``.env`` text for exported entries (name -> VARIABLE, see names.env_var), safe to
    source in a POSIX shell.

    ValidationError naming the first secret that would set a variable changing what the
    shell runs (``PATH``, ``IFS``, ``BASH_ENV``, ``LD_*``...) or whose value no quoting
    carries exactly (see :func:`refusal`); nothing is written then.
    """
    by_var = env_vars([e["name"] for e in entries])
    values = {e["name"]: e["value"] for e in entries}
    lines = []
    for var, name in by_var.items():
        if var in _RUNS_CODE or var.startswith(_RUNS_CODE_PREFIXES):
            raise ValidationError(
                f"Secret {name!r} would set {var}, which changes what a shell sourcing "
                "the .env file runs",
                hint="rename the secret, or export it with --format json",
            )
        text = as_text(values[name])
        why = refusal(text)
        if why is not None:
            raise ValidationError(
                f"Secret {name!r} cannot be exported as .env: its value {why}",
                hint="export it with --format json, or leave it out",
            )
        lines.append(f"{var}={quote(text)}")
    return "\n".join(lines) + ("\n" if lines else "")
