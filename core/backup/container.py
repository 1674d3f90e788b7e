"""The backup file container (format ``vaultui-backup/1``): one self-contained file.

Layout (all integers big-endian)::

    magic      8   89 56 42 4B 0D 0A 1A 0A   ("\\x89VBK\\r\\n\\x1a\\n", PNG-style)
    version    2   1
    mask seed 16   random
    head len   4   H
    head       H   masked: vault id (16), backup id (16), key salt (16), key slots
    manifest   4+M AES-256-GCM(enc key, manifest JSON), bound to SHA-256 of all bytes above
    body       8+B AES-256-GCM(enc key, zlib(body)), bound to the same hash
    mac       32   HMAC-SHA256(mac key, every byte before it)

Keys: ``root = vault.derive_key('backup')`` (a subkey of the vault's data key), then
``enc/mac = HKDF(root, salt=key salt)``. So a backup opens with the vault's key or
passphrase and nothing else. The key slots are the vault's own rows (the data key
wrapped by the passphrase or key file, never the bare key), so a backup alone plus the
passphrase rebuilds the vault on a new machine. They are public by design (the vault
file stores them the same way); the head is masked with SHAKE-256 of the seed only so
that labels and paths do not show up in ``strings`` -- a mask, not encryption.

The MAC covers the whole file: any changed, added or removed byte, anywhere, makes
:func:`open_file` raise ``BackupIntegrityError`` ("Backup integrity check failed: ...").
:func:`read_manifest` reads only the head and the manifest (authenticated by AES-GCM),
which is what listing needs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import BackupError, BackupIntegrityError, NotFoundError
from core.vault.crypto import hkdf
from core.vault.kdf_bounds import MAX_KEY_SLOTS

MAGIC = b"\x89VBK\r\n\x1a\n"
FORMAT_VERSION = 1
FORMAT = "vaultui-backup/1"
EXTENSION = ".vbak"
MAC_BYTES = 32
_NONCE = 12
_PREFIX = struct.Struct(">8sH16sI")  # magic, version, mask seed, head length
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_MAX_HEAD = 1 << 20
_MAX_MANIFEST = 16 << 20


@dataclass(frozen=True)
class KeySlotRow:
    """A vault key slot as stored: kind, parameters (exact JSON text), wrapped data key."""

    kind: str
    params: str
    wrapped: bytes = field(repr=False)


@dataclass(frozen=True)
class Head:
    """The public head of a backup file."""

    vault_id: bytes
    backup_id: bytes
    salt: bytes
    slots: tuple[KeySlotRow, ...]


@dataclass(frozen=True)
class Opened:
    """A backup file whose MAC checked out: its head, manifest and (compressed) body."""

    head: Head
    manifest: dict[str, Any]
    body: bytes = field(repr=False)


class BackupKeys:
    """The per-file keys, derived from the vault's backup subkey and the file's salt."""

    __slots__ = ("enc", "mac")

    def __init__(self, root: bytes, salt: bytes) -> None:
        self.enc = AESGCM(hkdf(root, b"vaultui/backup/enc", salt=salt))
        self.mac = hkdf(root, b"vaultui/backup/mac", salt=salt)

    def __repr__(self) -> str:
        return "BackupKeys(<hidden>)"


def _fail(name: str, what: str) -> BackupIntegrityError:
    return BackupIntegrityError(f"Backup integrity check failed: {name}: {what}")


def _mask(seed: bytes, data: bytes) -> bytes:
    stream = hashlib.shake_256(b"vaultui/backup/head-mask" + seed).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def _encode_head(head: Head) -> bytes:
    parts = [head.vault_id, head.backup_id, head.salt, _U32.pack(len(head.slots))]
    for slot in head.slots:
        for item in (slot.kind.encode(), slot.params.encode(), slot.wrapped):
            parts += [_U32.pack(len(item)), item]
    return b"".join(parts)


def _decode_head(raw: bytes, name: str) -> Head:
    try:
        vault_id, backup_id, salt = raw[:16], raw[16:32], raw[32:48]
        (count,) = _U32.unpack_from(raw, 48)
        if count > MAX_KEY_SLOTS:  # each slot may cost a key derivation: refuse early
            raise _fail(name, f"its header lists more than {MAX_KEY_SLOTS} key slots")
        pos = 52
        slots = []
        for _ in range(count):
            items = []
            for _ in range(3):
                (size,) = _U32.unpack_from(raw, pos)
                pos += 4
                if pos + size > len(raw):
                    raise ValueError("short")
                items.append(raw[pos : pos + size])
                pos += size
            slots.append(KeySlotRow(items[0].decode(), items[1].decode(), bytes(items[2])))
        if pos != len(raw) or len(salt) != 16:
            raise ValueError("trailing")
    except (struct.error, ValueError, UnicodeDecodeError):
        raise _fail(name, "its header is damaged") from None
    return Head(bytes(vault_id), bytes(backup_id), bytes(salt), tuple(slots))


def build_file(
    head: Head, root: bytes, manifest: dict[str, Any], body_plain: bytes | list[bytes]
) -> list[bytes]:
    """Assemble a backup file; returns its chunks in order (written by the caller).

    ``manifest`` gains the body checksums and sizes. ``body_plain`` is compressed here.
    """
    seed = os.urandom(16)
    head_raw = _mask(seed, _encode_head(head))
    prefix = _PREFIX.pack(MAGIC, FORMAT_VERSION, seed, len(head_raw)) + head_raw
    bound = hashlib.sha256(prefix).digest()
    keys = BackupKeys(root, head.salt)
    plain = body_plain if isinstance(body_plain, bytes) else b"".join(body_plain)
    packed = zlib.compress(plain, 1)
    nonce = os.urandom(_NONCE)
    body_ct = nonce + keys.enc.encrypt(nonce, packed, b"vaultui/backup/body" + bound)
    manifest = dict(manifest)
    manifest["body"] = {
        "compression": "zlib",
        "plain_bytes": len(plain),
        "plain_sha256": hashlib.sha256(plain).hexdigest(),
        "stored_bytes": len(body_ct),
        "sha256": hashlib.sha256(body_ct).hexdigest(),
    }
    man_plain = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
    nonce = os.urandom(_NONCE)
    man_ct = nonce + keys.enc.encrypt(nonce, man_plain, b"vaultui/backup/manifest" + bound)
    chunks = [prefix, _U32.pack(len(man_ct)), man_ct, _U64.pack(len(body_ct)), body_ct]
    tag = hmac.new(keys.mac, digestmod=hashlib.sha256)
    for chunk in chunks:
        tag.update(chunk)
    chunks.append(tag.digest())
    return chunks


def _read_prefix(data: bytes, name: str) -> tuple[Head, int, bytes]:
    """Parse magic, version and head; returns (head, offset after head, bound hash)."""
    if len(data) < _PREFIX.size:
        raise _fail(name, "the file is truncated")
    magic, version, seed, head_len = _PREFIX.unpack_from(data, 0)
    if magic != MAGIC:
        raise _fail(name, "it is not a vaultui backup file (bad magic bytes)")
    if version != FORMAT_VERSION:
        raise _fail(name, f"unknown backup format version {version}")
    end = _PREFIX.size + head_len
    if head_len > _MAX_HEAD or end > len(data):
        raise _fail(name, "the file is truncated")
    head = _decode_head(_mask(seed, data[_PREFIX.size : end]), name)
    return head, end, hashlib.sha256(data[:end]).digest()


def _decrypt_manifest(
    data: bytes, pos: int, bound: bytes, keys: BackupKeys, head: Head, name: str
) -> tuple[dict[str, Any], int]:
    if pos + 4 > len(data):
        raise _fail(name, "the file is truncated")
    (size,) = _U32.unpack_from(data, pos)
    pos += 4
    if size > _MAX_MANIFEST or size < _NONCE + 16 or pos + size > len(data):
        raise _fail(name, "the file is truncated")
    blob = data[pos : pos + size]
    try:
        plain = keys.enc.decrypt(blob[:_NONCE], blob[_NONCE:], b"vaultui/backup/manifest" + bound)
        manifest = json.loads(plain)
    except (InvalidTag, ValueError):
        raise _fail(name, "its manifest does not authenticate (modified or another key)") from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or manifest.get("id") != head.backup_id.hex()
        or manifest.get("vault_id") != head.vault_id.hex()
    ):
        raise _fail(name, "its manifest does not match its header")
    return manifest, pos + size


def _check_vault(head: Head, vault_id: bytes | None, name: str) -> None:
    if vault_id is not None and head.vault_id != vault_id:
        raise _fail(
            name,
            f"it was made by another vault (id {head.vault_id.hex()[:12]}…) "
            "or its header was modified",
        )


def read_head(path: Path) -> Head:
    """Only the public head (vault id, key slots) of a backup file."""
    data = _read(path, limit=_PREFIX.size + _MAX_HEAD)
    return _read_prefix(data, path.name)[0]


def read_manifest(path: Path, root: bytes, vault_id: bytes | None) -> tuple[Head, dict[str, Any]]:
    """Head and authenticated manifest, reading only the start of the file."""
    with _open(path) as f:
        start = f.read(_PREFIX.size)
        if len(start) == _PREFIX.size:
            head_len = _PREFIX.unpack_from(start, 0)[3]
            start += f.read(min(head_len, _MAX_HEAD) + 4)
            if len(start) >= _PREFIX.size + head_len + 4:
                (man_len,) = _U32.unpack_from(start, _PREFIX.size + head_len)
                start += f.read(min(man_len, _MAX_MANIFEST))
    head, pos, bound = _read_prefix(start, path.name)
    _check_vault(head, vault_id, path.name)
    manifest, _ = _decrypt_manifest(start, pos, bound, BackupKeys(root, head.salt), head, path.name)
    return head, manifest


def open_bytes(data: bytes, name: str, root: bytes, vault_id: bytes | None) -> Opened:
    """Check the whole-file MAC, decrypt and check the manifest and body.

    Returns the decompressed body. Raises BackupIntegrityError on any damage.
    """
    head, pos, bound = _read_prefix(data, name)
    _check_vault(head, vault_id, name)
    keys = BackupKeys(root, head.salt)
    if len(data) < pos + MAC_BYTES:
        raise _fail(name, "the file is truncated")
    expected = hmac.new(keys.mac, memoryview(data)[:-MAC_BYTES], hashlib.sha256).digest()
    if not hmac.compare_digest(expected, data[-MAC_BYTES:]):
        raise _fail(name, "the file was modified or truncated (MAC mismatch)")
    manifest, pos = _decrypt_manifest(data, pos, bound, keys, head, name)
    if pos + 8 > len(data):
        raise _fail(name, "the file is truncated")
    (size,) = _U64.unpack_from(data, pos)
    pos += 8
    if pos + size + MAC_BYTES != len(data) or size < _NONCE + 16:
        raise _fail(name, "its body has the wrong length")
    blob = data[pos : pos + size]
    info = manifest.get("body") or {}
    if hashlib.sha256(blob).hexdigest() != info.get("sha256"):
        raise _fail(name, "its body checksum does not match the manifest")
    try:
        packed = keys.enc.decrypt(blob[:_NONCE], blob[_NONCE:], b"vaultui/backup/body" + bound)
        plain = zlib.decompress(packed)
    except (InvalidTag, zlib.error):
        raise _fail(name, "its body does not authenticate") from None
    if hashlib.sha256(plain).hexdigest() != info.get("plain_sha256"):
        raise _fail(name, "its contents checksum does not match the manifest")
    return Opened(head, manifest, plain)


def open_file(path: Path, root: bytes, vault_id: bytes | None) -> Opened:
    """:func:`open_bytes` on a file."""
    return open_bytes(_read(path), path.name, root, vault_id)


def _open(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")  # the caller closes it (with statement)
    except FileNotFoundError:
        raise NotFoundError(f"Backup file {path.name} does not exist") from None
    except OSError as exc:
        raise BackupError(f"Cannot read the backup file {path.name}: {exc.strerror}") from None


def _read(path: Path, limit: int | None = None) -> bytes:
    with _open(path) as f:
        return f.read() if limit is None else f.read(limit)
