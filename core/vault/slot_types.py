"""The kinds of key slot and a slot as stored: shared by the slot crypto (``keys.py``)
and the member slots (``members.py``) without either importing the other's module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SLOT_PASSPHRASE = "passphrase"  # noqa: S105 - a slot kind, not a password
SLOT_KEYFILE = "keyfile"
SLOT_AGE = "age"  # a member's public key (members.py)


@dataclass(frozen=True)
class KeySlot:
    """One stored slot: its kind, public parameters (salt, KDF costs) and wrapped key."""

    slot_id: int
    kind: str
    params: dict[str, Any]
    wrapped: bytes = field(repr=False)
    label: str = ""

    def params_json(self) -> str:
        return json.dumps(self.params, sort_keys=True, separators=(",", ":"))
