"""The plain data the vault hands out: records (metadata), secrets (value + record) and
history entries. All immutable; none of them shows a value in ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, NoReturn

from core.vault.codec import SecretValue


def utcnow() -> datetime:
    """Now, in UTC, with the offset."""
    return datetime.now(UTC)


def ts(dt: datetime | None) -> float | None:
    return dt.timestamp() if dt is not None else None


def from_ts(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


class _ReadOnlyDict(dict):  # type: ignore[type-arg]  # holds any JSON value
    """An empty mapping shared as a default: still a ``dict`` (JSON, ``dict(x)``,
    ``x.get``), but mutating it raises instead of changing every record's default."""

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("this mapping is a shared default: copy it with dict() to change it")

    __setitem__ = __delitem__ = __ior__ = _refuse
    update = setdefault = pop = popitem = clear = _refuse


_NO_TAGS: dict[str, str] = _ReadOnlyDict()
_NO_ROTATION: dict[str, Any] = _ReadOnlyDict()
_NO_EXTRA: dict[str, Any] = _ReadOnlyDict()
_NO_STAGES: dict[str, int] = _ReadOnlyDict()


class SecretRecord(NamedTuple):
    """Everything the vault knows about a secret except its value (immutable).

    ``version`` is the CURRENT value version (1, 2, ...); ``rev`` counts every change to
    the record (value or metadata) and is what check-and-set compares; ``seq`` is the
    vault-wide change sequence of its last change; ``uid`` is a global record id (hex)
    that stays the same across copies of the vault. A NamedTuple rather than a dataclass
    because listing 100,000 of them must stay well under a second.
    """

    name: str
    uid: str
    rev: int
    version: int
    seq: int
    deleted: bool
    type: str
    description: str = ""
    tags: dict[str, str] = _NO_TAGS
    created_ts: float | None = None
    updated_ts: float | None = None
    deleted_ts: float | None = None
    rotation: dict[str, Any] = _NO_ROTATION
    extra: dict[str, Any] = _NO_EXTRA
    stages: dict[str, int] = _NO_STAGES
    size: int = 0
    max_version: int = 0
    device: str = ""

    @property
    def created_at(self) -> datetime | None:
        """When the secret was first stored (UTC)."""
        return from_ts(self.created_ts)

    @property
    def updated_at(self) -> datetime | None:
        """When the value last changed (UTC)."""
        return from_ts(self.updated_ts)

    @property
    def deleted_at(self) -> datetime | None:
        """When it was deleted (UTC), for tombstones."""
        return from_ts(self.deleted_ts)

    def stage_version(self, stage: str) -> int | None:
        """The version a stage points to (CURRENT, PREVIOUS, PENDING), or None."""
        stage = stage.upper()
        if stage == "CURRENT":
            return self.version
        return self.stages.get(stage)


@dataclass(frozen=True)
class Secret:
    """A decrypted value with the record it belongs to. ``repr`` hides the value."""

    value: SecretValue = field(repr=False)
    record: SecretRecord
    version: int


@dataclass(frozen=True)
class VersionInfo:
    """One entry of a secret's history: who changed it, when, why, from where."""

    version: int
    created_at: datetime | None
    who: str
    why: str
    source: str
    device: str
    type: str
    size: int
    stage: str | None = None
