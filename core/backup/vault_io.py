"""The vault as backups see it: a consistent export in columns (``Vault.export_records``,
the bulk read a 100,000-secret backup needs to finish in under two seconds) and the
shape check of a backed-up metadata array."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.backup.body import RecordDump, Version
from core.backup.container import KeySlotRow
from core.errors import IntegrityError
from core.vault import RecordExport, Vault

# The order of a record's metadata array (the vault's own order; listed in each manifest).
META_KEYS: tuple[str, ...] = tuple(Vault.META_KEYS)


@dataclass
class Snapshot(RecordExport):
    """A consistent read of the vault for a backup: the vault's :class:`RecordExport`
    columns (what the body encoder writes), the key slots as :class:`KeySlotRow`, and
    the metadata field order. :attr:`records` builds the per-record view on demand.
    """

    # the same column, holding the slots as KeySlotRow (what the container writes)
    slots: list[KeySlotRow] = field(repr=False)  # type: ignore[assignment]
    meta_keys: tuple[str, ...] = META_KEYS

    @property
    def records(self) -> list[RecordDump]:
        """One :class:`RecordDump` per record (built on demand)."""
        out, j = [], 0
        for (uid, rev, seq, deleted), meta, n in zip(
            self.rows, self.metas, self.counts, strict=True
        ):
            mine = [
                Version(self.versions[k], self.infos[k], self.values[k]) for k in range(j, j + n)
            ]
            out.append(RecordDump(uid, rev, seq, bool(deleted), meta, mine))
            j += n
        return out

    @classmethod
    def from_records(
        cls,
        seq: int,
        live_count: int,
        records: list[RecordDump],
        purged: list[tuple[bytes, int]],
        slots: list[KeySlotRow],
    ) -> Snapshot:
        """The columns of per-record dumps."""
        every = [v for r in records for v in r.versions]
        return cls(
            seq,
            live_count,
            [(r.uid, r.rev, r.seq, int(r.deleted)) for r in records],
            [r.meta for r in records],
            [len(r.versions) for r in records],
            [v.version for v in every],
            [v.info for v in every],
            [v.value for v in every],
            purged,
            slots,
        )


def export(vault: Vault, since_seq: int = 0) -> Snapshot:
    """Records changed after ``since_seq`` (all when 0), tombstones included, each with
    every stored version, plus purges after ``since_seq`` and the key slots.

    Read in one transaction, so the snapshot is consistent with ``seq``.
    """
    e = vault.export_records(since_seq)  # pauses the cyclic GC itself
    return Snapshot(
        e.seq,
        e.live_count,
        e.rows,
        e.metas,
        e.counts,
        e.versions,
        e.infos,
        e.values,
        e.purged,
        [KeySlotRow(k, p, w) for k, p, w in e.slots],
        tuple(vault.META_KEYS),
    )


def check_meta(meta: Any) -> list[Any]:
    """A metadata array, checked for shape (a damaged one raises IntegrityError)."""
    if not isinstance(meta, list) or len(meta) != len(META_KEYS) or not isinstance(meta[0], str):
        raise IntegrityError("A backed-up record holds malformed metadata")
    return meta
