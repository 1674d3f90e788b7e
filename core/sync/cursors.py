"""Where each provider sync left off: typed cursors and their stored JSON form.

A cursor is kept sealed in the vault file's local state under ``sync/<remote id>``
(:func:`core.sync.report.load_json`). The JSON keys are short and fixed because vault
files written by earlier versions hold them: :meth:`from_json` reads that form
(tolerating missing or damaged parts, which only make the next sync read more) and
:meth:`to_json` writes exactly the same form back.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

Slot = tuple[str, str, bytes]
"""A wrapped key slot as sealed sync stores it: (kind, params JSON, wrapped key)."""


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------------- native sync


@dataclass
class NameCursor:
    """What native sync last saw of one secret, here and in the provider.

    ``version``/``updated``: the provider's version id and update time (ISO) last
    seen; ``gid``: the local value's content id then; ``rev``: the local record's
    revision; ``gone``: the secret was absent remotely (deleted there or here).
    """

    version: str | None = None
    updated: str | None = None
    gid: str | None = None
    rev: int | None = None
    gone: bool = False

    @classmethod
    def from_json(cls, data: Any) -> NameCursor:
        """Read ``{"v", "u", "g", "r", "gone"}``."""
        if not isinstance(data, dict):
            return cls(gone=True)
        rev = data.get("r")
        return cls(
            version=data.get("v"),
            updated=data.get("u"),
            gid=data.get("g"),
            rev=rev if isinstance(rev, int) else None,
            gone=bool(data.get("gone")),
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form (``gone`` only when set)."""
        data: dict[str, Any] = {"v": self.version, "u": self.updated, "g": self.gid, "r": self.rev}
        if self.gone:
            data["gone"] = True
        return data


@dataclass
class NativeCursor:
    """Native sync's cursor: the change sequence reached and each secret's entry."""

    seq: int = 0
    names: dict[str, NameCursor] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NativeCursor:
        """Read ``{"seq": n, "names": {name: entry}}``."""
        names = data.get("names")
        return cls(
            seq=_int(data.get("seq")),
            names={
                str(k): NameCursor.from_json(v)
                for k, v in (names.items() if isinstance(names, dict) else ())
            },
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"seq": self.seq, "names": {k: v.to_json() for k, v in self.names.items()}}


# ---------------------------------------------------------------------- sealed sync


@dataclass
class RecordCursor:
    """What sealed sync last saw of one record in the provider.

    ``bgen``: the bundle generation; ``version``: the provider's version id of the
    record object; ``rev``: the local record's revision after that sync (to tell our
    own writes from new local changes); ``parts``: (hash, count) when the record is
    stored in parts.
    """

    bgen: int = 0
    version: str | None = None
    rev: int | None = None
    parts: tuple[str, int] | None = None

    @classmethod
    def from_json(cls, data: Any) -> RecordCursor:
        """Read ``[bgen, version, rev, [hash, count] | null]`` (shorter lists too)."""
        if not isinstance(data, list):
            return cls()
        padded = [*data, None, None, None, None]
        parts = padded[3]
        rev = padded[2]
        return cls(
            bgen=_int(padded[0]),
            version=None if padded[1] is None else str(padded[1]),
            rev=rev if isinstance(rev, int) else None,
            parts=(str(parts[0]), _int(parts[1]))
            if isinstance(parts, list) and len(parts) == 2
            else None,
        )

    def to_json(self) -> list[Any]:
        """The stored form."""
        return [self.bgen, self.version, self.rev, list(self.parts) if self.parts else None]


@dataclass
class SealedCursor:
    """Sealed sync's cursor: change sequence, shard generations, records, key slots.

    ``shards`` maps an index shard to the generation whose entries this vault has
    processed; ``slots`` are the key slots this vault last put in the head (so a
    changed passphrase removes its old slot there).
    """

    seq: int = 0
    shards: dict[str, int] = field(default_factory=dict)
    recs: dict[str, RecordCursor] = field(default_factory=dict)
    slots: list[Slot] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SealedCursor:
        """Read ``{"seq", "shards", "recs", "slots"}``."""
        shards = data.get("shards")
        recs = data.get("recs")
        slots: list[Slot] = []
        for item in data.get("slots") or []:
            try:
                slots.append((str(item[0]), str(item[1]), base64.b64decode(item[2])))
            except (TypeError, ValueError, IndexError):
                continue  # a damaged slot is re-added from the vault file
        return cls(
            seq=_int(data.get("seq")),
            shards={str(k): _int(v) for k, v in (shards or {}).items()}
            if isinstance(shards, dict)
            else {},
            recs={str(k): RecordCursor.from_json(v) for k, v in recs.items()}
            if isinstance(recs, dict)
            else {},
            slots=slots,
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "seq": self.seq,
            "shards": dict(self.shards),
            "recs": {k: v.to_json() for k, v in self.recs.items()},
            "slots": [[k, p, base64.b64encode(w).decode()] for k, p, w in self.slots],
        }
