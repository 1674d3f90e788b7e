"""Backoff, retry budget, error mapping and the rate limiter (core.providers.retry), and
the summary a failed bulk call raises."""

from __future__ import annotations

import threading
import time

import pytest

from core.errors import (
    NotFoundError,
    ProviderThrottledError,
    ProviderUnavailableError,
    VaultError,
)
from core.providers import BulkResult, RetryPolicy
from core.providers.retry import RateLimiter, call_with_retry, provider_error


class Flaky:
    """Fails ``failures`` times with ``exc``, then returns "ok"."""

    def __init__(self, failures: int, exc: Exception) -> None:
        self.failures = failures
        self.exc = exc
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc
        return "ok"


def mapper(exc: Exception) -> VaultError:
    if isinstance(exc, TimeoutError):
        return provider_error(
            ProviderUnavailableError, "X connection failed", hint="check X_ADDR", retryable=True
        )
    if isinstance(exc, KeyError):
        return provider_error(NotFoundError, "Not found in X")
    return provider_error(
        ProviderThrottledError, "X is throttling", retryable=True, retry_after=0.0
    )


def test_transient_failures_are_retried_with_growing_jittered_waits() -> None:
    waits: list[float] = []
    fn = Flaky(3, TimeoutError("boom"))
    policy = RetryPolicy(attempts=5, base_delay=0.1, max_delay=10)
    assert call_with_retry(fn, mapper, policy=policy, sleep=waits.append) == "ok"
    assert fn.calls == 4 and len(waits) == 3
    for n, wait in enumerate(waits):
        assert 0 <= wait <= 0.1 * 2**n


def test_retries_stop_at_the_attempt_budget_with_a_clear_error() -> None:
    fn = Flaky(100, TimeoutError("raw text with a password=hunter2"))
    with pytest.raises(ProviderUnavailableError) as err:
        call_with_retry(fn, mapper, policy=RetryPolicy(attempts=4), sleep=lambda s: None)
    assert fn.calls == 4
    assert str(err.value) == "X connection failed (gave up after 4 attempts): check X_ADDR"
    assert "hunter2" not in str(err.value) and err.value.__cause__ is None


def test_retries_stop_at_the_deadline() -> None:
    fn = Flaky(100, TimeoutError())
    policy = RetryPolicy(attempts=100, base_delay=0.05, max_delay=0.05, deadline=0.2)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailableError):
        call_with_retry(fn, mapper, policy=policy)
    assert time.monotonic() - started < 0.5 and fn.calls < 100


def test_permanent_errors_are_not_retried() -> None:
    fn = Flaky(1, KeyError("x"))
    with pytest.raises(NotFoundError):
        call_with_retry(fn, mapper, sleep=lambda s: None)
    assert fn.calls == 1


def test_server_requested_wait_is_used_but_capped() -> None:
    policy = RetryPolicy(max_delay=2.0)
    assert policy.delay(0, retry_after=1.5) == 1.5
    assert policy.delay(0, retry_after=30) == 2.0


def test_rate_limiter_spreads_calls() -> None:
    limiter = RateLimiter(50, burst=1)
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: [limiter.acquire() for _ in range(5)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.5  # 20 calls at 50/s after a burst of 1: about 0.38 s


def test_bulk_summary_error() -> None:
    err = provider_error(ProviderUnavailableError, "X connection failed", hint="check X_ADDR")
    result: BulkResult[str] = BulkResult(
        "X", total=3, done={"a": "1"}, failed={"b": err, "c": err}, not_attempted=["c"]
    )
    assert not result.ok
    with pytest.raises(ProviderUnavailableError) as summary:
        result.raise_for_errors()
    assert str(summary.value) == (
        "X connection failed (2 of 3 secrets failed, 1 not attempted; 1 succeeded): check X_ADDR"
    )
    BulkResult("X", total=1, done={"a": "1"}).raise_for_errors()  # all good: no error


@pytest.mark.parametrize(("code", "calls"), [("501", 1), ("505", 1), ("404", 1), ("503", 3)])
def test_an_http_status_code_decides_over_a_mapper_that_says_retry(code, calls) -> None:
    def eager_mapper(exc: Exception) -> VaultError:
        return provider_error(ProviderUnavailableError, "X failed", code=code, retryable=True)

    fn = Flaky(100, TimeoutError("boom"))
    with pytest.raises(ProviderUnavailableError):
        call_with_retry(fn, eager_mapper, policy=RetryPolicy(attempts=3), sleep=lambda _s: None)
    assert fn.calls == calls
