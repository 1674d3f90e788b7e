"""The one interface every secrets provider implements.

A provider stores secrets as *native* provider secrets, one per vault name, readable by
other tools (see docs/providers.md for how each one lays them out). The interface::

    p = get_provider("aws_secrets_manager", settings)     # core.providers.registry
    ok, why = type(p).viable(settings)                     # can it run here? why not?
    vid = p.put("db/password", "s3cret")                   # -> provider version id
    vid = p.put("db/password", "n3w", expected_version=vid)  # check-and-set
    s = p.get("db/password")                               # -> ProviderSecret | None
    for e in p.list(): e.name, e.version, e.updated_at     # every page, no values
    p.versions("db/password")                              # -> [ProviderVersion]
    p.delete("db/password", purge=False)                   # soft delete where possible
    p.health()                                             # -> Health(ok, latency_ms, detail)
    p.put_many({...}); p.get_many([...])                   # concurrent, rate limited

SDKs are imported inside methods only; importing this module (or the registry) never
imports boto3, hvac, azure or google. Every SDK failure reaches the caller as a core
error (:mod:`core.errors`), retried first when it is throttling or transient
(:mod:`core.providers.retry`). No value or credential ever appears in an error, a log
line or a ``repr``.
"""

from __future__ import annotations

import builtins
import functools
import importlib.util
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, NamedTuple, TypeVar

from core.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderNotInstalledError,
    ProviderThrottledError,
    ProviderUnavailableError,
    VaultError,
)
from core.providers.names import IDENTITY, NameMapping
from core.providers.retry import (
    DEFAULT_RETRY,
    RateLimiter,
    RateLimits,
    RetryPolicy,
    call_with_retry,
)
from core.text import plural

if TYPE_CHECKING:
    from core.config import Settings
    from core.vault.codec import SecretValue

log = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K")

ABSENT: Final = ""
"""``expected_version=ABSENT``: write only if the secret does not exist yet."""

_DEFAULT: Any = object()


@dataclass(frozen=True)
class ProviderLimits:
    """What a provider accepts: value size in bytes as stored, and the name alphabet."""

    max_value_bytes: int | None
    name_alphabet: str
    max_name_length: int | None = None
    case_insensitive_names: bool = False


@dataclass(frozen=True)
class ProviderSecret:
    """One version of a secret as read from a provider. ``repr`` hides the value.

    ``version`` is the provider's version id (Vault and GCP: "1", "2"...; AWS: the
    VersionId; Azure: the 32-hex version), ``updated_at`` when that version was
    written (UTC), ``type`` 'str', 'bytes' or 'dict', ``stages`` the AWS staging
    labels of the version (empty elsewhere).
    """

    name: str
    value: SecretValue = field(repr=False)
    version: str
    updated_at: datetime | None
    type: str
    stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProviderEntry:
    """A secret as listed (no value read).

    ``version`` and ``updated_at`` are None where the provider's list call does not
    return them (Azure lists no version ids; GCP lists no update time or version).
    ``type`` is the recorded value type when the listing carries it.
    """

    name: str
    version: str | None
    updated_at: datetime | None
    type: str | None = None


@dataclass(frozen=True)
class ProviderVersion:
    """One version in a secret's history, oldest first in :meth:`Provider.versions`.

    ``state`` is 'enabled', 'disabled', 'deleted' (soft deleted, recoverable) or
    'destroyed'; ``current`` marks the version a plain :meth:`Provider.get` returns.
    """

    version: str
    created_at: datetime | None
    current: bool
    state: str = "enabled"
    stages: tuple[str, ...] = ()


class Health(NamedTuple):
    """The answer of :meth:`Provider.health`; unpacks as ``ok, latency_ms, detail``."""

    ok: bool
    latency_ms: float
    detail: str


