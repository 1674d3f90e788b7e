"""Member key slots: the data key encrypted to a teammate's public key with age.

A member slot (kind ``age``) holds the vault's data key encrypted with pyrage (age) to
one recipient: an ``ssh-ed25519`` or ``ssh-rsa`` public key or an ``age1...`` key. Its
params hold the member's name, the recipient, its fingerprint and who added it when;
none of that is secret, and every field is bounded (the params come from a file).

Because only the recipient is needed to wrap, whoever holds the vault open can rewrap
every member slot under a new data key (a rekey) without the members' private keys.

A member opens the vault with their private key (``VAULTUI_IDENTITY``): an OpenSSH
private key WITHOUT a passphrase (pyrage cannot read passphrase-protected SSH keys;
``ssh-keygen -p -N '' -f COPY`` removes it from a copy) or an age identity file. No
public-key cryptography is written here: age does it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ConfigError, IntegrityError, KeyMissingError, ValidationError
from core.vault.slot_types import SLOT_AGE

__all__ = ["SLOT_AGE", "Recipient", "member_slot", "parse_recipient", "rewrap"]
MAX_MEMBER_NAME = 64
MAX_RECIPIENT_CHARS = 4096  # an ssh-rsa 16384-bit key is ~2,800 characters
MAX_WRAPPED_BYTES = 8192  # one age stanza for one recipient, plus the 32-byte key
MAX_PARAM_CHARS = 256  # added_at, added_by, fingerprint, label
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")
_SSH_KINDS = ("ssh-ed25519", "ssh-rsa")
_IDENTITY_HINT = (
    "VAULTUI_IDENTITY names an OpenSSH private key without a passphrase or an age "
    "identity file (AGE-SECRET-KEY-1...)"
)


@dataclass(frozen=True)
class Recipient:
    """A member's public key, checked: ``kind`` is ssh-ed25519, ssh-rsa or age;
    ``text`` is the key without any comment; ``fingerprint`` identifies it."""

    kind: str
    text: str
    fingerprint: str


def check_member_name(name: str) -> str:
    """``name`` if it is a usable member name (letters, digits, ``._@+-``, at most 64)."""
    if not isinstance(name, str) or len(name) > MAX_MEMBER_NAME or not _NAME.fullmatch(name):
        raise ValidationError(
            "A member name is 1 to 64 letters, digits or . _ @ + - (starting with a "
            "letter or digit)"
        )
    return name


def parse_recipient(text: str) -> Recipient:
    """Check a public key (an OpenSSH ``.pub`` line or an ``age1...`` recipient).

    The comment of an SSH key is dropped. Raises ValidationError for anything else.
    """
    import pyrage

    if not isinstance(text, str) or len(text) > MAX_RECIPIENT_CHARS:
        raise ValidationError(f"A public key has at most {MAX_RECIPIENT_CHARS} characters")
    fields = text.strip().split()
    if not fields:
        raise ValidationError("The public key is empty")
    if fields[0].startswith("age1") and len(fields) == 1:
        try:
            pyrage.x25519.Recipient.from_str(fields[0])
        except pyrage.RecipientError:
            raise ValidationError("Not an age recipient (age1...)") from None
        return Recipient("age", fields[0], fields[0])
    if fields[0] in _SSH_KINDS and len(fields) >= 2:
        key = f"{fields[0]} {fields[1]}"
        try:
            blob = base64.b64decode(fields[1], validate=True)
            pyrage.ssh.Recipient.from_str(key)
        except (ValueError, pyrage.RecipientError):
            raise ValidationError(f"Not a valid {fields[0]} public key") from None
        digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
        return Recipient(fields[0], key, f"SHA256:{digest}")
    raise ValidationError(
        "Not a supported public key: use an ssh-ed25519 or ssh-rsa public key "
        "(e.g. ~/.ssh/id_ed25519.pub) or an age recipient (age1...)"
    )


def _pyrage_recipient(rec: Recipient) -> Any:
    import pyrage

    if rec.kind == "age":
        return pyrage.x25519.Recipient.from_str(rec.text)
    return pyrage.ssh.Recipient.from_str(rec.text)


def wrap_for(recipient: Recipient, vault_id: bytes, data_key: bytes) -> bytes:
    """``data_key`` encrypted to ``recipient`` (age), bound to ``vault_id``: age has no
    associated data, so the vault id is encrypted with the key and checked on unwrap."""
    import pyrage

    try:
        return bytes(
            pyrage.encrypt(bytes(vault_id) + bytes(data_key), [_pyrage_recipient(recipient)])
        )
    except (pyrage.EncryptError, pyrage.RecipientError):
        raise ValidationError("Cannot encrypt to this public key") from None


def member_slot(
    vault_id: bytes, data_key: bytes, name: str, recipient: Recipient, added_at: str, added_by: str
) -> tuple[str, str, bytes]:
    """A new member slot: (kind, params_json, wrapped)."""
    params = {
        "label": f"member {check_member_name(name)}",
        "member": name,
        "recipient": recipient.text,
        "recipient_kind": recipient.kind,
        "fingerprint": recipient.fingerprint,
        "added_at": added_at[:MAX_PARAM_CHARS],
        "added_by": added_by[:MAX_PARAM_CHARS],
    }
    params_json = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return SLOT_AGE, params_json, wrap_for(recipient, vault_id, data_key)


def check_member_params(params: dict[str, Any], where: str = "a member key slot") -> Recipient:
    """The recipient of a stored member slot; IntegrityError if its params are malformed
    or oversized (they come from a file)."""
    if not isinstance(params, dict):
        raise IntegrityError(f"The parameters of {where} are malformed")
    for key in ("member", "recipient", "added_at", "added_by", "fingerprint", "label"):
        value = params.get(key, "")
        if not isinstance(value, str) or len(value) > MAX_RECIPIENT_CHARS:
            raise IntegrityError(f"The parameters of {where} are malformed")
    try:
        check_member_name(params["member"])
        return parse_recipient(params["recipient"])
    except (KeyError, ValidationError):
        raise IntegrityError(f"The parameters of {where} are malformed") from None


def rewrap(params: dict[str, Any], vault_id: bytes, data_key: bytes) -> tuple[str, str, bytes]:
    """The same member slot with ``data_key`` wrapped anew (a rekey): same params."""
    recipient = check_member_params(params)
    params_json = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return SLOT_AGE, params_json, wrap_for(recipient, vault_id, data_key)


# ------------------------------------------------------------------ identities


def read_identity(path: Path) -> bytes:
    """The bytes of an identity file (bounded); KeyMissingError if it cannot be read."""
    from core.input_limits import MAX_KEY_FILE_BYTES, read_bounded

    try:
        with open(path, "rb") as f:
            return read_bounded(f, MAX_KEY_FILE_BYTES, f"Identity {path}", _IDENTITY_HINT)
    except FileNotFoundError:
        raise KeyMissingError(f"VAULTUI_IDENTITY {path} does not exist") from None
    except OSError as exc:
        raise KeyMissingError(f"VAULTUI_IDENTITY {path} cannot be read: {exc.strerror}") from None


def identities(secret: bytes, label: str = "VAULTUI_IDENTITY") -> list[Any]:
    """pyrage identities in an identity file's bytes: an OpenSSH private key, or the
    ``AGE-SECRET-KEY-1`` lines of an age identity file. Errors never quote the file."""
    import pyrage

    if b"PRIVATE KEY-----" in secret:
        try:
            return [pyrage.ssh.Identity.from_buffer(secret)]
        except pyrage.IdentityError as exc:
            if "decrypted" in str(exc):
                raise ConfigError(
                    f"The SSH key of {label} is protected by a passphrase, which vaultui "
                    "cannot use",
                    hint="make an unprotected copy readable only by you "
                    "(cp KEY COPY && chmod 600 COPY && ssh-keygen -p -N '' -f COPY) or use "
                    "an age identity (age-keygen)",
                ) from None
            raise ConfigError(
                f"{label} is not a usable SSH private key", hint=_IDENTITY_HINT
            ) from None
    found = []
    for line in secret.splitlines():
        line = line.strip()
        if not line.startswith(b"AGE-SECRET-KEY-1"):
            continue
        try:
            found.append(pyrage.x25519.Identity.from_str(line.decode("ascii")))
        except (pyrage.IdentityError, UnicodeDecodeError):
            raise ConfigError(
                f"{label} holds a malformed age identity", hint=_IDENTITY_HINT
            ) from None
    if not found:
        raise ConfigError(f"{label} holds no private key", hint=_IDENTITY_HINT)
    return found


def unwrap_member(slot_wrapped: bytes, ids: list[Any], vault_id: bytes) -> bytes | None:
    """The data key in one member slot if one of ``ids`` opens it, else None;
    IntegrityError if it opens but was made for another vault."""
    import hmac

    import pyrage

    if len(slot_wrapped) > MAX_WRAPPED_BYTES:
        raise IntegrityError("A member key slot is oversized")
    try:
        key = bytes(pyrage.decrypt(bytes(slot_wrapped), ids))
    except pyrage.DecryptError:
        return None
    if len(key) != len(vault_id) + 32 or not hmac.compare_digest(key[: len(vault_id)], vault_id):
        raise IntegrityError("A member key slot holds no data key of this vault")
    return key[len(vault_id) :]


# ------------------------------------------------------------------ the vault's members


def members(vault: Any) -> list[dict[str, Any]]:
    """The vault's members: slot id, name, key kind, fingerprint, added when and by whom
    (no key material; the recipient itself is public)."""
    out = []
    for slot in _member_slots(vault):
        p = slot.params
        out.append(
            {
                "slot": slot.slot_id,
                "name": p.get("member", ""),
                "kind": p.get("recipient_kind", ""),
                "fingerprint": p.get("fingerprint", ""),
                "recipient": p.get("recipient", ""),
                "added_at": p.get("added_at", ""),
                "added_by": p.get("added_by", ""),
            }
        )
    return out


def _member_slots(vault: Any) -> list[Any]:
    from core.vault.engine import sql_errors
    from core.vault.slot_types import KeySlot

    engine = vault.engine
    with engine.lock, sql_errors("read key slots"):
        rows = engine.conn.execute(
            "SELECT id, kind, params FROM key_slots WHERE kind = ? ORDER BY id", (SLOT_AGE,)
        ).fetchall()
    slots = []
    for sid, kind, params in rows:
        try:
            parsed = json.loads(params)
        except ValueError:
            raise IntegrityError("A member key slot is malformed") from None
        check_member_params(parsed)
        slots.append(KeySlot(sid, kind, parsed, b""))
    return slots


def member_slot_id(vault: Any, name: str) -> int:
    """The key slot id of member ``name``; NotFoundError if there is none."""
    from core.errors import NotFoundError

    for slot in _member_slots(vault):
        if slot.params.get("member") == name:
            return int(slot.slot_id)
    raise NotFoundError(f"No member named {name!r}", hint="`vaultui --batch members list`")


def add_member_slot(
    vault: Any, name: str, recipient: Recipient, added_at: str, added_by: str
) -> int:
    """Add a member slot for ``recipient`` (the vault must be open); returns its id.

    Refused (ValidationError): a name or public key already a member's, or a vault
    already holding the most key slots a vault may have (32, every kind counted).
    """
    from core.vault.engine import write_header_mac
    from core.vault.kdf_bounds import MAX_KEY_SLOTS

    engine = vault.engine
    kind, params_json, wrapped = member_slot(
        vault.vault_id, engine.keys.data_key, name, recipient, added_at, added_by
    )
    with vault.transaction():
        for slot in _member_slots(vault):
            if slot.params.get("member") == name:
                raise ValidationError(f"{name!r} is already a member")
            if slot.params.get("recipient") == recipient.text:
                raise ValidationError(
                    f"This public key is already member {slot.params.get('member')!r}'s"
                )
        n = engine.conn.execute("SELECT count(*) FROM key_slots").fetchone()[0]
        if n >= MAX_KEY_SLOTS:
            raise ValidationError(
                f"A vault holds at most {MAX_KEY_SLOTS} key slots (members, passphrases and "
                "key files together): remove one first"
            )
        cur = engine.conn.execute(
            "INSERT INTO key_slots(kind, params, wrapped) VALUES (?, ?, ?)",
            (kind, params_json, wrapped),
        )
        write_header_mac(engine)
        return int(cur.lastrowid or 0)
