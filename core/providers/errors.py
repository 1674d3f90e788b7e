"""SDK exceptions to core errors: one table of rows per provider, one interpreter.

Each provider describes its SDK's failures as a tuple of :class:`Rule` rows, read top
to bottom; the first row whose ``when`` matches decides the core error class, the
message, the hint, the error code and whether another attempt may help. The provider
only extracts the :class:`Facts` of an exception (HTTP status, service error code,
message text, Retry-After); :func:`map_error` does the rest, and an exception no row
matches becomes :func:`~core.providers.retry.generic_error` (its type name only).

Messages never quote the server's text: a row's message is fixed, or built from the
status and a code passed through :func:`~core.providers.retry.shown_code`. Whether a
mapped error is retried is still overruled by the one status rule in
:func:`core.providers.retry.is_retryable` (501 and 505 never retry).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Union

from core.errors import VaultError
from core.providers.retry import generic_error, provider_error


@dataclass(frozen=True)
class Facts:
    """What one SDK exception says, in the same shape for every provider.

    ``code`` is the service's error code, ``inner`` a more specific one nested in it
    (Azure's ``innererror``); ``text`` is the server's message, lower-cased, for
    matching only (never shown).
    """

    exc: BaseException
    status: int = 0
    code: str = ""
    inner: str = ""
    text: str = ""
    retry_after: float | None = None


Match = Callable[[Facts], bool]
Text = Union[str, Callable[[Facts], str]]  # noqa: UP007 - a runtime alias with a Callable
Flag = Union[bool, Callable[[Facts], bool]]  # noqa: UP007


@dataclass(frozen=True)
class Rule:
    """One row of a provider's error table.

    When ``when(facts)`` is true the exception becomes ``error(message, hint=hint)``
    with ``code`` and ``retryable`` attached (each a value, or a function of the
    facts); ``retry_after`` passes the server's Retry-After on to the retry loop.
    """

    when: Match
    error: type[VaultError]
    message: Text
    hint: Text | None = None
    code: Text | None = None
    retryable: Flag = False
    retry_after: bool = False


def _value(item: Text | Flag | None, facts: Facts) -> object:
    return item(facts) if callable(item) else item


def map_error(display_name: str, rules: Iterable[Rule], facts: Facts) -> VaultError:
    """The core error for ``facts``: the first matching row of ``rules``, or the
    generic error naming the exception type."""
    for rule in rules:
        if rule.when(facts):
            hint, code = _value(rule.hint, facts), _value(rule.code, facts)
            return provider_error(
                rule.error,
                str(_value(rule.message, facts)),
                hint=None if hint is None else str(hint),
                code=None if code is None else str(code),
                retryable=bool(_value(rule.retryable, facts)),
                retry_after=facts.retry_after if rule.retry_after else None,
            )
    return generic_error(display_name, facts.exc)


# -- matchers: small, named, combinable (a row reads as a sentence)


def is_a(*types: type[BaseException]) -> Match:
    """The exception is one of ``types``."""
    return lambda f: isinstance(f.exc, types)


def status_is(*statuses: int) -> Match:
    """The HTTP status is one of ``statuses``."""
    return lambda f: f.status in statuses


def status_from(low: int) -> Match:
    """The HTTP status is ``low`` or above."""
    return lambda f: f.status >= low


def code_is(*codes: str) -> Match:
    """The service's error code is one of ``codes``."""
    return lambda f: f.code in codes


def text_has(*words: str) -> Match:
    """The server's message (lower-cased) contains one of ``words``."""
    return lambda f: any(w in f.text for w in words)


def all_of(*matches: Match) -> Match:
    """Every one of ``matches`` holds."""
    return lambda f: all(m(f) for m in matches)


def any_of(*matches: Match) -> Match:
    """At least one of ``matches`` holds."""
    return lambda f: any(m(f) for m in matches)


def always(_: Facts) -> bool:
    """Matches anything (a table's last row for one kind of exception)."""
    return True


def exc_name(f: Facts) -> str:
    """The exception's type name (a code for network and credential failures)."""
    return type(f.exc).__name__


def service_code(f: Facts) -> str:
    """The service's error code as it sent it."""
    return f.code


def code_or_status(f: Facts) -> str:
    """The service's error code, else the HTTP status."""
    return f.code or str(f.status)


# -- reading facts out of exceptions


def retry_after_header(exc: Any) -> float | None:
    """The Retry-After header (seconds) of the HTTP response behind ``exc``, if any."""
    response = getattr(exc, "response", None)
    try:
        value = response.headers.get("Retry-After")  # type: ignore[union-attr]  # no response: caught below
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def is_tls_error(exc: BaseException) -> bool:
    """True if ``exc`` or an exception it wraps is a TLS failure (an untrusted certificate)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in repr(current):
            return True
        inner = (
            getattr(current, "inner_exception", None) or current.__cause__ or current.__context__
        )
        current = inner if isinstance(inner, BaseException) else None
    return False
