"""Renaming a secret in place: the record keeps its uid, so every version, the history,
the stages, the rotation settings, tags and description move with it.

Values and history entries are bound (associated data) to the record uid and version,
not to the name, so a rename only re-seals the record row: a new name hash, the name
under the new name's associated data, and the metadata as a new revision with a new
change sequence (sync and incremental backup see it as a change of that record).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import ConflictError, NotFoundError, ValidationError
from core.vault.metadata import check_expected
from core.vault.names import validate_name

if TYPE_CHECKING:
    from core.vault.records import SecretRecord
    from core.vault.store import Vault


def rename(
    vault: Vault,
    old: str,
    new: str,
    *,
    replace: bool = False,
    expected_rev: int | None = None,
) -> tuple[SecretRecord, bool]:
    """Rename the live secret ``old`` to ``new`` in one transaction; returns the renamed
    record and whether a record under ``new`` was erased to make room.

    A live secret named ``new`` is a ConflictError unless ``replace`` (then it is
    erased with its history, leaving a purge marker, as ``purge`` does); a deleted one
    (a tombstone) is erased. ``expected_rev`` makes it a check-and-set on ``old``.
    NotFoundError if ``old`` is not a live secret; ValidationError if the names are equal.
    """
    validate_name(old)
    validate_name(new)
    if old == new:
        raise ValidationError("The old and the new name are the same")
    engine = vault.engine
    with vault.transaction():
        meta, row = engine.meta_and_row(old)
        if meta is None or meta.deleted:
            raise NotFoundError(f"Secret {old!r} not found")
        check_expected(old, meta, None, expected_rev)
        target, target_row = engine.meta_and_row(new)
        erased = False
        if target is not None:
            if not target.deleted and not replace:
                raise ConflictError(
                    f"Secret {new!r} already exists", hint="use --force to replace it"
                )
            assert target_row is not None  # a record's metadata comes with its row
            engine.drop_row(target_row)
            erased = True
        assert row is not None
        uid = meta.uid
        nh = engine.name_hash(new)
        rev = meta.rev + 1
        seq = engine.next_seq()
        meta.name = new
        meta.device = engine.device_id
        meta_ct = engine.keys.sealer.seal(meta.encode(), engine.aads.meta(uid, rev, seq, 0, nh))
        name_ct = engine.keys.sealer.seal(new.encode(), engine.aads.name(uid, nh))
        rows = engine.keys.rows  # the record-set digest: old metadata out, new in
        engine.fold(rows.record(meta_ct) - rows.record(row[5]))
        engine.conn.execute(
            "UPDATE records SET name_hash = ?, name_ct = ?, rev = ?, seq = ?, meta = ? "
            "WHERE uid = ?",
            (nh, name_ct, rev, seq, meta_ct, uid),
        )
        meta.rev, meta.seq = rev, seq
        return meta.to_record(), erased
