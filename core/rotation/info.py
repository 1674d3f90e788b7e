"""What the vault stores about a secret's rotation: the record's ``rotation`` dict.

Stored keys (all optional, JSON-safe)::

    policy        'daily', 'on_access', '90d', ... (see policy.policy_to_str)
    generator     a generator spec string, e.g. 'password:length=32,classes=ulds'
    hooks         {'apply': CMD, 'verify': CMD, 'timeout': 30.0, 'via': 'both'}
    last_rotated  ISO 8601 UTC time of the last successful rotation
    last_attempt  ISO 8601 UTC time of the last attempt (success or failure)
    last_error    the reason of the last failed attempt (value-free), None after a success
    failures      failed attempts since the last success

The record lives in the encrypted vault metadata, so hook commands and generator specs
are encrypted at rest like everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from core.errors import ValidationError
from core.rotation.hooks import HookConfig
from core.rotation.policy import SecretRotationPolicy, parse_stored_policy, policy_to_str


@dataclass(frozen=True)
class RotationInfo:
    """The parsed ``rotation`` dict of one record. Immutable; build changed copies with
    :meth:`with_changes` and store them with :meth:`to_dict`.
    """

    policy: SecretRotationPolicy | timedelta = SecretRotationPolicy.NEVER
    generator: str | None = None
    hooks: HookConfig = field(default_factory=HookConfig)
    last_rotated: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    has_policy: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RotationInfo:
        """Parse a stored dict; unknown or damaged fields fall back to defaults."""
        data = dict(data or {})
        raw_policy = data.get("policy")
        policy = (parse_stored_policy(raw_policy) if isinstance(raw_policy, str) else None) or (
            SecretRotationPolicy.NEVER  # none set, or damaged: must not break listing
        )
        return cls(
            policy=policy,
            generator=data.get("generator") or None,
            hooks=_hooks(data.get("hooks")),
            last_rotated=parse_time(data.get("last_rotated")),
            last_attempt=parse_time(data.get("last_attempt")),
            last_error=data.get("last_error") or None,
            failures=int(data.get("failures") or 0),
            has_policy=bool(raw_policy),
        )

    def to_dict(self, base: dict[str, Any] | None = None) -> dict[str, Any]:
        """The dict to store, merged over ``base`` so keys written by others survive."""
        out = dict(base or {})
        out.update(
            policy=policy_to_str(self.policy),
            generator=self.generator,
            hooks=self.hooks.to_dict() if self.hooks.configured else None,
            last_rotated=iso(self.last_rotated),
            last_attempt=iso(self.last_attempt),
            last_error=self.last_error,
            failures=self.failures,
        )
        return {k: v for k, v in out.items() if v is not None}

    def with_changes(self, **changes: Any) -> RotationInfo:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    @property
    def policy_str(self) -> str:
        """The stored form of the policy ('daily', '90d')."""
        return policy_to_str(self.policy)

    @property
    def time_based(self) -> bool:
        """True for policies with an interval (HOURLY..MONTHLY and custom intervals)."""
        return isinstance(self.policy, timedelta) or self.policy.interval is not None


_NO_HOOKS = HookConfig()


def _hooks(data: Any) -> HookConfig:
    if not data:
        return _NO_HOOKS
    try:
        return HookConfig.from_dict(data if isinstance(data, dict) else None)
    except (ValidationError, TypeError, ValueError):  # damaged settings must not break listing
        return HookConfig()


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC, or None."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat()


def parse_time(value: object) -> datetime | None:
    """Parse a stored ISO time (naive values are UTC); None for missing or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
