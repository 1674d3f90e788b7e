"""Sealed sync: the whole vault through any provider, which learns nothing.

- :mod:`core.sync.sealed.layout`: the objects in the provider (directory, head, index
  shards, records, parts), how they are named and sealed (:class:`ObjectCipher`), and
  :class:`Store`, which reads and writes them with check-and-set;
- :mod:`core.sync.sealed.run`: one sync (:func:`sync_sealed`), the five steps of
  :class:`core.sync.skeleton.ProviderSync` for sealed records;
- :mod:`core.sync.sealed.bootstrap`: a new machine rebuilds the vault file from the
  head's key slots (:func:`bootstrap`);
- :mod:`core.sync.sealed.join`: a team member does the same with their own identity
  (:func:`join_as_member`).
"""

from __future__ import annotations

from core.sync.sealed.bootstrap import bootstrap, list_sealed_vaults
from core.sync.sealed.join import join_as_member
from core.sync.sealed.layout import ObjectCipher, Store, prefix_for
from core.sync.sealed.run import SealedSync, sync_sealed

__all__ = [
    "ObjectCipher",
    "SealedSync",
    "Store",
    "bootstrap",
    "join_as_member",
    "list_sealed_vaults",
    "prefix_for",
    "sync_sealed",
]
