"""A record's metadata: named fields in code, a compact JSON array on disk.

Each record row holds its metadata sealed as a JSON array of 14 values in the order of
:data:`META_KEYS` (parsing an array is about twice as fast as an object, which matters
when listing 100,000 records). Everything that reads or changes metadata works on a
:class:`Metadata` with real field names; only :meth:`Metadata.from_array`,
:meth:`Metadata.to_array` and :func:`record_from_array` know the array's order, so the
bytes on disk stay exactly what older versions wrote and read.
"""

from __future__ import annotations

import json
import json.scanner
import os
from dataclasses import dataclass
from typing import Any

from core.controlchars import check_label, check_tags
from core.errors import ConflictError, IntegrityError, ValidationError
from core.vault.codec import compact_json, type_of_encoded
from core.vault.records import SecretRecord

# The on-disk order of the metadata array, by short key: name, type, description, tags,
# created, updated, deleted, version, max version, size, stages, rotation, extra, device.
META_KEYS = ("n", "t", "d", "g", "c", "u", "x", "v", "mv", "s", "st", "r", "e", "dev")
# Positions in that array, for code that reads stored arrays in bulk without building a
# Metadata for each (restores of 100,000 records).
(
    META_NAME,
    META_TYPE,
    META_DESCRIPTION,
    META_TAGS,
    META_CREATED,
    META_UPDATED,
    META_DELETED_AT,
    META_VERSION,
    META_MAX_VERSION,
    META_SIZE,
    META_STAGES,
    META_ROTATION,
    META_EXTRA,
    META_DEVICE,
) = range(len(META_KEYS))
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed: Python class


def decode_array(plain: bytes) -> list[Any]:
    """The metadata array of a decrypted metadata blob; IntegrityError if malformed."""
    try:
        data = _SCAN(plain.decode(), 0)[0]
    except (ValueError, StopIteration, UnicodeDecodeError):
        data = None
    if not isinstance(data, list) or len(data) != len(META_KEYS):
        raise IntegrityError("A vault record holds malformed metadata")
    return data


@dataclass(slots=True)
class Metadata:
    """What the vault stores about one record besides its values and history.

    ``uid``, ``rev``, ``seq`` and ``deleted`` come from the record's row (they are bound
    to the ciphertext as associated data); the other fields are the sealed metadata.
    A field never set is None and is stored as ``null``, exactly as read.
    """

    uid: bytes
    rev: int
    seq: int
    deleted: bool
    name: Any = None
    type: Any = None
    description: Any = None
    tags: Any = None
    created: Any = None
    updated: Any = None
    deleted_at: Any = None
    version: Any = None
    max_version: Any = None
    size: Any = None
    stages: Any = None
    rotation: Any = None
    extra: Any = None
    device: Any = None

    def __repr__(self) -> str:  # labels may be sensitive: show the row only
        return f"Metadata(uid={bytes(self.uid).hex()}, rev={self.rev}, deleted={self.deleted})"

    @classmethod
    def new(cls, name: str, created: float) -> Metadata:
        """Metadata of a record about to get its first version (a fresh random uid)."""
        return cls(os.urandom(16), 0, 0, False, name=name, created=created, max_version=0)

    @classmethod
    def from_array(
        cls, array: list[Any], uid: bytes, rev: int, seq: int, deleted: bool | int
    ) -> Metadata:
        """Metadata from its stored array (see :func:`decode_array`) and its row."""
        if not isinstance(array, list) or len(array) != len(META_KEYS):
            raise IntegrityError("A vault record holds malformed metadata")
        return cls(bytes(uid), rev, seq, bool(deleted), *array)

    def to_array(self) -> list[Any]:
        """The stored array, in :data:`META_KEYS` order."""
        return [
            self.name,
            self.type,
            self.description,
            self.tags,
            self.created,
            self.updated,
            self.deleted_at,
            self.version,
            self.max_version,
            self.size,
            self.stages,
            self.rotation,
            self.extra,
            self.device,
        ]

    def encode(self) -> bytes:
        """The plaintext that is sealed into the record row."""
        return compact_json(self.to_array())

    def to_record(self) -> SecretRecord:
        """The public view of this record; IntegrityError if a field has a wrong type."""
        try:
            return SecretRecord(
                self.name,
                bytes(self.uid).hex(),
                self.rev,
                self.version,
                self.seq,
                bool(self.deleted),
                self.type,
                self.description or "",
                self.tags or {},
                self.created,
                self.updated,
                self.deleted_at,
                self.rotation or {},
                self.extra or {},
                self.stages or {},
                self.size or 0,
                self.max_version or self.version,
                self.device or "",
            )
        except (TypeError, ValueError, AttributeError):
            raise IntegrityError("A vault record holds malformed metadata") from None

    def set_fields(
        self,
        description: str | None,
        tags: dict[str, str] | None,
        rotation: dict[str, Any] | None,
        extra: dict[str, Any] | None,
    ) -> None:
        """Set the given labels (None leaves a field as it is), checked for control
        characters."""
        if description is not None:
            self.description = check_label(str(description), "description")
        if tags is not None:
            self.tags = check_tags(tags)
        if rotation is not None:
            self.rotation = rotation
        if extra is not None:
            self.extra = extra

    def advance(
        self,
        is_new: bool,
        encoded: bytes,
        now: float,
        device: str,
        *,
        description: str | None,
        tags: dict[str, str] | None,
        rotation: dict[str, Any] | None,
        extra: dict[str, Any] | None,
    ) -> int:
        """Update this metadata in place for a new version of ``encoded``; its number.

        The one place that says what a put does to a record (``Vault.put`` and the
        batched puts both use it).
        """
        previous = None if is_new else self.version
        version = int(self.max_version or 0) + 1
        self.version = self.max_version = version
        self.type = type_of_encoded(encoded)
        self.size = len(encoded) - 1
        self.updated = now
        self.device = device
        self.deleted = False
        self.deleted_at = None
        self.set_fields(description, tags, rotation, extra)
        if is_new and self.description is None:
            self.description = ""
        stages = dict(self.stages or {})
        if previous:
            stages["PREVIOUS"] = previous
        self.stages = stages
        return version


