"""Key slots: how the random data key is wrapped by what the user holds.

A vault has one random 256-bit data key. Each key slot wraps it (AES-256-GCM, bound to
the vault id and the slot's parameters) under a key-encryption key derived from:

- a passphrase (or ``FEDZK_ENCRYPTION_MASTER_KEY``): Argon2id via argon2-cffi, with the
  parameters stored in the slot (default 64 MiB, t=3, p=4: above OWASP's minimum) and
  checked against the bounds of ``kdf_bounds`` before any derivation;
- a key file: HKDF-SHA256 over the file's bytes (a key file should hold >= 32 random
  bytes; vaultui makes one with 32).

Changing a passphrase rewraps the data key; no record is re-encrypted.
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigError, IntegrityError, KeyMissingError, WrongKeyError
from core.input_limits import MAX_KEY_FILE_BYTES, read_bounded
from core.private_file import write_private
from core.vault.crypto import Sealer, aad, hkdf, random_key
from core.vault.kdf_bounds import check_argon2, check_salt, check_slot_count
from core.vault.slot_types import SLOT_AGE as SLOT_AGE
from core.vault.slot_types import SLOT_KEYFILE as SLOT_KEYFILE
from core.vault.slot_types import SLOT_PASSPHRASE as SLOT_PASSPHRASE
from core.vault.slot_types import KeySlot as KeySlot

_KEY_FILE_HINT = "make a key file with: head -c 32 /dev/urandom > FILE (chmod 600 FILE)"


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters (memory in KiB)."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4

    @classmethod
    def fast(cls) -> Argon2Params:
        """Cheap parameters for tests and throwaway demo vaults. Never for real data."""
        return cls(time_cost=1, memory_kib=1024, parallelism=1)

    def to_dict(self) -> dict[str, int]:
        return {"t": self.time_cost, "m": self.memory_kib, "p": self.parallelism}

    @classmethod
    def from_dict(cls, d: object, *, where: str = "a key slot") -> Argon2Params:
        """Parameters read from a file: KdfBoundsError (before any derivation) when they
        are outside the bounds of ``kdf_bounds``, IntegrityError when malformed."""
        if not isinstance(d, dict) or not {"t", "m", "p"} <= d.keys():
            raise IntegrityError(f"The Argon2 parameters in {where} are malformed")
        t, m, p = check_argon2(d["t"], d["m"], d["p"], where=where)
        return cls(time_cost=t, memory_kib=m, parallelism=p)


def argon2id(secret: bytes, salt: bytes, params: Argon2Params) -> bytes:
    """Derive a 32-byte key from ``secret`` with Argon2id."""
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(
        secret=secret,
        salt=salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
    )


@dataclass(frozen=True)
class KeySource:
    """What the user holds to open a vault: a passphrase, a key file, or a raw data key.

    ``kind`` is 'passphrase' (also used for FEDZK_ENCRYPTION_MASTER_KEY), 'keyfile' or
    'data_key' (a data key already in this process: the unlock agent's own, which it
    never hands out, or a merge's). ``label`` says where it
    came from, for ``get_status()['key_source']``. The secret material is never shown in
    ``repr``.
    """

    kind: str
    secret: bytes = field(repr=False)
    label: str = ""
    auto_generated: bool = False
    kdf: Argon2Params | None = None

    @classmethod
    def passphrase(cls, passphrase: str, label: str = "passphrase") -> KeySource:
        """A passphrase typed by the user or read from VAULTUI_PASSPHRASE_FILE."""
        if not passphrase:
            raise WrongKeyError("An empty passphrase cannot open or protect a vault")
        return cls(SLOT_PASSPHRASE, passphrase.encode("utf-8"), label)

    @classmethod
    def master_key(cls, value: str) -> KeySource:
        """The seed's FEDZK_ENCRYPTION_MASTER_KEY (treated like a passphrase: Argon2id)."""
        return cls.passphrase(value, label="FEDZK_ENCRYPTION_MASTER_KEY")

    @classmethod
    def from_key_file(cls, path: Path, *, auto_generated: bool = False) -> KeySource:
        """A key file's bytes (any file; vaultui's own hold 32 random bytes, base64)."""
        try:
            with open(path, "rb") as f:
                data = read_bounded(f, MAX_KEY_FILE_BYTES, f"Key file {path}", _KEY_FILE_HINT)
        except FileNotFoundError:
            raise KeyMissingError(f"Key file {path} does not exist") from None
        except OSError as exc:
            raise KeyMissingError(f"Key file {path} cannot be read: {exc.strerror}") from None
        if len(data) < 16:
            raise ConfigError(
                f"Key file {path} is too short to be a key (< 16 bytes)", hint=_KEY_FILE_HINT
            )
        return cls(SLOT_KEYFILE, data, f"key file {path}", auto_generated=auto_generated)

    @classmethod
    def identity(cls, path: Path) -> KeySource:
        """A member's private key file (VAULTUI_IDENTITY): an OpenSSH key without a
        passphrase or an age identity; it opens the member slot of its public key."""
        from core.vault.members import identities, read_identity

        label = f"VAULTUI_IDENTITY {path}"
        data = read_identity(path)
        identities(data, label)  # refuse an unusable file here, with its own message
        return cls(SLOT_AGE, data, label)

    @classmethod
    def data_key(cls, key: bytes, label: str = "unlock agent") -> KeySource:
        """A raw data key held by this process (the unlock agent opening its vault)."""
        return cls("data_key", bytes(key), label)


def write_new_key_file(path: Path) -> Path:
    """Create a key file with 32 random bytes (base64), mode 0600, never overwriting."""
    # exclusive, no-follow and complete-or-absent, like every file holding a secret
    write_private(path, base64.b64encode(random_key()) + b"\n")
    return path


def _slot_salt(params: dict[str, Any], where: str) -> bytes:
    try:
        salt = base64.b64decode(params["salt"], validate=True)
    except (KeyError, TypeError, ValueError):
        raise IntegrityError(f"The salt of {where} is malformed") from None
    return check_salt(salt, where=where)


def check_slot(kind: str, params: dict[str, Any], where: str = "a key slot") -> None:
    """Raise KdfBoundsError/IntegrityError if a stored slot's derivation parameters are
    out of bounds or malformed. Costs nothing: call before any derivation."""
    if not isinstance(params, dict):
        raise IntegrityError(f"The parameters of {where} are malformed")
    if kind == SLOT_AGE:
        from core.vault.members import check_member_params

        check_member_params(params, where)
        return
    _slot_salt(params, where)
    if kind == SLOT_PASSPHRASE:
        Argon2Params.from_dict(params.get("argon2"), where=where)


def _kek(source_secret: bytes, kind: str, params: dict[str, Any]) -> bytes:
    salt = _slot_salt(params, "a key slot")
    if kind == SLOT_PASSPHRASE:
        return argon2id(source_secret, salt, Argon2Params.from_dict(params.get("argon2")))
    if kind == SLOT_KEYFILE:
        return hkdf(source_secret, b"vaultui/keyfile-slot", salt=salt)
    raise IntegrityError(f"Unknown key slot kind {kind!r}")


def _slot_aad(vault_id: bytes, kind: str, params_json: str) -> bytes:
    return aad(b"vaultui/slot", vault_id, kind, params_json)


def weak_key_file(data: bytes) -> str | None:
    """Why a key file's content is obviously guessable, or None.

    Refused: fewer distinct byte values than a quarter of its length (capped at 12:
    all one byte, ``abab...``, a word repeated), or text that compresses to less than
    half its size (a pattern repeated). 32 random bytes, their base64 or hex pass.
    """
    body = data.rstrip(b"\r\n")
    distinct = len(set(body))
    if distinct < min(12, len(body) // 4):
        return f"it has only {distinct} different byte value(s)"
    if len(body) >= 32 and len(zlib.compress(body, 9)) < len(body) // 2:
        return "it repeats a short pattern"
    return None


def make_slot(
    vault_id: bytes, data_key: bytes, source: KeySource, kdf: Argon2Params | None = None
) -> tuple[str, str, bytes]:
    """Wrap ``data_key`` for ``source``; returns (kind, params_json, wrapped).

    A key file that :func:`weak_key_file` finds guessable is refused (ConfigError) here,
    where a vault or slot is created; opening an existing vault with it still works.
    """
    if source.kind in ("data_key", SLOT_AGE):
        raise ConfigError(f"A {source.kind} source cannot be stored as a key slot")
    if source.kind == SLOT_KEYFILE and (why := weak_key_file(source.secret)) is not None:
        raise ConfigError(
            f"The {source.label} is too weak to protect a vault: {why}", hint=_KEY_FILE_HINT
        )
    params: dict[str, Any] = {
        "salt": base64.b64encode(os.urandom(16)).decode(),
        "label": source.label,
    }
    if source.kind == SLOT_PASSPHRASE:
        params["argon2"] = (kdf or source.kdf or Argon2Params()).to_dict()
        # never write a slot that an open would refuse
        Argon2Params.from_dict(params["argon2"], where="the new key slot")
    params_json = json.dumps(params, sort_keys=True, separators=(",", ":"))
    kek = _kek(source.secret, source.kind, params)
    wrapped = Sealer(kek).seal(data_key, _slot_aad(vault_id, source.kind, params_json))
    return source.kind, params_json, wrapped


def unwrap(vault_id: bytes, slots: list[KeySlot], source: KeySource) -> bytes:
    """Return the data key from the first slot ``source`` opens, or raise WrongKeyError.

    The slots come from a file (a vault, a backup head, a sealed-sync head): their count
    and every candidate's derivation parameters are checked against ``kdf_bounds``
    before the first derivation (KdfBoundsError).
    """
    check_slot_count(len(slots), where="The file")
    candidates = [s for s in slots if s.kind == source.kind]
    for slot in candidates:
        check_slot(slot.kind, slot.params)
    if not candidates:
        kinds = sorted({s.kind for s in slots}) or ["none"]
        raise WrongKeyError(
            f"This vault cannot be opened with a {source.kind}; it has key slots for: "
            + ", ".join(kinds)
        )
    if source.kind == SLOT_AGE:
        from core.vault.members import identities, unwrap_member

        ids = identities(source.secret, source.label)
        for slot in candidates:
            key = unwrap_member(slot.wrapped, ids, vault_id)
            if key is not None:
                return key
        raise WrongKeyError(
            f"The {source.label} is not the key of any member of this vault",
            hint="`vaultui --batch members list` (run by a member) shows the members' "
            "key fingerprints",
        )
    for slot in candidates:
        kek = _kek(source.secret, slot.kind, slot.params)
        try:
            return Sealer(kek).open(
                slot.wrapped, _slot_aad(vault_id, slot.kind, slot.params_json())
            )
        except IntegrityError:
            continue
    what = "passphrase or master key" if source.kind == SLOT_PASSPHRASE else "key file"
    raise WrongKeyError(f"Wrong {what}: it does not open this vault ({source.label})")
