"""Sync and merge: vault <-> vault (merge), vault <-> provider (sealed and native).

- :func:`core.sync.merge.merge_file` / :func:`~core.sync.merge.merge_vaults`: join two
  copies of one vault file field by field (:mod:`core.sync.join` is the rule,
  :mod:`core.sync.clock` the version clocks it compares).
- :func:`core.sync.sealed.sync_sealed`: the whole vault, encrypted record by record,
  through any provider; :func:`~core.sync.sealed.bootstrap` rebuilds it on a new machine.
- :func:`core.sync.native.sync_native`: two-way sync with native provider secrets.
  Both provider syncs take the same five steps, :class:`core.sync.skeleton.ProviderSync`;
  their cursors are the dataclasses in :mod:`core.sync.cursors`.
- :mod:`core.sync.conflicts`: conflicts kept for review (accept mine / theirs / merged).
- :mod:`core.sync.service`: configured remotes, one-call ``run_sync`` and ``status``;
  :mod:`core.sync.background`: the background sync thread.

- :mod:`core.sync.copies`: file-sync services' conflict copies, merged in unasked;
  :mod:`core.sync.gitdriver`: git's merge and diff drivers for the vault file.

Nothing here imports Textual or ``vaultui``; provider SDKs load only inside providers.
The names below load on first use, so importing one submodule (every command checks for
conflict copies) does not import the rest. See docs/sync.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.sync.join import Conflict
    from core.sync.merge import MergeReport, merge_file, merge_vaults
    from core.sync.report import SyncReport

__all__ = ["Conflict", "MergeReport", "SyncReport", "merge_file", "merge_vaults"]

_HOME = {
    "Conflict": "core.sync.join",
    "MergeReport": "core.sync.merge",
    "merge_file": "core.sync.merge",
    "merge_vaults": "core.sync.merge",
    "SyncReport": "core.sync.report",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'core.sync' has no attribute {name!r}")
