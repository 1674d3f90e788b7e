"""The five steps every provider sync takes, written once.

Native sync (:mod:`core.sync.native`) and sealed sync (:mod:`core.sync.sealed`) differ
in what they store remotely, not in how a sync goes. :class:`ProviderSync` runs the
steps in order and owns what both need (the report, the progress callback, the
provider-sized thread pool, batched local transactions, the audit events); a mode
fills in the steps:

1. :meth:`~ProviderSync.load_state`: read this remote's cursor from the vault file;
2. :meth:`~ProviderSync.list_changes`: what changed remotely (a listing, no values)
   and here (the vault's change sequence) since that cursor;
3. :meth:`~ProviderSync.plan`: read the remote values that changed and decide per
   secret;
4. :meth:`~ProviderSync.apply`: write here, then push to the provider (check-and-set);
5. :meth:`~ProviderSync.save_state`: store the new cursor, record conflicts, audit.

A dry run takes steps 1-4 without writing anything and skips step 5.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar, TypeVar

from core.errors import VaultError
from core.sync.merge import hasher_for
from core.sync.report import ProgressFn, SyncReport, remote_id
from core.vault import Vault

log = logging.getLogger(__name__)

CHECKPOINT = 200
"""Secrets per local transaction (and per saved cursor while pushing)."""
MAX_WORKERS = 16

T = TypeVar("T")
R = TypeVar("R")


def pool_size(provider: Any) -> int:
    """Parallel provider calls: the provider's ``max_workers`` (default 8), 1 to 16."""
    return max(1, min(MAX_WORKERS, int(getattr(provider, "max_workers", 8) or 8)))


def parallel_map(provider: Any, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(i) for i in items]`` on a pool sized for ``provider``, in order."""
    items = list(items)
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(pool_size(provider), thread_name_prefix="vaultui-sync") as pool:
        return list(pool.map(fn, items))


class ProviderSync(ABC):
    """One two-way sync of a vault with a provider; :meth:`run` returns its report.

    Subclasses set :attr:`mode` and implement the five steps; :meth:`run` calls them in
    order, so each step may rely on what the earlier ones stored on ``self``. The
    report never holds a secret value.
    """

    mode: ClassVar[str]

    def __init__(
        self,
        vault: Vault,
        provider: Any,
        *,
        dry_run: bool = False,
        progress: ProgressFn | None = None,
        audit: Any = None,
    ) -> None:
        self.vault = vault
        self.provider = provider
        self.dry_run = dry_run
        self.audit = audit
        self._progress = progress
        self.remote = remote_id(provider, self.mode)
        self.report = SyncReport(provider.name, self.mode, self.remote, dry_run)
        self.hasher = hasher_for(vault)
        self.start_seq = vault.seq

    @property
    def cursor_key(self) -> str:
        """Where this remote's cursor is kept in the vault's sealed local state."""
        return f"sync/{self.remote}"

    def run(self) -> SyncReport:
        """Take the five steps and return the report (the plan, in a dry run)."""
        started = time.perf_counter()
        self.start_seq = self.vault.seq
        self.load_state()
        self.list_changes()
        self.plan()
        self.apply()
        if not self.dry_run:
            self.save_state()
        self.report.remote_calls = self.remote_calls()
        self.report.seconds = time.perf_counter() - started
        return self.report

    # -- the steps

    @abstractmethod
    def load_state(self) -> None:
        """Read the cursor this remote's last sync left in the vault file."""

    @abstractmethod
    def list_changes(self) -> None:
        """Find what changed remotely and here since the cursor (reads no value)."""

    @abstractmethod
    def plan(self) -> None:
        """Read the remote values that changed; decide what each secret needs."""

    @abstractmethod
    def apply(self) -> None:
        """Write the decisions here, then to the provider (nothing in a dry run)."""

    @abstractmethod
    def save_state(self) -> None:
        """Store the new cursor, record conflicts for review, write audit events."""

    @abstractmethod
    def remote_calls(self) -> int:
        """How many provider calls this sync made (for the report)."""

    # -- what every mode uses

    def tick(self, done: int, total: int, what: str) -> None:
        """Report progress to the caller, if it asked for it."""
        if self._progress is not None:
            self._progress(done, total, what)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``fn`` over ``items`` on the provider-sized pool (see :func:`parallel_map`)."""
        return parallel_map(self.provider, fn, items)

    def local_batch(self) -> AbstractContextManager[Any]:
        """One local transaction for a batch of writes (nothing to open in a dry run)."""
        return nullcontext() if self.dry_run else self.vault.transaction()

    def write_audit(self, events: list[dict[str, Any]]) -> None:
        """Log the sync's events; an audit failure is logged, never fails the sync."""
        if self.audit is None or not events:
            return
        try:
            self.audit.log_many(events)
        except VaultError:
            log.warning("could not write the sync events to the audit log")
