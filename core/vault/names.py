"""Secret names: the documented alphabet and its checks.

A name is 1 to 256 characters from letters, digits and ``_ . - /``; ``/`` separates
segments, and no segment may be empty, ``.`` or ``..``. Anything else raises
:class:`~core.errors.InvalidNameError` before anything is written.
"""

from __future__ import annotations

import functools
import re

from core.errors import InvalidNameError

MAX_NAME_LENGTH = 256
NAME_ALPHABET = "letters, digits and _ . - /"
_ALLOWED = re.compile(r"[A-Za-z0-9_.\-/]+")  # used with fullmatch: "$" passes "x\n"


def validate_name(name: object) -> str:
    """Return ``name`` unchanged if it is a valid secret name, else raise InvalidNameError."""
    if isinstance(name, str) and _valid_cached(name):
        return name
    return _validate(name)


@functools.lru_cache(maxsize=65536)
def _valid_cached(name: str) -> bool:
    # hot path of every read: remember names already found valid (errors are not cached)
    _validate(name)
    return True


def _validate(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidNameError(f"A secret name must be a string, not {type(name).__name__}")
    if not name:
        raise InvalidNameError("A secret name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"A secret name is at most {MAX_NAME_LENGTH} characters (got {len(name)})"
        )
    if not _ALLOWED.fullmatch(name):
        bad = sorted({c for c in name if not _ALLOWED.fullmatch(c)})
        shown = ", ".join(repr(c) for c in bad[:5])
        raise InvalidNameError(f"A secret name may only contain {NAME_ALPHABET} (found {shown})")
    for segment in name.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidNameError(
                "A secret name cannot have empty, '.' or '..' segments between slashes"
            )
    return name
