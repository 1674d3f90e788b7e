"""Version clocks of a record: what merge compares, field by field.

Every synced field of a record is a *register* ``(stamp, device, fingerprint)``:

- ``stamp`` is a hybrid logical clock in integer microseconds: a change made at wall
  time ``t`` to a record whose clock already reached ``k`` gets ``max(t, k + 1)``, so a
  change is always later than everything its author had seen, and changes made
  independently are ordered by wall time;
- ``device`` is the id of the home that made the change (ties between equal stamps);
- ``fingerprint`` is a keyed hash of the field's content (or, for a non-dict value, the
  id of the version holding it).

Registers: ``v`` the value (fingerprint ``"dict"`` when the value is a dict, whose
top-level keys then have registers of their own in ``keys``; a removed key is ``"-"``),
``d`` description, ``g`` tags, ``r`` rotation settings, ``e`` extra metadata and ``u``
(an undelete). ``vv`` is a version vector (device -> highest stamp seen from it), and
``dctx`` the vector every delete so far covered: a record is deleted when at least one
delete happened and every register is covered by ``dctx`` (an edit the deleting home
had not seen survives the delete). The join of two clocks takes the larger register
per field and the pointwise maximum of the vectors, so merging is commutative,
associative and idempotent.

The clock is stored in the record's ``extra['_sync']``. Changes made without updating
it (any ordinary write) are found by comparing fingerprints and stamped on derivation,
deterministically from the record's own data (see :mod:`core.sync.state`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, NamedTuple

SYNC_KEY = "_sync"
DICT = "dict"
REMOVED = "-"
FIELDS = ("v", "d", "g", "r", "e")
FIELD_NAMES = {
    "v": "value",
    "d": "description",
    "g": "tags",
    "r": "rotation",
    "e": "extra",
    "u": "undelete",
}


class Reg(NamedTuple):
    """One register: a field's last change (stamp, device, fingerprint of its content)."""

    stamp: int
    dev: str
    fp: str


ZERO = Reg(0, "", "")


def canonical(obj: Any) -> bytes:
    """A stable byte encoding of JSON-like data (sorted keys, no spaces)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Hasher:
    """Keyed fingerprints and version ids, the same in every copy of one vault.

    Built from ``vault.derive_key('sync/fingerprint')``; never shows the key.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "Hasher(<key>)"

    def digest(self, data: bytes) -> str:
        """A 96-bit keyed hash of ``data``, as hex."""
        return hmac.digest(self._key, data, hashlib.sha256)[:12].hex()

    def fp(self, obj: Any) -> str:
        """Fingerprint of JSON-like content."""
        return self.digest(b"c" + canonical(obj))

    def gid(self, info: dict[str, Any]) -> str:
        """The global id of a version, from its history entry (same in every copy)."""
        fields = {k: info.get(k) for k in ("at", "dev", "who", "why", "src", "t", "s", "h")}
        return self.digest(b"g" + canonical(fields))


def covers(vector: dict[str, int], reg: Reg) -> bool:
    """True if a home with version vector ``vector`` had seen the change ``reg``."""
    return vector.get(reg.dev, 0) >= reg.stamp