def record_from_array(array: list[Any], row: tuple[Any, ...]) -> SecretRecord:
    """A :class:`SecretRecord` straight from a stored array and its row
    ``(uid, name hash, rev, seq, deleted, ...)``: the listing hot path, which skips
    :class:`Metadata` (about a third of the time of listing 100,000 records)."""
    (
        name,
        type_,
        description,
        tags,
        created,
        updated,
        deleted_at,
        version,
        max_version,
        size,
        stages,
        rotation,
        extra,
        device,
    ) = array
    try:
        return SecretRecord(
            name,
            row[0].hex(),
            row[2],
            version,
            row[3],
            bool(row[4]),
            type_,
            description,
            tags or {},
            created,
            updated,
            deleted_at,
            rotation or {},
            extra or {},
            stages or {},
            size,
            max_version,
            device,
        )
    except (TypeError, AttributeError):
        raise IntegrityError("A vault record holds malformed metadata") from None


def check_expected(
    name: str, meta: Metadata | None, expected_version: int | None, expected_rev: int | None
) -> None:
    """Check-and-set: ConflictError unless the record is at the version (0: absent or
    deleted) and the revision (0: absent) the caller read."""
    if expected_version is not None:
        current = 0 if meta is None or meta.deleted else meta.version
        if current != expected_version:
            raise ConflictError(
                f"Secret {name!r} is at version {current}, not {expected_version}: "
                "it changed since you read it"
            )
    if expected_rev is not None:
        current = 0 if meta is None else meta.rev
        if current != expected_rev:
            raise ConflictError(f"Secret {name!r} changed since you read it")


def history_entry(
    encoded: bytes,
    who: str | None,
    why: str | None,
    source: str | None,
    at: float,
    device: str,
) -> dict[str, Any]:
    """The history entry (who/when/why) stored beside a new version of ``encoded``."""
    return {
        "at": at,
        "who": who or "",
        "why": why or "",
        "src": source or "",
        "dev": device,
        "t": type_of_encoded(encoded),
        "s": len(encoded) - 1,
    }


def clean_tags(tags: dict[str, str] | list[str] | None) -> dict[str, str] | None:
    """Tags as a dict of str -> str (a list of labels becomes labels with no value)."""
    if tags is None:
        return None
    if isinstance(tags, list | tuple | set):
        return {str(t): "" for t in tags}
    if not isinstance(tags, dict):
        raise ValidationError("Tags must be a dict of key -> value (or a list of labels)")
    return {str(k): "" if v is None else str(v) for k, v in tags.items()}
