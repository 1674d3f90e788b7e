"""Tags written as text, parsed one way everywhere.

A tag is written ``key=value``, or ``key`` alone for a tag without a value. The batch
CLI (``set --tag``, ``tag``, ``list --tag``, and its fast path), the app's editor and
the importers all read tags through these functions, so a tag means the same wherever
it is typed. The key is trimmed (``" env =prod"`` is the tag ``env``) and must not be
empty; the value is kept as written. Control characters are refused later, when the
vault stores the tag (:func:`core.controlchars.check_tags`).

This module imports nothing at load time: the batch fast path uses it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

HINT = "write tags as key=value, or a key alone"


def split_tag(item: str) -> tuple[str, str | None]:
    """``"env=prod"`` -> ``("env", "prod")``; ``"pci"`` -> ``("pci", None)``.

    Splits at the first ``=`` (a value may hold more). Raises ValidationError when the
    key is empty.
    """
    key, sep, value = item.partition("=")
    key = key.strip()
    if not key:
        from core.errors import ValidationError

        raise ValidationError(f"Tag {item!r} has no name", hint=HINT)
    return key, value if sep else None


def parse_tags(items: Iterable[str] | None) -> dict[str, str]:
    """``["env=prod", "pci"]`` -> ``{"env": "prod", "pci": ""}`` (a later key wins)."""
    tags: dict[str, str] = {}
    for item in items or ():
        key, value = split_tag(item)
        tags[key] = value or ""
    return tags


def parse_tag_text(text: str) -> dict[str, str]:
    """Tags typed on one line, separated by spaces or commas:
    ``"env=prod, team=payments pci"`` -> ``{"env": "prod", "team": "payments", "pci": ""}``."""
    return parse_tags(text.replace(",", " ").split())