def _vmax(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for dev, stamp in b.items():
        if stamp > out.get(dev, 0):
            out[dev] = stamp
    return out


class Clock:
    """The registers and vectors of one record (mutable while being derived)."""

    __slots__ = ("dctx", "keys", "regs", "vv", "xt")

    def __init__(
        self,
        vv: dict[str, int] | None = None,
        regs: dict[str, Reg] | None = None,
        keys: dict[str, Reg] | None = None,
        dctx: dict[str, int] | None = None,
        xt: Reg | None = None,
    ) -> None:
        self.vv: dict[str, int] = vv or {}
        self.regs: dict[str, Reg] = regs or {}
        self.keys: dict[str, Reg] = keys or {}
        self.dctx: dict[str, int] = dctx or {}
        self.xt: Reg | None = xt

    # ------------------------------------------------------------------ codec

    @classmethod
    def load(cls, data: Any) -> Clock | None:
        """Parse the stored form; None when it is missing or malformed (then re-derived)."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                {str(k): int(v) for k, v in (data.get("vv") or {}).items()},
                {str(f): Reg(int(r[0]), str(r[1]), str(r[2])) for f, r in data["r"].items()},
                {
                    str(k): Reg(int(r[0]), str(r[1]), str(r[2]))
                    for k, r in data.get("k", {}).items()
                },
                {str(k): int(v) for k, v in (data.get("D") or {}).items()},
                Reg(int(data["xt"][0]), str(data["xt"][1]), "") if data.get("xt") else None,
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return None

    def dump(self) -> dict[str, Any]:
        """The stored form (JSON-like, deterministic)."""
        out: dict[str, Any] = {
            "vv": dict(sorted(self.vv.items())),
            "r": {f: list(r) for f, r in sorted(self.regs.items())},
        }
        if self.keys:
            out["k"] = {k: list(r) for k, r in sorted(self.keys.items())}
        if self.dctx:
            out["D"] = dict(sorted(self.dctx.items()))
        if self.xt is not None:
            out["xt"] = [self.xt.stamp, self.xt.dev]
        return out

    def copy(self) -> Clock:
        """An independent copy."""
        return Clock(dict(self.vv), dict(self.regs), dict(self.keys), dict(self.dctx), self.xt)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Clock) and self.dump() == other.dump()

    def __hash__(self) -> int:  # pragma: no cover - clocks are mutable, not dict keys
        raise TypeError("Clock is not hashable")

    def __repr__(self) -> str:
        return f"Clock(fields={sorted(self.regs)}, keys={len(self.keys)}, devices={len(self.vv)})"

    # ------------------------------------------------------------------ queries

    def reg(self, field: str) -> Reg:
        """The register of ``field`` (ZERO when never set)."""
        return self.regs.get(field, ZERO)

    def max_stamp(self) -> int:
        """The highest stamp this record has seen."""
        return max(self.vv.values(), default=0)

    def live_regs(self) -> list[Reg]:
        """Every register an edit can live in (fields, undelete, dict keys)."""
        return [*self.regs.values(), *self.keys.values()]

    @property
    def deleted(self) -> bool:
        """Deleted: some delete happened and it had seen every edit still standing."""
        if not self.dctx:
            return False
        d = self.dctx
        return all(d.get(r.dev, 0) >= r.stamp for r in self.live_regs())

    # ------------------------------------------------------------------ changes

    def tick(self, hint: int, dev: str) -> int:
        """A new stamp for a change by ``dev`` at wall time ``hint`` (microseconds)."""
        stamp = max(int(hint), self.max_stamp() + 1)
        if stamp > self.vv.get(dev, 0):
            self.vv[dev] = stamp
        return stamp

    def mark_deleted(self, hint: int, dev: str) -> None:
        """Record a delete that saw everything this clock holds."""
        stamp = self.tick(hint, dev)
        self.xt = Reg(stamp, dev, "")
        self.dctx = _vmax(self.dctx, self.vv)

    def mark_undeleted(self, hint: int, dev: str) -> None:
        """Record an undelete (a change no earlier delete covers)."""
        self.regs["u"] = Reg(self.tick(hint, dev), dev, "u")

    # ------------------------------------------------------------------ join

    @staticmethod
    def join(a: Clock, b: Clock) -> Clock:
        """The least clock above both (commutative, associative, idempotent)."""
        regs = dict(a.regs)
        for field, reg in b.regs.items():
            if reg > regs.get(field, ZERO):
                regs[field] = reg
        root = regs.get("v", ZERO)
        keys: dict[str, Reg] = {}
        if root.fp == DICT:
            for source in (a.keys, b.keys):
                for key, reg in source.items():
                    if reg.stamp >= root.stamp and reg > keys.get(key, ZERO):
                        keys[key] = reg
        xt = a.xt if b.xt is None or (a.xt is not None and a.xt >= b.xt) else b.xt
        return Clock(_vmax(a.vv, b.vv), regs, keys, _vmax(a.dctx, b.dctx), xt)


def seen(clock: Clock, reg: Reg) -> bool:
    """True if the home holding ``clock`` had seen change ``reg`` (version vector)."""
    return covers(clock.vv, reg)
