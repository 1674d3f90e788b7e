"""What rotation reports: the outcome of one rotation, a failure the worker saw, a row
of the schedule, and the audit sink rotation writes to. None of them holds a value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from core.rotation.hooks import HookConfig
from core.rotation.info import iso


class AuditSink(Protocol):
    """What the rotation code needs from the audit log (core.audit.AuditLog has it)."""

    def log(
        self,
        operation: str,
        secret_name: str | None = None,
        *,
        success: bool = True,
        error_message: str | None = None,
        version: int | None = None,
    ) -> Any:
        """Record one event."""
        ...


class NoAudit:
    """An audit sink that records nothing (no audit log configured)."""

    def log(self, operation: str, secret_name: str | None = None, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class RotationResult:
    """The outcome of one :meth:`RotationManager.rotate` call (no values inside)."""

    name: str
    rotated: bool
    version: int | None = None
    previous_version: int | None = None
    skipped: str | None = None
    error: str | None = None
    duration: float = 0.0
    warning: str | None = None

    @property
    def ok(self) -> bool:
        """True unless the rotation failed (a skip is not a failure)."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for ``--json`` output."""
        return {
            "name": self.name,
            "rotated": self.rotated,
            "version": self.version,
            "previous_version": self.previous_version,
            "skipped": self.skipped,
            "error": self.error,
            "duration": round(self.duration, 3),
            "warning": self.warning,
        }


@dataclass(frozen=True)
class RotationFailure:
    """One failed rotation this worker saw: when, which secret, why (value-free)."""

    name: str
    at: datetime
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "at": iso(self.at), "reason": self.reason}


@dataclass(frozen=True)
class RotationStatus:
    """One row of the rotation schedule: a secret with a policy and where it stands."""

    name: str
    policy: str
    generator: str
    generator_guessed: bool
    hooks: HookConfig
    version: int
    last_rotated: datetime | None
    next_due: datetime | None
    state: str
    last_error: str | None = None
    failures: int = 0
    holder: str | None = None
    last_attempt: datetime | None = None

    def state_at(self, now: datetime, grace: timedelta) -> str:
        """The state at ``now`` without re-reading the vault (for live countdowns):
        running and failed stay; otherwise ok, due, or overdue (due for more than
        ``grace``, i.e. a worker should have rotated it already)."""
        if self.state in ("running", "failed"):
            return self.state
        if self.next_due is None or self.next_due > now:
            return "ok"
        return "overdue" if now - self.next_due > grace else "due"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RotationStatus:
        """The row back from :meth:`to_dict` (as the unlock agent sends it)."""

        def when(text: str | None) -> datetime | None:
            return datetime.fromisoformat(text) if text else None

        return cls(
            name=data["name"],
            policy=data["policy"],
            generator=data["generator"],
            generator_guessed=bool(data["generator_guessed"]),
            hooks=HookConfig.from_dict(data.get("hooks")),
            version=data["version"],
            last_rotated=when(data.get("last_rotated")),
            next_due=when(data.get("next_due")),
            state=data["state"],
            last_error=data.get("last_error"),
            failures=int(data.get("failures") or 0),
            holder=data.get("running_in"),
            last_attempt=when(data.get("last_attempt")),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for ``rotation status --json``."""
        return {
            "name": self.name,
            "policy": self.policy,
            "generator": self.generator,
            "generator_guessed": self.generator_guessed,
            "hooks": self.hooks.to_dict() if self.hooks.configured else None,
            "version": self.version,
            "last_rotated": iso(self.last_rotated),
            "next_due": iso(self.next_due),
            "state": self.state,
            "last_error": self.last_error,
            "failures": self.failures,
            "running_in": self.holder,
            "last_attempt": iso(self.last_attempt),
        }


def format_duration(seconds: float) -> str:
    """'2d 3h', '4h 05m', '12m 30s', '45s' (negative values get a leading '-')."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    days, rem = divmod(s, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


def names_of(results: Iterable[RotationResult]) -> list[str]:
    """The names of the secrets that were actually rotated."""
    return [r.name for r in results if r.rotated]
