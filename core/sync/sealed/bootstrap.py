"""A new machine: rebuild a vault file from its sealed copy in a provider.

The head's key slots hold the data key wrapped by the passphrase or key file exactly
as in the vault file, so the same passphrase (or key file) and the provider settings
are all a new machine needs; :func:`~core.sync.sealed.run.sync_sealed` then pulls
every record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import IntegrityError, NotFoundError, WrongKeyError
from core.sync.sealed.layout import DIRECTORY, object_text, parse_head, prefix_for
from core.vault import Argon2Params, KeySource, Vault
from core.vault.keys import KeySlot, unwrap


def list_sealed_vaults(provider: Any) -> list[str]:
    """Ids (hex) of the sealed vaults stored in ``provider``."""
    got = provider.get(DIRECTORY)
    if got is None:
        return []
    try:
        return [str(v) for v in json.loads(object_text(got.value)).get("vaults", [])]
    except (ValueError, AttributeError):
        raise IntegrityError("The provider's sealed-vault directory is malformed") from None


def bootstrap(
    provider: Any,
    path: Path | str,
    key_source: KeySource,
    *,
    vault_id: str | None = None,
    kdf: Argon2Params | None = None,
) -> Vault:
    """Create the vault file at ``path`` from a sealed copy in ``provider``.

    The data key is unwrapped from the head's key slots with ``key_source`` (the same
    passphrase or key file as on the other machines); the new file gets one slot for
    ``key_source``. Follow with :func:`~core.sync.sealed.run.sync_sealed` to pull every
    record. Raises NotFoundError when the provider holds no sealed vault, WrongKeyError
    when the key opens none of them.
    """
    ids = [vault_id] if vault_id else list_sealed_vaults(provider)
    if not ids:
        raise NotFoundError(
            "The provider holds no sealed vault",
            hint="run `vaultui --batch sync --provider NAME --sealed` on a machine that has it",
        )
    for vid in ids:
        got = provider.get(f"{prefix_for(vid)}/head")
        if got is None:
            continue
        head = parse_head(object_text(got.value), bytes.fromhex(vid))
        slots = [KeySlot(i, k, json.loads(p), w) for i, (k, p, w) in enumerate(head.slots)]
        try:
            data_key = unwrap(bytes.fromhex(vid), slots, key_source)
        except WrongKeyError:
            continue
        return Vault.create(
            path, key_source, kdf=kdf, vault_id=bytes.fromhex(vid), data_key=data_key
        )
    raise WrongKeyError("The passphrase or key opens none of the sealed vaults in the provider")
