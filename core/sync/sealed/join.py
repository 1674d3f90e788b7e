"""A team member joins from nothing: rebuild the vault file from its sealed copy in a
provider with the member's own identity (``VAULTUI_IDENTITY``).

The sealed head carries the vault's key slots, member slots included, so a member's
private key finds the data key there just as a passphrase does for
:func:`~core.sync.sealed.bootstrap.bootstrap`. A member's key cannot create a slot of
its own (a member slot is wrapped to a public key by an owner), so the new file holds
exactly the member's slot as the head has it: the file opens with that identity and
nothing else, and the member's later syncs contribute no slot the head lacks.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from core.errors import ConfigError, NotFoundError, WrongKeyError
from core.sync.sealed.bootstrap import list_sealed_vaults
from core.sync.sealed.layout import object_text, parse_head, prefix_for
from core.vault import KeySource, Vault
from core.vault.crypto import random_key
from core.vault.engine import write_header_mac
from core.vault.keys import SLOT_AGE, SLOT_KEYFILE, KeySlot, unwrap


def _member_slot(
    vault_id: bytes, slots: list[tuple[str, str, bytes]], key_source: KeySource
) -> tuple[tuple[str, str, bytes], bytes] | None:
    """(the head's slot ``key_source`` opens, the data key), or None if it opens none."""
    for i, (kind, params, wrapped) in enumerate(slots):
        if kind != SLOT_AGE:
            continue
        try:
            key = unwrap(vault_id, [KeySlot(i, kind, json.loads(params), wrapped)], key_source)
        except WrongKeyError:
            continue
        return (kind, params, wrapped), key
    return None


def join_as_member(
    provider: Any, path: Path | str, key_source: KeySource, *, vault_id: str | None = None
) -> Vault:
    """Create the vault file at ``path`` from a sealed copy in ``provider``, opened with a
    member's identity (``key_source`` of kind age); returns it open.

    Follow with :func:`~core.sync.sealed.run.sync_sealed` to pull every record. The file
    appears complete or not at all, and never replaces an existing one (ConfigError).
    Raises NotFoundError when the provider holds no sealed vault, WrongKeyError when
    the identity is no member of any of them.
    """
    if key_source.kind != SLOT_AGE:
        raise ConfigError("Joining as a member needs a member identity (VAULTUI_IDENTITY)")
    path = Path(path)
    if path.exists():
        raise ConfigError(f"A vault already exists at {path}")
    ids = [vault_id] if vault_id else list_sealed_vaults(provider)
    if not ids:
        raise NotFoundError(
            "The provider holds no sealed vault",
            hint="an owner runs `vaultui --batch sync --provider NAME --sealed` first",
        )
    for vid in ids:
        got = provider.get(f"{prefix_for(vid)}/head")
        if got is None:
            continue
        raw_id = bytes.fromhex(vid)
        head = parse_head(object_text(got.value), raw_id)
        found = _member_slot(raw_id, head.slots, key_source)
        if found is None:
            continue
        slot, data_key = found
        _write_file(path, raw_id, data_key, slot)
        return Vault.open(path, key_source)
    raise WrongKeyError(
        f"The {key_source.label} is not the key of a member of any sealed vault in the provider",
        hint="ask an owner to add you (`vaultui --batch members add NAME --ssh-key FILE`) "
        "and to sync once afterwards",
    )


def _write_file(path: Path, vault_id: bytes, data_key: bytes, slot: tuple[str, str, bytes]) -> None:
    """Write the new file beside ``path`` holding only ``slot``, then link it in place.

    A vault file is created with a slot for its creating key; a member's identity
    cannot make one, so the file is created with a throwaway key that lives only in
    this process and whose slot is replaced by the member's before the file appears.
    """
    tmp = path.with_name(f".{path.name}.joining-{os.urandom(4).hex()}")
    throwaway = KeySource(SLOT_KEYFILE, random_key(), "joining")
    try:
        vault = Vault.create(tmp, throwaway, vault_id=vault_id, data_key=data_key)
        try:
            with vault.transaction():
                vault.engine.conn.execute("DELETE FROM key_slots")
                vault.engine.conn.execute(
                    "INSERT INTO key_slots(kind, params, wrapped) VALUES (?, ?, ?)", slot
                )
                write_header_mac(vault.engine)
        finally:
            vault.close()
        try:
            os.link(tmp, path)  # never replaces a vault another process just created
        except FileExistsError:
            raise ConfigError(f"A vault already exists at {path}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
