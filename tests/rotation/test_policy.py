"""Due-time arithmetic for every policy, with an injected clock (no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import ValidationError
from core.rotation.policy import (
    SecretRotationPolicy,
    is_due,
    next_due,
    parse_policy,
    policy_label,
    policy_to_str,
)

T0 = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)

INTERVALS = {
    SecretRotationPolicy.HOURLY: timedelta(hours=1),
    SecretRotationPolicy.DAILY: timedelta(days=1),
    SecretRotationPolicy.WEEKLY: timedelta(days=7),
    SecretRotationPolicy.MONTHLY: timedelta(days=30),
}


@pytest.mark.parametrize(("policy", "interval"), list(INTERVALS.items()))
def test_due_is_creation_plus_interval_when_never_rotated(policy, interval):
    assert next_due(policy, None, T0) == T0 + interval
    assert not is_due(policy, None, T0, T0 + interval - timedelta(seconds=1))
    assert is_due(policy, None, T0, T0 + interval)


@pytest.mark.parametrize(("policy", "interval"), list(INTERVALS.items()))
def test_due_counts_from_last_rotation_not_creation(policy, interval):
    rotated = T0 + timedelta(days=100)
    assert next_due(policy, rotated, T0) == rotated + interval
    assert not is_due(policy, rotated, T0, rotated + interval / 2)


@pytest.mark.parametrize("policy", [SecretRotationPolicy.NEVER, SecretRotationPolicy.ON_ACCESS])
def test_never_and_on_access_are_never_due_by_time(policy):
    assert next_due(policy, None, T0) is None
    assert not is_due(policy, None, T0, T0 + timedelta(days=10_000))


def test_monthly_is_thirty_days_as_in_the_seed():
    assert parse_policy("MONTHLY").interval == timedelta(days=30)


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("45m", timedelta(minutes=45)),
        ("2w", timedelta(weeks=2)),
        (" 30S ", timedelta(seconds=30)),
    ],
)
def test_custom_intervals(text, interval):
    policy = parse_policy(text)
    assert policy == interval
    assert next_due(policy, None, T0) == T0 + interval
    assert parse_policy(policy_to_str(policy)) == interval


@pytest.mark.parametrize("text", ["DAILY", "daily", "Daily ", SecretRotationPolicy.DAILY])
def test_policy_by_name_as_the_seed_writes_it(text):
    assert parse_policy(text) is SecretRotationPolicy.DAILY


@pytest.mark.parametrize("bad", ["0d", "-1h", "fortnightly", "12", "1y", "", timedelta(0)])
def test_bad_policies_are_rejected_with_the_choices(bad):
    with pytest.raises(ValidationError) as info:
        parse_policy(bad)
    assert "interval" in str(info.value)


def test_overdue_by_many_periods_still_has_one_due_time():
    # a worker down for 10 days sees one due time in the past, not ten
    due = next_due(SecretRotationPolicy.DAILY, None, T0)
    assert due == T0 + timedelta(days=1)
    # the rotation it then does at day 10 moves the next due time to day 11
    assert next_due(SecretRotationPolicy.DAILY, T0 + timedelta(days=10), T0) == T0 + timedelta(
        days=11
    )


def test_naive_times_are_taken_as_utc():
    naive = datetime(2025, 3, 1, 8, 30)
    assert next_due(SecretRotationPolicy.HOURLY, naive, None) == T0 + timedelta(hours=1)


def test_labels():
    assert policy_label(SecretRotationPolicy.ON_ACCESS) == "ON_ACCESS"
    assert policy_label(timedelta(days=90)) == "90d"
