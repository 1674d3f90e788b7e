"""Rotation policies and due-time arithmetic."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from enum import Enum

from core.errors import ValidationError


class SecretRotationPolicy(Enum):
    """The seed's six rotation policies. ``MONTHLY`` is 30 days, as in the seed."""

    NEVER = "never"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    ON_ACCESS = "on_access"

    @property
    def interval(self) -> timedelta | None:
        """The rotation interval, or None for NEVER and ON_ACCESS."""
        return _INTERVALS.get(self)


_INTERVALS = {
    SecretRotationPolicy.HOURLY: timedelta(hours=1),
    SecretRotationPolicy.DAILY: timedelta(days=1),
    SecretRotationPolicy.WEEKLY: timedelta(weeks=1),
    SecretRotationPolicy.MONTHLY: timedelta(days=30),
}

_CUSTOM = re.compile(r"\s*(\d+)\s*([smhdw])\s*", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_policy(value: SecretRotationPolicy | str | timedelta) -> SecretRotationPolicy | timedelta:
    """Turn a policy given as an enum, a name ('DAILY', 'daily') or an interval
    ('90d', '12h', a timedelta) into a :class:`SecretRotationPolicy` or a timedelta.
    """
    if isinstance(value, SecretRotationPolicy):
        return value
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValidationError("A rotation interval must be positive")
        return value
    if isinstance(value, str):
        text = value.strip()
        for member in SecretRotationPolicy:
            if text.upper() == member.name or text.lower() == member.value:
                return member
        match = _CUSTOM.fullmatch(text)
        if match:
            amount = int(match.group(1))
            if amount <= 0:
                raise ValidationError("A rotation interval must be positive")
            return timedelta(**{_UNITS[match.group(2).lower()]: amount})
    raise ValidationError(
        f"Unknown rotation policy {value!r}",
        hint="use NEVER, HOURLY, DAILY, WEEKLY, MONTHLY, ON_ACCESS or an interval like 90d, 12h",
    )


@functools.lru_cache(maxsize=512)
def parse_stored_policy(text: str) -> SecretRotationPolicy | timedelta | None:
    """Parse a stored policy string (cached: listing reads thousands); None if damaged."""
    try:
        return parse_policy(text)
    except ValidationError:
        return None


@functools.lru_cache(maxsize=512)
def interval_seconds(text: str) -> float | None:
    """The interval of a stored policy string in seconds; None when it is not time-based
    (NEVER, ON_ACCESS) or damaged (cached, like :func:`parse_stored_policy`)."""
    policy = parse_stored_policy(text)
    interval = policy_interval(policy) if policy is not None else None
    return interval.total_seconds() if interval is not None else None


def policy_to_str(policy: SecretRotationPolicy | timedelta) -> str:
    """The stored form of a policy: the enum value, or an interval like '90d'/'12h'/'45m'."""
    if isinstance(policy, SecretRotationPolicy):
        return policy.value
    seconds = int(policy.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def policy_interval(policy: SecretRotationPolicy | timedelta) -> timedelta | None:
    """The interval between rotations, or None when the policy is not time-based."""
    if isinstance(policy, timedelta):
        return policy
    return policy.interval


def policy_label(policy: SecretRotationPolicy | timedelta) -> str:
    """A short human label: 'DAILY', 'ON_ACCESS', or the interval ('90d', '12h')."""
    if isinstance(policy, SecretRotationPolicy):
        return policy.name
    return policy_to_str(policy)


def next_due(
    policy: SecretRotationPolicy | timedelta,
    last_rotated: datetime | None,
    created_at: datetime | None,
) -> datetime | None:
    """When the secret is next due: last rotation (or, never rotated, creation) + interval.

    None for NEVER and ON_ACCESS (not time-based) or when neither time is known. A worker
    that was down for several periods sees one due time in the past, not one per missed
    period: the rotation it then does sets ``last_rotated`` to now, so the next due time is
    one interval after that rotation.
    """
    interval = policy_interval(policy)
    base = last_rotated or created_at
    if interval is None or base is None:
        return None
    return _aware(base) + interval


def is_due(
    policy: SecretRotationPolicy | timedelta,
    last_rotated: datetime | None,
    created_at: datetime | None,
    now: datetime,
) -> bool:
    """True when a time-based policy's due time is at or before ``now``."""
    due = next_due(policy, last_rotated, created_at)
    return due is not None and due <= _aware(now)


def _aware(dt: datetime) -> datetime:
    """Treat a naive datetime as UTC (the vault stores UTC)."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
