"""Opening the vault for the app without the facade's cost on the critical path.

With a configured key (key file, master key, passphrase file) the app opens the vault
file directly, shows the names, and only then builds the
:class:`~core.secrets_manager.SecretsManager` (its audit log, provider registry and their
imports cost ~200 ms). :class:`DeferredManager` stands in for the facade meanwhile: the
open vault is there at once, and the first use of anything else builds the facade
(thread-safe, once). The 'unlock' audit event is written when it is built.
"""

from __future__ import annotations

import threading
from typing import Any

from core.config import Settings
from core.errors import LockedError
from core.service.types import Vault


class DeferredManager:
    """A SecretsManager for an already-open ``vault``, built on first use.

    ``vault`` and ``settings`` are plain attributes; every other attribute is the
    facade's (building it first if needed). :meth:`ready` builds it explicitly.
    """

    def __init__(self, settings: Settings, vault: Vault) -> None:
        self.settings = settings
        self.vault = vault
        self._manager: Any = None
        self._closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DeferredManager({self.vault!r}, built={self._manager is not None})"

    def ready(self) -> Any:
        """Build the facade now (if not yet) and return it."""
        with self._lock:
            if self._manager is None:
                if self._closed:  # locked before the facade was ever needed
                    raise LockedError("The vault is locked")
                from core.service.lifecycle import adopt

                self._manager = adopt(self.settings, self.vault, source="app")
            return self._manager

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.ready(), name)

    def close(self) -> None:
        """Close the facade (which closes the vault), or just the vault if never built.

        A built facade stays reachable, closed: a worker finishing after the lock reads
        its state (``rotation_manager.is_running``) instead of reopening a closed vault.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            manager = self._manager
        if manager is not None:
            manager.close()
        else:
            self.vault.close()


def ensure_ready(manager: Any) -> None:
    """Build a deferred facade now (no-op for a real SecretsManager)."""
    if isinstance(manager, DeferredManager):
        manager.ready()
