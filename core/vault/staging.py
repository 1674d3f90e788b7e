"""Staged rotation in the vault: a PENDING version beside CURRENT and PREVIOUS.

A mixin of ``Vault``. A rotation writes the new value as PENDING, then either
promotes it (PENDING becomes CURRENT, CURRENT becomes PREVIOUS, in one write) or
discards it; CURRENT stays readable throughout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import NotFoundError
from core.vault.codec import encode_value
from core.vault.engine import Engine
from core.vault.metadata import check_expected, history_entry
from core.vault.names import validate_name
from core.vault.records import SecretRecord, utcnow

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

STAGES = ("CURRENT", "PREVIOUS", "PENDING")


class StagedRotation:
    """The staged-rotation methods of ``Vault``."""

    engine: Engine

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[Any]: ...

    def stage_pending(
        self,
        name: str,
        value: object,
        *,
        who: str | None = None,
        why: str | None = None,
        source: str | None = None,
    ) -> int:
        """Write ``value`` as the PENDING version (replacing an older PENDING); returns it."""
        validate_name(name)
        encoded = encode_value(value)
        now = utcnow().timestamp()
        engine = self.engine
        with self.transaction():
            meta, row = engine.meta_and_row(name)
            if meta is None or meta.deleted:
                raise NotFoundError(f"Secret {name!r} does not exist")
            stages = dict(meta.stages or {})
            if "PENDING" in stages:
                engine.delete_version(meta.uid, stages["PENDING"])
            version = int(meta.max_version) + 1
            entry = history_entry(encoded, who, why, source, now, engine.device_id)
            engine.write_version(meta.uid, version, encoded, entry)
            stages["PENDING"] = version
            meta.stages, meta.max_version = stages, version
            engine.write_record(meta, row, name, is_new=False)
            return version

    def promote_pending(self, name: str, *, expected_version: int | None = None) -> SecretRecord:
        """PENDING becomes CURRENT and the old CURRENT becomes PREVIOUS, atomically."""
        validate_name(name)
        engine = self.engine
        with self.transaction():
            meta, row = engine.meta_and_row(name)
            if meta is None or meta.deleted:
                raise NotFoundError(f"Secret {name!r} does not exist")
            check_expected(name, meta, expected_version, None)
            stages = dict(meta.stages or {})
            if "PENDING" not in stages:
                raise NotFoundError(f"Secret {name!r} has no PENDING version")
            pending = stages.pop("PENDING")
            stages["PREVIOUS"] = meta.version
            info = engine.read_info(meta.uid, pending)
            meta.version = pending
            meta.stages = stages
            meta.updated = utcnow().timestamp()
            meta.type = info.get("t", meta.type)
            meta.size = info.get("s", 0)
            meta.device = engine.device_id
            return engine.write_record(meta, row, name, is_new=False)

    def discard_pending(self, name: str) -> None:
        """Remove a PENDING version (a failed rotation); CURRENT is untouched."""
        validate_name(name)
        engine = self.engine
        with self.transaction():
            meta, row = engine.meta_and_row(name)
            if meta is None:
                return
            stages = dict(meta.stages or {})
            if "PENDING" not in stages:
                return
            engine.delete_version(meta.uid, stages.pop("PENDING"))
            meta.stages = stages
            meta.max_version = max(meta.version, max(stages.values(), default=0))
            engine.write_record(meta, row, name, is_new=False)
