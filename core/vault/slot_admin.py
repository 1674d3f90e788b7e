"""Managing a vault's key slots: the ways to open it (passphrases, key files, keys).

A mixin of ``Vault``: adding, removing and rewrapping slots changes only the wrapped
data key, never a record; each change rewrites the header MAC in the same transaction.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from core.errors import NotFoundError, ValidationError, WrongKeyError
from core.vault.engine import Engine, sql_errors, write_header_mac
from core.vault.kdf_bounds import MAX_KEY_SLOTS
from core.vault.keys import Argon2Params, KeySlot, KeySource, make_slot, unwrap
from core.vault.opening import key_slot_rows

if TYPE_CHECKING:
    from contextlib import AbstractContextManager


class KeySlotAdmin:
    """The key slot methods of ``Vault``."""

    engine: Engine
    vault_id: bytes
    key_source: KeySource

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[Any]: ...

    def key_slots(self) -> list[dict[str, Any]]:
        """The key slots: id, kind and label (no key material)."""
        return [
            {"id": i, "kind": k, "label": json.loads(p).get("label", "")}
            for i, k, p, _w in key_slot_rows(self.engine)
        ]

    def wrapped_key_slots(self) -> list[tuple[str, str, bytes]]:
        """The key slots as stored: (kind, params JSON text, wrapped data key).

        Nothing here unlocks the vault without a passphrase or key file: a backup stores
        these so that it can be restored with only what unlocks the vault.
        """
        return [(k, p, bytes(w)) for _i, k, p, w in key_slot_rows(self.engine)]

    def add_key_slot(self, source: KeySource, *, kdf: Argon2Params | None = None) -> int:
        """Add a way to open the vault (another passphrase, a key file); returns slot id."""
        kind, params, wrapped = make_slot(self.vault_id, self.engine.keys.data_key, source, kdf)
        with self.transaction():
            conn = self.engine.conn
            n = conn.execute("SELECT count(*) FROM key_slots").fetchone()[0]
            if n >= MAX_KEY_SLOTS:
                raise ValidationError(
                    f"A vault holds at most {MAX_KEY_SLOTS} key slots: remove one first"
                )
            cur = conn.execute(
                "INSERT INTO key_slots(kind, params, wrapped) VALUES (?, ?, ?)",
                (kind, params, wrapped),
            )
            write_header_mac(self.engine)
            return int(cur.lastrowid or 0)

    def remove_key_slot(self, slot_id: int) -> None:
        """Remove a key slot; refuses to remove the last one."""
        with self.transaction():
            conn = self.engine.conn
            n = conn.execute("SELECT count(*) FROM key_slots").fetchone()[0]
            if n <= 1:
                raise ValidationError(
                    "Cannot remove the last key slot: the vault would be unopenable"
                )
            cur = conn.execute("DELETE FROM key_slots WHERE id = ?", (slot_id,))
            if cur.rowcount == 0:
                raise NotFoundError(f"No key slot {slot_id}")
            write_header_mac(self.engine)

    def change_passphrase(
        self, old: KeySource, new: KeySource, *, kdf: Argon2Params | None = None
    ) -> None:
        """Replace the slot that ``old`` opens with one for ``new``. Rewraps the data key only."""
        engine = self.engine
        with engine.lock:
            slots = [KeySlot(i, k, json.loads(p), w) for i, k, p, w in key_slot_rows(engine)]
            for slot in slots:
                if slot.kind != old.kind:
                    continue
                try:
                    unwrap(self.vault_id, [slot], old)
                except WrongKeyError:
                    continue
                kind, params, wrapped = make_slot(self.vault_id, engine.keys.data_key, new, kdf)
                with self.transaction(), sql_errors("change the passphrase"):
                    engine.conn.execute(
                        "UPDATE key_slots SET kind = ?, params = ?, wrapped = ? WHERE id = ?",
                        (kind, params, wrapped, slot.slot_id),
                    )
                    write_header_mac(engine)
                self.key_source = new
                return
            raise WrongKeyError("The current passphrase or key is wrong: nothing was changed")
