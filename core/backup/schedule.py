"""Settings of the scheduled (daily) backup, kept sealed inside the vault file.

The rotation worker calls :meth:`core.backup.BackupManager.run_scheduled` on every
pass (hourly by default); it makes a backup when one is due and then applies the
retention. The settings live in the vault's sealed local state, so every process that
opens the vault (app, ``--batch``, worker) sees the same schedule.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from core.errors import ValidationError

SCHEDULE_KEY = "backup.schedule"
LAST_RUN_KEY = "backup.schedule.last"


@dataclass(frozen=True)
class Schedule:
    """When to back up and what to keep.

    ``interval_hours`` between scheduled backups (24 = daily); a full backup at least
    every ``full_every_days``, incrementals in between; then cleanup with ``keep_days``
    and ``keep_last``. ``offsite_dir``, when set, receives a copy of every scheduled
    backup (a mounted drive or a synced folder).
    """

    enabled: bool = False
    interval_hours: float = 24.0
    full_every_days: float = 7.0
    keep_days: float = 30.0
    keep_last: int = 7
    offsite_dir: str | None = None

    def validated(self) -> Schedule:
        """This schedule, or ValidationError if a number is out of range."""
        if self.interval_hours <= 0 or self.full_every_days < 0 or self.keep_days < 0:
            raise ValidationError("Backup schedule: intervals and ages must be positive")
        if self.keep_last < 1:
            raise ValidationError("Backup schedule: keep_last must be at least 1")
        return self

    def to_bytes(self) -> bytes:
        """Serialised for the vault's local state."""
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Schedule:
        """Parse what :meth:`to_bytes` wrote (defaults for anything missing)."""
        if not raw:
            return cls()
        try:
            data: dict[str, Any] = json.loads(raw)
        except ValueError:
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
