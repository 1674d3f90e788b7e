"""Rotation leases and worker heartbeats, kept inside the vault file.

A lease says "worker W is rotating record R until time T". All leases live in one
sealed entry of the vault's ``local_state`` table, ``rotation.leases`` (a JSON map from
record uid to lease; encrypted like everything else), and a lease is taken inside one
``BEGIN IMMEDIATE``
transaction (:meth:`Vault.transaction`): read, check, write, commit. SQLite's write lock
makes that check-and-set atomic across threads and processes, so at most one worker
holds a record's lease at any time. An expired lease (its holder crashed) may be taken
over. Leases use the wall clock (``time.time``), not the injectable rotation clock.

Leases are per vault file (``local_state`` is not synced or backed up): workers on
other machines work on other copies, which sync merges like any other change.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any

from core.errors import VaultError

LEASES_KEY = "rotation.leases"
WORKERS_KEY = "rotation.workers"


def new_owner_id() -> str:
    """A unique id for one worker: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class LeaseStore:
    """Take, release and inspect rotation leases and worker heartbeats in one vault."""

    def __init__(self, vault: Any, owner: str, *, wall_clock: Callable[[], float] = time.time):
        self.vault = vault
        self.owner = owner
        self.wall_clock = wall_clock

    def __repr__(self) -> str:
        return f"LeaseStore(owner={self.owner!r})"

    # ------------------------------------------------------------------ leases

    def acquire(self, uid: str, ttl: float) -> bool:
        """Take the lease on record ``uid`` for ``ttl`` seconds; False if another worker
        holds an unexpired one. Re-acquiring our own lease extends it.
        """
        now = self.wall_clock()
        with self.vault.transaction():
            leases = self._live(now)
            held = leases.get(uid)
            if held and held.get("owner") != self.owner:
                return False
            leases[uid] = {
                "owner": self.owner,
                "since": now,
                "expires": now + ttl,
                "pid": os.getpid(),
            }
            self._store(leases)
        return True

    def release(self, uid: str) -> None:
        """Give up our lease on ``uid`` (a lease held by someone else is left alone)."""
        with self.vault.transaction():
            leases = self._live(self.wall_clock())
            held = leases.get(uid)
            if held and held.get("owner") == self.owner:
                del leases[uid]
            self._store(leases)

    def holder(self, uid: str) -> dict[str, Any] | None:
        """The unexpired lease on ``uid`` ({owner, since, expires, pid}), or None."""
        return self.holders().get(uid)

    def holders(self) -> dict[str, dict[str, Any]]:
        """Every unexpired lease, by record uid (one read for the whole schedule)."""
        try:
            return self._live(self.wall_clock())
        except VaultError:
            return {}

    def _live(self, now: float) -> dict[str, dict[str, Any]]:
        leases = _load(self.vault.get_local(LEASES_KEY)) or {}
        return {
            uid: lease
            for uid, lease in leases.items()
            if isinstance(lease, dict) and float(lease.get("expires", 0)) > now
        }

    def _store(self, leases: dict[str, dict[str, Any]]) -> None:
        self.vault.set_local(LEASES_KEY, json.dumps(leases).encode() if leases else None)

    # ------------------------------------------------------------------ heartbeats

    def heartbeat(self, info: dict[str, Any] | None) -> None:
        """Publish (or with None, withdraw) this worker's state for other processes.

        ``info`` should hold ``stale_after`` (a wall-clock time after which readers treat
        the entry as dead); stale entries of others are pruned here.
        """
        now = self.wall_clock()
        with self.vault.transaction():
            workers = _load(self.vault.get_local(WORKERS_KEY)) or {}
            workers = {
                k: v
                for k, v in workers.items()
                if isinstance(v, dict) and float(v.get("stale_after", 0)) > now
            }
            if info is None:
                workers.pop(self.owner, None)
            else:
                workers[self.owner] = dict(info, pid=os.getpid(), host=socket.gethostname())
            self.vault.set_local(WORKERS_KEY, json.dumps(workers).encode() if workers else None)

    def workers(self) -> dict[str, dict[str, Any]]:
        """Live workers of this vault file, by owner id (stale entries left out)."""
        try:
            workers = _load(self.vault.get_local(WORKERS_KEY)) or {}
        except VaultError:
            return {}
        now = self.wall_clock()
        return {
            k: v
            for k, v in workers.items()
            if isinstance(v, dict) and float(v.get("stale_after", 0)) > now
        }


def _load(raw: bytes | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
