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
from core.vault.codec import compact_json
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
    with vault.transaction():
        m, row = vault._locked_meta(old)
        if m is None or m["_del"]:
            raise NotFoundError(f"Secret {old!r} not found")
        vault._check_expected(old, m, None, expected_rev)
        target, target_row = vault._locked_meta(new)
        erased = False
        if target is not None:
            if not target["_del"] and not replace:
                raise ConflictError(
                    f"Secret {new!r} already exists", hint="use --force to replace it"
                )
            vault._drop_row(target_row)
            erased = True
        assert row is not None
        uid = m["_uid"]
        nh = vault._name_hash(new)
        rev = m["_rev"] + 1
        seq = vault._next_seq()
        m["n"] = new
        m["dev"] = vault.device_id
        meta_ct = vault._keys.sealer.seal(
            compact_json([m.get(k) for k in vault.META_KEYS]),
            vault._meta_aad(uid, rev, seq, 0, nh),
        )
        name_ct = vault._keys.sealer.seal(new.encode(), vault._name_aad(uid, nh))
        rows = vault._keys.rows  # the record-set digest: old metadata out, new in
        vault._fold(rows.record(meta_ct) - rows.record(row[5]))
        vault._conn.execute(
            "UPDATE records SET name_hash = ?, name_ct = ?, rev = ?, seq = ?, meta = ? "
            "WHERE uid = ?",
            (nh, name_ct, rev, seq, meta_ct, uid),
        )
        m.update(_rev=rev, _seq=seq)
        return vault._to_record(m), erased