@dataclass
class BulkResult(Generic[T]):
    """The outcome of :meth:`Provider.put_many` / :meth:`Provider.get_many`.

    ``done`` maps each name that succeeded to its result (a version id, or the
    :class:`ProviderSecret` / None read); ``failed`` maps every other name to its core
    error. Nothing is silently dropped: ``len(done) + len(failed)`` is the number of
    names given. ``not_attempted`` lists names skipped because the provider had already
    become unreachable, refused the credentials or kept throttling (their error is the
    one that stopped the batch); running the same call again with those names retries
    them.
    """

    provider: str
    total: int = 0
    done: dict[str, T] = field(default_factory=dict)
    failed: dict[str, VaultError] = field(default_factory=dict)
    not_attempted: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1
    """How many calls ran at once (at most)."""

    @property
    def ok(self) -> bool:
        """True when every name succeeded."""
        return not self.failed

    def raise_for_errors(self) -> None:
        """Raise one summary error (of the first failure's class) unless all succeeded."""
        if not self.failed:
            return
        first = next(iter(self.failed.values()))
        cls = type(first) if isinstance(first, ProviderError) else ProviderError
        extra = f", {len(self.not_attempted)} not attempted" if self.not_attempted else ""
        raise cls(
            f"{first.message} ({len(self.failed)} of {plural(self.total, 'secret')} failed{extra}; "
            f"{len(self.done)} succeeded)",
            hint=first.hint,
        )


