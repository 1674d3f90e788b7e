"""Secret names in queries over a trail whose lines hold sealed names.

The index stores whatever a line holds in ``secret_name``: a clear name (lines written
before sealing) or a deterministic sealed token (see :mod:`core.audit.sealing`). These
helpers translate between the names a person types and the strings the index knows,
so a filter, a stat or a report finds both kinds of line for one secret. Without a key
only clear-named (old) lines can be matched by name.

The set of distinct tokens is the set of secrets the trail ever named (thousands, not
millions), read with one range scan over the index's string table and opened once per
process (the sealer caches), so this keeps queries at index speed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from core.audit.index import AuditIndex
from core.audit.sealing import NAME_PREFIX, PLACEHOLDER, AuditFieldSealer

_GLOB = "*?["


def sealed_tokens(index: AuditIndex) -> list[str]:
    """Every sealed name token the index has seen."""
    # the string table is UNIQUE on s, so this prefix range is an index range scan
    hi = NAME_PREFIX[:-1] + chr(ord(NAME_PREFIX[-1]) + 1)
    return [
        r[0] for r in index.execute("SELECT s FROM strs WHERE s >= ? AND s < ?", (NAME_PREFIX, hi))
    ]


def name_terms(
    value: str | Sequence[str] | None, index: AuditIndex, sealer: AuditFieldSealer | None
) -> str | Sequence[str] | None:
    """What to give :meth:`AuditIndex.where` for a name filter: each name plus its
    sealed token, and each glob plus the tokens whose names it matches."""
    if value is None or sealer is None:
        return value
    values = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    globs = [v for v in values if any(c in v for c in _GLOB)]
    for v in values:
        out.append(v)
        if v not in globs:
            out.append(sealer.seal_name(v))
    if globs:
        for token in sealed_tokens(index):
            name = sealer.open_name(token)
            if name is not None and any(fnmatch.fnmatchcase(name, g) for g in globs):
                out.append(token)
    return out


def name_ids(name: str, index: AuditIndex, sealer: AuditFieldSealer | None) -> list[int]:
    """The index ids standing for one exact name (clear and sealed forms)."""
    forms = [name] if sealer is None else [name, sealer.seal_name(name)]
    return [i for i in (index.str_id(f) for f in forms) if i]


def label(sid: int, index: AuditIndex, sealer: AuditFieldSealer | None) -> str | None:
    """The name an index id stands for: opened if sealed, None for no name; a token
    that does not open under ``sealer`` (or with no key) reads as the placeholder."""
    text = index.name_of(sid)
    if text is None or not text.startswith(NAME_PREFIX):
        return text
    name = sealer.open_name(text) if sealer is not None else None
    return name if name is not None else PLACEHOLDER


def tokens_containing(needle: str, index: AuditIndex, sealer: AuditFieldSealer | None) -> list[str]:
    """Sealed tokens whose names contain ``needle`` (case-insensitive), for text search."""
    if sealer is None:
        return []
    needle = needle.lower()
    out = []
    for token in sealed_tokens(index):
        name = sealer.open_name(token)
        if name is not None and needle in name.lower():
            out.append(token)
    return out
