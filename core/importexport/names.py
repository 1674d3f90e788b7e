"""Turning foreign labels (KeePass titles, groups) into valid secret names and back
into environment variable names."""

from __future__ import annotations

import re

from core.errors import ValidationError

_BAD = re.compile(r"[^A-Za-z0-9_.\-]+")
_ENV_BAD = re.compile(r"[^A-Za-z0-9_]+")


def segment(label: str) -> str:
    """One name segment from any label: runs of other characters become ``_``."""
    text = _BAD.sub("_", label.strip()).strip("_")
    if text in ("", ".", ".."):
        return "entry"
    return text


def join(parts: list[str], prefix: str = "") -> str:
    """A secret name from path labels (each made a valid segment) and a prefix."""
    name = "/".join(segment(p) for p in parts if p.strip()) or "entry"
    return f"{prefix}{name}" if prefix else name


def dedupe(names: list[str]) -> list[str]:
    """The same names with repeats made unique (``a``, ``a-2``, ``a-3``...)."""
    taken: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name}-{n}"
        taken.add(candidate)
        out.append(candidate)
    return out


def env_var(name: str) -> str:
    """The environment variable for a secret name: ``db/password`` -> ``DB_PASSWORD``."""
    var = _ENV_BAD.sub("_", name).strip("_").upper()
    if not var:
        raise ValidationError(f"Secret {name!r} has no usable environment variable name")
    if var[0].isdigit():
        var = "_" + var
    return var


def env_vars(names: list[str]) -> dict[str, str]:
    """``{VAR: name}`` for the names; ValidationError if two map to one variable."""
    out: dict[str, str] = {}
    for name in names:
        var = env_var(name)
        if var in out:
            raise ValidationError(
                f"Secrets {out[var]!r} and {name!r} both become {var}",
                hint="export them separately (name them on the command line)",
            )
        out[var] = name
    return out
