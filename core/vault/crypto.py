"""Cryptographic building blocks of the vault file.

AES-256-GCM with a random 96-bit nonce per encryption (stored as ``nonce || ciphertext``),
HKDF-SHA256 subkeys of the data key, one per purpose, and HMAC-SHA256 for name lookups
(the record-set digest is in ``digest.py``). Every decryption failure raises the same
:class:`~core.errors.IntegrityError` (no oracle), as Fernet does with ``InvalidToken``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import IntegrityError

KEY_BYTES = 32
NONCE_BYTES = 12


def random_key() -> bytes:
    """A fresh 256-bit key from the OS CSPRNG."""
    return os.urandom(KEY_BYTES)


def hkdf(key: bytes, info: bytes, salt: bytes | None = None, length: int = KEY_BYTES) -> bytes:
    """HKDF-SHA256 of ``key`` for one purpose (``info``)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(key)


def mac(key: bytes, *parts: bytes) -> bytes:
    """HMAC-SHA256 over the length-prefixed concatenation of ``parts``."""
    msg = b"".join(struct.pack(">I", len(p)) + p for p in parts)
    return hmac.digest(key, msg, hashlib.sha256)


def aad(*parts: bytes | int | str) -> bytes:
    """Associated data: an unambiguous encoding of the context a ciphertext belongs to."""
    out = bytearray()
    for part in parts:
        if isinstance(part, int):
            b = struct.pack(">q", part)
        elif isinstance(part, str):
            b = part.encode()
        else:
            b = bytes(part)
        out += struct.pack(">I", len(b)) + b
    return bytes(out)


class KeyedHash:
    """HMAC-SHA256 under one fixed key, with the key schedule done once.

    Gives exactly ``hmac.digest(key, msg, "sha256")`` (RFC 2104), in about 40% of its
    time: ``hmac.digest`` sets the key up again on every call, and the vault computes
    several of these per record it writes or looks up. ``hmac.new(...).copy()`` does the
    same precomputation but measured ~1.5x slower per call here, so this stays, held to
    RFC 4231's vectors and to :mod:`hmac` for keys of every length around the block size
    (``tests/vault/test_keyed_hash.py``).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __repr__(self) -> str:  # never show key material
        return "KeyedHash(<key>)"

    def __call__(self, msg: bytes) -> bytes:
        """HMAC-SHA256 of ``msg`` (32 bytes)."""
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class Sealer:
    """Encrypts and decrypts with one AES-256-GCM key, binding associated data."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def __repr__(self) -> str:  # never show key material
        return "Sealer(<key>)"

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        """Encrypt ``plaintext`` bound to ``associated``; returns nonce || ciphertext."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, associated)

    def seal_many(self, items: list[tuple[bytes, bytes]]) -> list[bytes]:
        """:meth:`seal` of many (plaintext, associated) pairs, one random read for all
        the nonces (a nonce per item, each 96 random bits, as in :meth:`seal`)."""
        pool = os.urandom(NONCE_BYTES * len(items))
        encrypt = self._aead.encrypt
        out = []
        for i, (plaintext, associated) in enumerate(items):
            nonce = pool[i * NONCE_BYTES : (i + 1) * NONCE_BYTES]
            out.append(nonce + encrypt(nonce, plaintext, associated))
        return out

    def open(self, blob: bytes, associated: bytes, what: str = "record") -> bytes:
        """Decrypt a :meth:`seal` output; any change to blob or context -> IntegrityError."""
        if not isinstance(blob, bytes) or len(blob) < NONCE_BYTES + 16:
            raise IntegrityError(f"Vault {what} is damaged (truncated ciphertext)")
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated)
        except InvalidTag:
            raise IntegrityError(
                f"Vault {what} failed authentication: it was modified, moved or replayed"
            ) from None

    def open_many(self, items: list[tuple[bytes, bytes]], what: str = "record") -> list[bytes]:
        """Decrypt many (blob, associated) pairs; the first failure raises IntegrityError."""
        decrypt = self._aead.decrypt
        try:
            return [decrypt(b[:NONCE_BYTES], b[NONCE_BYTES:], a) for b, a in items]
        except (InvalidTag, TypeError, ValueError):
            raise IntegrityError(
                f"Vault {what} failed authentication: it was modified, moved or replayed"
            ) from None
