"""Retries, rate limits and error mapping shared by every provider.

Every SDK call a provider makes goes through :func:`call_with_retry`:

1. a :class:`RateLimiter` (a token bucket per provider and kind of call) keeps bulk work
   under the provider's published request quota;
2. the call runs with the SDK's own retries switched off and a timeout set on the client;
3. an SDK exception is turned into a core error by the provider's mapper (see
   :func:`provider_error`); throttling (429, ``ThrottlingException``...) and transient
   failures (500, 502, 503, 504, connection refused or reset, timeouts) are retried with
   exponential backoff and full jitter, bounded in attempts and in total time. Statuses
   that say the same request will fail again (501 Not Implemented, 505, any other 4xx)
   are raised at once (:data:`RETRY_STATUSES`, :func:`retryable_status`);
4. anything else, or the last failure once the budget is spent, is raised as the mapped
   core error, never as the SDK's exception (``from None``: the SDK's text, which may
   echo request data, never reaches a message or a log).

Mapped errors carry three extra attributes: ``code`` (the provider's error code, e.g.
``ResourceNotFoundException`` or ``"404"``), ``retryable`` (bool) and ``retry_after``
(seconds the server asked us to wait, or None).
"""

from __future__ import annotations

import functools
import inspect
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from core.errors import ProviderError, ProviderThrottledError, VaultError

log = logging.getLogger(__name__)

T = TypeVar("T")
E = TypeVar("E", bound=VaultError)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry throttled or transient failures.

    ``attempts`` counts the first try. The n-th retry waits a random time in
    ``[0, min(max_delay, base_delay * 2**n)]`` (full jitter), or the server's
    ``Retry-After`` when it sent one (capped at ``max_delay``). No retry starts after
    ``deadline`` seconds have passed since the first try.
    """

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0
    deadline: float = 30.0

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry_number`` (0-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(self.max_delay, retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2**retry_number))
        return random.uniform(0, ceiling)


DEFAULT_RETRY = RetryPolicy()


class RateLimiter:
    """A thread-safe token bucket: at most ``rate`` calls per second, bursts of ``burst``.

    :meth:`acquire` reserves a slot and sleeps until it is due, so concurrent callers
    are spread out evenly instead of all waking at once.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate / 10))
        self._tokens = self.burst
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping as needed; returns the seconds slept."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)
        return wait


@dataclass(frozen=True)
class RateLimits:
    """Calls per second a provider accepts, by kind of call (None: no client-side limit).

    The defaults of each provider are its published quotas (see docs/providers.md).
    """

    read: float | None = None
    write: float | None = None
    combined: float | None = None
    """One budget shared by reads and writes (Azure counts all vault transactions)."""

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No client-side rate limit (local servers, or a quota raised by the provider)."""
        return cls(None, None)

    def limiters(self) -> dict[str, RateLimiter]:
        """One :class:`RateLimiter` per limited kind ('read', 'write')."""
        out: dict[str, RateLimiter] = {}
        if self.combined:
            shared = RateLimiter(self.combined)
            return {"read": shared, "write": shared}
        if self.read:
            out["read"] = RateLimiter(self.read)
        if self.write:
            out["write"] = RateLimiter(self.write)
        return out


def provider_error(
    cls: type[E],
    message: str,
    *,
    hint: str | None = None,
    code: str | None = None,
    retryable: bool = False,
    retry_after: float | None = None,
) -> E:
    """Build a core error with the retry attributes :func:`call_with_retry` reads."""
    err = cls(message, hint=hint)
    err.code = code  # type: ignore[attr-defined]  # retry attributes set on the instance
    err.retryable = retryable  # type: ignore[attr-defined]  # retry attributes set on the instance
    err.retry_after = retry_after  # type: ignore[attr-defined]  # retry attributes set on the instance
    return err


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses a later attempt can get past: throttling, an internal error, a bad
gateway, an unavailable or overloaded server, a gateway timeout. Not 501 (the server
does not implement the call) or 505 (it does not speak our HTTP): retrying those only
delays the same answer."""


def retryable_status(status: int | str | None) -> bool:
    """True if an HTTP ``status`` (int or digits) is in :data:`RETRY_STATUSES`."""
    try:
        return int(status) in RETRY_STATUSES  # type: ignore[arg-type]  # None raises TypeError, caught below
    except (TypeError, ValueError):
        return False


