"""Merging two copies of one vault file (a USB copy, a file-sync tool's conflict copy).

    report = merge_vaults(vault, other_vault, dry_run=True)   # the plan
    report = merge_file(vault, "vault.sync-conflict-20240101-120000-ABC.db")

Records are matched by their global id, and by name when two homes created the same
name independently (the smaller id is kept). Records whose stored ciphertext is
byte-identical in both files are skipped without decrypting anything, so merging two
100,000-secret copies that differ in 1% decrypts about 2,000 records. Every other
pair is joined field by field (:mod:`core.sync.join`) and the result written to
``vault`` only (the other file is only read) in one transaction: all or nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import SyncError, WrongKeyError
from core.sync.apply import Write, apply_write, plan_write
from core.sync.clock import Hasher
from core.sync.conflicts import record_conflicts
from core.sync.join import Conflict, join
from core.sync.state import RecordState, derive
from core.vault import KeySource, Vault
from core.vault.sync_access import sync_diff, sync_read


def hasher_for(vault: Vault) -> Hasher:
    """The fingerprint hasher of ``vault`` (the same in every copy of it)."""
    return Hasher(vault.derive_key("sync/fingerprint"))


@dataclass
class MergeReport:
    """What a merge did (or, with ``dry_run``, would do). Holds no secret value.

    ``added``/``updated``/``deleted``/``undeleted`` list secret names changed in this
    vault; ``versions_imported`` counts history entries copied in; ``conflicts`` lists
    fields both sides changed (the later change won, the other is in history) and
    deletes that lost against an edit.
    """

    source: str
    dry_run: bool
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    undeleted: list[str] = field(default_factory=list)
    tombstones: int = 0
    versions_imported: int = 0
    unchanged: int = 0
    compared: int = 0
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def changed(self) -> int:
        """How many secrets were (or would be) written here."""
        return len(self.added) + len(self.updated) + len(self.deleted) + len(self.undeleted)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "added": sorted(self.added),
            "updated": sorted(self.updated),
            "deleted": sorted(self.deleted),
            "undeleted": sorted(self.undeleted),
            "tombstones": self.tombstones,
            "versions_imported": self.versions_imported,
            "unchanged": self.unchanged,
            "compared": self.compared,
            "conflicts": [c.to_dict() for c in self.conflicts],
        }

    def note(self, write: Write) -> None:
        """Count one planned write."""
        self.versions_imported += sum(
            1 for _, info, _ in write.new_versions if info.get("src") != "merge"
        )
        if write.change == "tombstone":
            self.tombstones += 1
        elif write.change in ("added", "updated", "deleted", "undeleted"):
            getattr(self, write.change).append(write.name)


def merge_states(
    local: RecordState | None, other: RecordState, hasher: Hasher
) -> tuple[RecordState, list[Conflict]]:
    """Join ``other`` into ``local`` (None: the secret is new here)."""
    if local is None:
        return other, []
    return join(local, other, hasher)


def merge_vaults(
    local: Vault,
    other: Vault,
    *,
    dry_run: bool = False,
    source: str | None = None,
    other_device: str | None = None,
    record: bool = True,
) -> MergeReport:
    """Merge ``other`` (a copy of the same vault) into ``local``.

    With ``dry_run`` nothing is written and the report is the plan. Conflicts are
    recorded for review (:mod:`core.sync.conflicts`) unless ``record`` is False.
    Raises SyncError if ``other`` is not a copy of this vault.
    """
    if local.vault_id != other.vault_id:
        raise SyncError(
            "The other file is not a copy of this vault (different vault id)",
            hint="merge only joins copies of one vault; import other vaults instead",
        )
    hasher = hasher_for(local)
    src = source or f"merge:{Path(other.path).name}"
    report = MergeReport(source=src, dry_run=dry_run)
    other_dev = other_device or other.device_id
    tx = contextlib.nullcontext() if dry_run else local.transaction()
    numbers: dict[str, dict[str, int]] = {}
    pairs, report.unchanged = sync_diff(local, other.path)
    report.compared = len(pairs)
    with tx:
        purged = {bytes.fromhex(u) for u, _ in local.purged_since(0)}
        local_of = dict(pairs)
        local_raw = {r["uid"]: r for r in sync_read(local, [u for u in local_of.values() if u])}
        for batch in sync_read_iter(other, [o for o, _ in pairs]):
            for o in batch:
                pair_local = local_of.get(o["uid"])
                if pair_local is None:  # the name may have been created here meanwhile
                    now = local.record(o["name"], include_deleted=True)
                    if now is not None:
                        pair_local = bytes.fromhex(now.uid)
                        local_raw.update((r["uid"], r) for r in sync_read(local, [pair_local]))
                theirs = derive(o, hasher, other_dev)
                mine = (
                    derive(local_raw[pair_local], hasher, local.device_id)
                    if pair_local is not None and pair_local in local_raw
                    else None
                )
                if mine is None and theirs.deleted and o["uid"] in purged:
                    continue
                merged, conflicts = merge_states(mine, theirs, hasher)
                write = plan_write(mine, merged)
                report.conflicts.extend(conflicts)
                if write is None:
                    report.unchanged += 1
                    continue
                report.note(write)
                numbers[merged.uid] = write.numbers
                if not dry_run:
                    apply_write(local, write)
        if not dry_run and record and report.conflicts:
            record_conflicts(local, report.conflicts, numbers, src)
    return report


def sync_read_iter(
    vault: Vault, uids: list[bytes], size: int = 500
) -> Iterator[list[dict[str, Any]]]:
    """Read records in batches of ``size`` (bounded memory for big merges)."""
    for i in range(0, len(uids), size):
        yield sync_read(vault, uids[i : i + size])


def file_device(path: Path | str) -> str:
    """The device id merge uses for unstamped changes found in another file.

    A copy beside the vault would share the folder's ``device.id``, so the id is made
    from the file's own path instead (and opening it writes nothing next to it).
    """
    tag = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:12]
    return f"file-{tag}"


def merge_file(
    local: Vault,
    other_path: Path | str,
    *,
    dry_run: bool = False,
    record: bool = True,
    verify_other: bool = False,
) -> MergeReport:
    """Merge the vault file at ``other_path`` (a copy of ``local``) into ``local``.

    The other file is opened with this vault's key. Raises NotFoundError if it does not
    exist and SyncError if it is not a copy of this vault. With ``verify_other`` the other
    file is checked whole first (IntegrityError if damaged, half-written or truncated),
    for copies nobody vouches for, such as a file-sync service's conflict copies.
    """
    path = Path(other_path)
    if path.resolve() == Path(local.path).resolve():
        raise SyncError("Cannot merge a vault file with itself")
    try:
        other = Vault.open(
            path,
            KeySource.data_key(local.data_key_for_agent(), label="merge"),
            device_id=file_device(path),
        )
    except WrongKeyError:
        raise SyncError(
            f"{path.name} is not a copy of this vault (its key does not open it)",
            hint="merge only joins copies of one vault",
        ) from None
    try:
        if verify_other:
            other.verify()
        return merge_vaults(local, other, dry_run=dry_run, record=record)
    finally:
        other.close()
