"""Purpose keys that stay the same when the data key is replaced (``rekey``).

Most subkeys of the data key should change with it: records, names, backups and
sealed sync objects made after a rekey must be unreadable with the old key. Two must
not, because what they protect lives outside the vault file and was written under the
old key:

- ``audit``: the HMAC chain of ``logs/secrets_audit.log``. A new audit key would make
  ``audit verify`` report every earlier line as written with another key.
- ``sync/fingerprint``: the keyed hashes of values stored in records' sync clocks; a
  new key would make every record look changed to the next merge.

A rekey stores these keys, sealed under the NEW data key, in the header row
``carried`` (covered by the header MAC); :func:`carried_key` reads them back.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from core.errors import IntegrityError
from core.vault.crypto import aad

if TYPE_CHECKING:
    from core.vault.store import Vault

CARRIED_PURPOSES = ("audit", "sync/fingerprint")
HEADER_KEY = "carried"


def _aad(vault: Vault) -> bytes:
    return aad(b"vaultui/carried", vault.vault_id)


def carried_key(vault: Vault, purpose: str) -> bytes | None:
    """The key a rekey carried over for ``purpose``, or None (derive it as usual)."""
    if purpose not in CARRIED_PURPOSES:
        return None
    sql = "SELECT value FROM header WHERE key = ?"
    row = vault.engine.conn.execute(sql, (HEADER_KEY,)).fetchone()
    if row is None:
        return None
    plain = vault.engine.keys.sealer.open(bytes(row[0]), _aad(vault), "carried keys")
    try:
        value = json.loads(plain)[purpose]
        return bytes.fromhex(value)
    except (ValueError, KeyError, TypeError):
        raise IntegrityError("The vault's carried keys are malformed") from None


def seal_carried(vault: Vault, keys: dict[str, bytes]) -> bytes:
    """The ``carried`` header value for ``keys`` under the vault's current data key."""
    plain = json.dumps({p: k.hex() for p, k in sorted(keys.items())}).encode()
    return vault.engine.keys.sealer.seal(plain, _aad(vault))