def _http_status(code: object) -> int | None:
    """``code`` as an HTTP status when it is one (three digits, 100-599), else None."""
    text = str(code) if code is not None else ""
    if len(text) == 3 and text.isdigit() and 100 <= int(text) <= 599:
        return int(text)
    return None


def error_code(err: BaseException) -> str | None:
    """The provider error code attached by :func:`provider_error`, if any."""
    return getattr(err, "code", None)


def is_retryable(err: BaseException) -> bool:
    """True for mapped errors worth another attempt (throttling, transient 5xx, network).

    A mapper's ``retryable`` is overruled when the error's code is an HTTP status outside
    :data:`RETRY_STATUSES`: the one rule for every provider, whatever its mapper says.
    """
    if not getattr(err, "retryable", False):
        return False
    status = _http_status(error_code(err))
    return status is None or status in RETRY_STATUSES


def call_with_retry(
    fn: Callable[[], T],
    mapper: Callable[[Exception], VaultError],
    *,
    policy: RetryPolicy = DEFAULT_RETRY,
    what: str = "call",
    limiter: RateLimiter | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``fn`` with rate limiting, bounded retries and error mapping.

    Args:
        fn: the SDK call (no arguments; close over them).
        mapper: turns any exception ``fn`` raised into a core :class:`VaultError`
            (a :class:`VaultError` raised by ``fn`` itself is kept as it is).
        policy: attempts, backoff and deadline.
        what: a short, value-free label for logs ("put", "list page").
        limiter: taken once per attempt.
        sleep: injectable for tests.

    Returns:
        Whatever ``fn`` returned.

    Raises:
        VaultError: the mapped error of the last attempt. When retries ran out, the
            message says after how many attempts.
    """
    started = time.monotonic()
    attempt = 0
    while True:
        if limiter is not None:
            limiter.acquire()
        try:
            return fn()
        except VaultError as exc:
            err: VaultError = exc
        except Exception as exc:  # SDKs raise many unrelated types; all are mapped
            err = mapper(exc)
        attempt += 1
        if not is_retryable(err):
            raise err from None
        elapsed = time.monotonic() - started
        delay = policy.delay(attempt - 1, getattr(err, "retry_after", None))
        if attempt >= policy.attempts or elapsed + delay > policy.deadline:
            raise _exhausted(err, attempt) from None
        log.debug(
            "%s failed (%s, code %s); retry %d in %.2fs",
            what,
            type(err).__name__,
            error_code(err),
            attempt,
            delay,
        )
        sleep(delay)


def _exhausted(err: VaultError, attempts: int) -> VaultError:
    if attempts <= 1:
        return err
    suffix = f" (gave up after {attempts} attempts)"
    if isinstance(err, ProviderThrottledError):
        suffix = f" (still throttled after {attempts} attempts)"
    new = type(err)(err.message + suffix, hint=err.hint)
    for attr in ("code", "retryable", "retry_after"):
        setattr(new, attr, getattr(err, attr, None))
    return new


def generic_error(display_name: str, exc: BaseException) -> ProviderError:
    """Fallback mapping: names the exception type only, never its text."""
    return provider_error(
        ProviderError,
        f"{display_name} request failed ({type(exc).__name__})",
        code=type(exc).__name__,
    )


_MALFORMED = (KeyError, IndexError, TypeError, AttributeError, ValueError)
"""What reading fields of a malformed answer raises (a missing key, a list for a dict)."""


def _malformed(display_name: str, exc: BaseException) -> ProviderError:
    return provider_error(
        ProviderError,
        f"{display_name} returned a response vaultui cannot read ({type(exc).__name__})",
        hint="a proxy or an incompatible server may be in the way; check the provider address",
        code="malformed",
    )


def guard_malformed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a provider method that reads fields of SDK answers: a malformed answer
    (missing field, wrong type or shape) raises :class:`ProviderError` naming the
    exception type only, never a raw ``KeyError``/``TypeError``. Works on generators."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(self, *args, **kwargs)
            except _MALFORMED as exc:
                raise _malformed(self.display_name, exc) from None

        return gen

    @functools.wraps(fn)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except _MALFORMED as exc:
            raise _malformed(self.display_name, exc) from None

    return call


_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}|\d{1,4}")


def shown_code(code: object) -> str:
    """An error code from a server's answer, fit to show in a message: identifiers and
    numbers pass; anything else (free text, control characters, echoed request data)
    becomes "unrecognized code"."""
    text = str(code)
    return text if _CODE.fullmatch(text) else "unrecognized code"
