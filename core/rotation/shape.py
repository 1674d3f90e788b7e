"""Rotation keeps a secret's shape: a dict secret stays a dict with the same fields.

A generator that makes a single value (password, token, uuid) set on a dict secret would
replace the whole dict with one string on the next rotation: every other field gone, and
``--field`` reads failing from then on. Such a generator must name the field it
rotates (``field:NAME:INNER``), and both setting it and rotating with it are refused
otherwise, with a hint that shows the fix.
"""

from __future__ import annotations

from typing import Any

from core.errors import ValidationError
from core.rotation.generators import (
    AlternatingGenerator,
    FieldGenerator,
    Generator,
    KeyPairGenerator,
)

_DICT_GENERATORS = (FieldGenerator, AlternatingGenerator, KeyPairGenerator)

NO_APPLY_HOOK_WARNING = (
    "no apply hook: only the vault's copy changed; the real credential is unchanged"
)
"""Said after a rotation without an apply hook (value-free, safe for logs and JSON)."""


def check_generator_fits(name: str, generator: Generator, current: Any) -> None:
    """Raise ValidationError if rotating ``current`` with ``generator`` would turn a dict
    secret into a single value (the generator must name the field it rotates)."""
    if not isinstance(current, dict) or isinstance(generator, _DICT_GENERATORS):
        return
    example = _example_field(current)
    raise ValidationError(
        f"The generator {generator.spec!r} makes a single value, but {name!r} holds fields: "
        "rotating would replace every field with that one value",
        hint=(
            f"name the field it rotates, e.g. --generator field:{example}:{generator.spec} "
            "(see docs/rotation.md)"
        ),
    )


def _example_field(current: dict[str, Any]) -> str:
    """A field name to show in the hint: a secret-looking one if there is one."""
    for word in ("secret", "password", "token", "key"):
        for key in current:
            if word in str(key).lower():
                return str(key)
    return str(next(iter(current), "FIELD"))