class Provider(ABC):
    """A secrets store vaultui can read and write native secrets in.

    Subclasses set the class attributes and implement the ``_``-prefixed hooks; the
    public methods validate names, map names onto the provider's alphabet, rate limit,
    retry and map errors. Instances are thread-safe.

    Constructor keywords every provider accepts (besides its own):

    - ``retry``: a :class:`RetryPolicy` (default 5 attempts, 0.2 s base, 30 s budget);
    - ``rate_limits``: a :class:`RateLimits` (default: the provider's published quota);
    - ``max_workers``: threads for bulk calls (default :attr:`default_workers`);
    - ``timeout``: seconds for each HTTP call (connect and read; default 10);
    - ``page_size``: items per list page (default: the provider's maximum).
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    extra: ClassVar[str | None] = None
    sdk_modules: ClassVar[tuple[str, ...]] = ()
    limits: ClassVar[ProviderLimits]
    names: ClassVar[NameMapping] = IDENTITY
    default_rate_limits: ClassVar[RateLimits] = RateLimits()
    default_workers: ClassVar[int] = 8
    default_page_size: ClassVar[int] = 100
    bulk_prefetch: ClassVar[bool] = False
    """When True, :meth:`put_many`/:meth:`get_many` of many names list once first."""

    def __init__(
        self,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        rate_limits: RateLimits | None = _DEFAULT,
        max_workers: int | None = None,
        timeout: float = 10.0,
        page_size: int | None = None,
    ) -> None:
        self.settings = settings
        self.retry = retry or DEFAULT_RETRY
        limits = self.default_rate_limits if rate_limits is _DEFAULT else rate_limits
        self.rate_limits: RateLimits = limits or RateLimits.unlimited()
        self._limiters: dict[str, RateLimiter] = self.rate_limits.limiters()
        self.max_workers = max(1, int(max_workers or self.default_workers))
        self.timeout = float(timeout)
        self.page_size = int(page_size or self.default_page_size)

    # ------------------------------------------------------------------ discovery

    @classmethod
    def viable(cls, settings: Settings) -> tuple[bool, str]:
        """Whether this provider can run here, and why not.

        Checks, without network access: the SDK is installed (else "install
        vaultui[<extra>]"), and the settings it needs are present (address, project,
        credentials). Reachability is what :meth:`health` checks.

        Returns:
            ``(True, "ready ...")`` or ``(False, reason)``; the reason never shows a
            credential.
        """
        missing = [m for m in cls.sdk_modules if not _module_available(m)]
        if missing:
            return False, (
                f"{cls.display_name} SDK not installed ({', '.join(missing)}): "
                f"install vaultui[{cls.extra}]"
            )
        return cls._check_settings(settings)

    @classmethod
    def _check_settings(cls, settings: Settings) -> tuple[bool, str]:
        return True, "ready"

    def _import_sdk(self) -> None:
        """Import the SDK modules or raise ProviderNotInstalledError naming the extra."""
        for module in self.sdk_modules:
            try:
                importlib.import_module(module)
            except ImportError:
                raise ProviderNotInstalledError(
                    f"{self.display_name} support is not installed (missing {module})",
                    hint=f"install vaultui[{self.extra}]",
                ) from None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._describe()}>"

    def _describe(self) -> str:
        """A short, credential-free description (address, region, project)."""
        return self.name

    # ------------------------------------------------------------------ the interface

    def get(self, name: str, version: str | None = None) -> ProviderSecret | None:
        """Read one version of ``name``.

        Args:
            name: a vault secret name (letters, digits, ``_ . - /``).
            version: a provider version id, or a provider alias ("latest" on GCP, a
                staging label such as "AWSPREVIOUS" on AWS); None for the current one.

        Returns:
            The value with its type, version and time, or None when the secret (or
            that version) does not exist, is deleted or disabled.

        Raises:
            InvalidNameError: ``name`` is not a valid vault name.
            ProviderLimitError: ``name`` does not fit the provider's names.
            ProviderError: the provider failed (unreachable, denied, throttled...).
        """
        return self._get(name, version, None)

    def put(self, name: str, value: SecretValue, *, expected_version: str | None = None) -> str:
        """Write ``value`` as the new current version of ``name`` (creating it if needed).

        A secret that was soft deleted is recovered first, so its history is kept.

        Args:
            name: a vault secret name.
            value: str, bytes or a JSON-like dict; it comes back with the same type.
            expected_version: check-and-set: the write only happens if the current
                version id is exactly this; :data:`ABSENT` ("") means "only if the secret
                does not exist". Atomic on HashiCorp Vault (``cas``) and AWS (moving the
                AWSCURRENT label with ``RemoveFromVersionId``); compare-then-write on
                Azure and GCP, which have no conditional write for values.

        Returns:
            The provider's id of the new version.

        Raises:
            ConflictError: ``expected_version`` did not match; nothing was written.
            ProviderLimitError: the value or mapped name exceeds the provider's limits.
            ValidationError: the value is not str, bytes or a JSON-like dict.
            ProviderError: the provider failed.
        """
        return self._put(name, value, expected_version=expected_version, known=None)

    @abstractmethod
    def delete(self, name: str, *, purge: bool = False) -> bool:
        """Delete ``name``.

        Args:
            name: a vault secret name.
            purge: also remove it from the provider's recycle bin (AWS force delete,
                Azure purge, Vault metadata delete). GCP deletes permanently either way.

        Returns:
            True if something was deleted, False if there was nothing to delete.

        Raises:
            ProviderError: the provider failed.
        """

    def list(self) -> Iterator[ProviderEntry]:
        """Every live secret, following every page, without reading values.

        Secrets whose provider names are not the mapping of a vault name (made by other
        tools, see :mod:`core.providers.names`) are left out.

        Raises:
            ProviderError: the provider failed (also part way through the pages).
        """
        return self._list(None)

    @abstractmethod
    def versions(self, name: str) -> builtins.list[ProviderVersion]:
        """The versions of ``name``, oldest first ([] when the secret does not exist).

        Raises:
            ProviderError: the provider failed.
        """

    def health(self) -> Health:
        """Reach the provider with one cheap authenticated call; never raises.

        Returns:
            ``Health(ok, latency_ms, detail)``: detail is a short description on
            success, the error with its troubleshooting hint otherwise.
        """
        started = time.perf_counter()
        try:
            detail = self._health()
            ok = True
        except VaultError as exc:
            ok, detail = False, str(exc)
        return Health(ok, round((time.perf_counter() - started) * 1000, 2), detail)

    def close(self) -> None:  # noqa: B027 - optional hook: providers without connections skip it
        """Release connections (the provider may not be used afterwards)."""

    # ------------------------------------------------------------------ bulk

    def put_many(
        self,
        items: Mapping[str, SecretValue] | Iterable[tuple[str, SecretValue]],
        *,
        max_workers: int | None = None,
    ) -> BulkResult[str]:
        """Write many secrets concurrently within the provider's rate limits.

        Runs up to ``max_workers`` writes at once (default: the instance's), each with
        the same retries as :meth:`put`. When the provider becomes unreachable, refuses
        the credentials or keeps throttling, the remaining writes are not attempted.

        Returns:
            A :class:`BulkResult` mapping names to new version ids; it never raises for
            a failed item (call :meth:`BulkResult.raise_for_errors`).
        """
        pairs = list(items.items() if isinstance(items, Mapping) else items)
        known = self._bulk_hints([n for n, _ in pairs])
        return self._run_bulk(
            pairs,
            lambda pair: self._put(pair[0], pair[1], expected_version=None, known=known),
            key_name=lambda pair: pair[0],
            max_workers=max_workers,
        )

    def get_many(
        self, names: Iterable[str], *, max_workers: int | None = None
    ) -> BulkResult[ProviderSecret | None]:
        """Read the current version of many secrets concurrently.

        Returns:
            A :class:`BulkResult` mapping each name to its :class:`ProviderSecret`, or
            None when it does not exist.
        """
        wanted = list(dict.fromkeys(names))
        known = self._bulk_hints(wanted)
        return self._run_bulk(
            wanted,
            lambda n: self._get(n, None, known),
            key_name=lambda n: n,
            max_workers=max_workers,
        )

    # ------------------------------------------------------------------ hooks

    @abstractmethod
    def _get(
        self, name: str, version: str | None, known: dict[str, ProviderEntry] | None
    ) -> ProviderSecret | None:
        """Read; ``known`` is a fresh listing when the caller has one (else None)."""

    @abstractmethod
    def _put(
        self,
        name: str,
        value: SecretValue,
        *,
        expected_version: str | None,
        known: dict[str, ProviderEntry] | None,
    ) -> str:
        """Write; ``known`` is a fresh listing when the caller has one (else None)."""

    @abstractmethod
    def _list(self, max_pages: int | None) -> Iterator[ProviderEntry]:
        """Yield entries; raise :class:`PageBudgetExceeded` past ``max_pages`` pages."""

    @abstractmethod
    def _health(self) -> str:
        """One cheap authenticated call; returns a short description."""

    @abstractmethod
    def _map_error(self, exc: Exception) -> VaultError:
        """Turn an SDK exception into a core error (see :func:`retry.provider_error`)."""

    # ------------------------------------------------------------------ helpers

    def _call(self, kind: str, what: str, fn: Callable[[], T]) -> T:
        """Run one SDK call with the ``kind`` ('read'/'write') rate limit and retries."""
        return call_with_retry(
            fn,
            self._map_error,
            policy=self.retry,
            what=f"{self.name} {what}",
            limiter=self._limiters.get(kind),
        )

    def _bulk_hints(self, names: builtins.list[str]) -> dict[str, ProviderEntry] | None:
        """A listing to save per-secret lookups in bulk calls, when it is cheap enough."""
        if not self.bulk_prefetch or len(names) < 20:
            return None
        budget = 2 + (3 * len(names)) // max(1, self.page_size)
        out: dict[str, ProviderEntry] = {}
        try:
            for entry in self._list(budget):
                out[entry.name] = entry
        except PageBudgetExceeded:
            return None
        except ProviderError:
            return None  # the per-secret calls will report the problem themselves
        return out

    def _run_bulk(
        self,
        keys: builtins.list[K],
        fn: Callable[[K], T],
        *,
        key_name: Callable[[K], str],
        max_workers: int | None,
    ) -> BulkResult[T]:
        result: BulkResult[T] = BulkResult(self.display_name, total=len(keys))
        started = time.perf_counter()
        stop = threading.Event()
        stopper: list[VaultError] = []
        lock = threading.Lock()

        def task(key: K) -> T | _Skipped:
            if stop.is_set():
                return _SKIPPED
            try:
                return fn(key)
            except (ProviderUnavailableError, ProviderAuthError, ProviderThrottledError) as exc:
                with lock:
                    if not stopper:
                        stopper.append(exc)
                        stop.set()
                raise

        def record(key: K, get: Callable[[], T | _Skipped]) -> None:
            name = key_name(key)
            try:
                value = get()
            except VaultError as exc:
                result.failed[name] = exc
                return
            if isinstance(value, _Skipped):
                result.failed[name] = stopper[0]
                result.not_attempted.append(name)
            else:
                result.done[name] = value

        workers = max(1, int(max_workers or self.max_workers))
        result.workers = min(workers, len(keys)) or 1
        if workers == 1 or len(keys) <= 1:
            for key in keys:
                record(key, functools.partial(task, key))
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix=f"vaultui-{self.name}") as pool:
                futures = [(key, pool.submit(task, key)) for key in keys]
                for key, fut in futures:
                    record(key, fut.result)
        result.seconds = time.perf_counter() - started
        if result.failed:
            log.info(
                "%s bulk call: %d of %d failed", self.display_name, len(result.failed), len(keys)
            )
        return result


class PageBudgetExceeded(Exception):
    """Internal: a listing for bulk hints would take more pages than it saves."""


class _Skipped:
    """Marker for bulk items skipped after the provider stopped answering."""


_SKIPPED = _Skipped()


def _module_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def page_budget(max_pages: int | None, pages: int) -> None:
    """Raise :class:`PageBudgetExceeded` when ``pages`` already exceeds ``max_pages``."""
    if max_pages is not None and pages > max_pages:
        raise PageBudgetExceeded
