"""The key-derivation parameters in a KeePass (KDBX 3.1 / 4) header, checked before
pykeepass derives anything from them.

pykeepass runs Argon2 or AES-KDF with whatever the header asks for, before the header
is authenticated: a crafted file with ``I = 2**40`` or ``M`` = 1 TiB would hang or
exhaust the machine. :func:`check_kdbx_kdf` reads only the outer header (a few hundred
bytes) and applies the KeePass bounds of :mod:`core.vault.kdf_bounds`.

Layout (little-endian): two signature words, minor/major version (u16 each), then
fields ``id (u8), size (u16 in KDBX 3, u32 in KDBX 4), data`` up to id 0. KDBX 3 keeps
AES-KDF rounds in field 6 (u64). KDBX 4 keeps the KDF in field 11, a "variant
dictionary": u16 version, then ``type (u8), name (u32 length + bytes), value (u32
length + bytes)`` entries up to type 0; ``$UUID`` names the KDF, Argon2 uses ``I``
(iterations, u64), ``M`` (memory in bytes, u64), ``P`` (lanes, u32), ``S`` (salt),
AES-KDF ``R`` (rounds, u64).
"""

from __future__ import annotations

import struct
from pathlib import Path

from core.errors import IntegrityError
from core.vault.kdf_bounds import check_aes_rounds, check_argon2, check_salt

SIGNATURE = (0x9AA2D903, 0xB54BFB67)
MAX_HEADER_BYTES = 1 << 20  # a real outer header is well under 1 KiB
_ARGON2 = {
    bytes.fromhex("ef636ddf8c29444b91f7a9a403e30a0c"),  # Argon2d
    bytes.fromhex("9e298b1956db4773b23dfc3ec6f0a1e6"),  # Argon2id
}
_AES_KDF = bytes.fromhex("c9d9f39a628a4460bf740d08c18a4fea")
_WHERE = "the KeePass database header"


def _damaged() -> IntegrityError:
    return IntegrityError(
        "The KeePass database header is damaged",
        hint="check the file; vaultui reads KDBX 3.1 and 4",
    )


def check_kdbx_kdf(path: Path) -> None:
    """Raise KdfBoundsError if the KDBX file at ``path`` asks for a key derivation
    outside the bounds, IntegrityError if its header is malformed. A file that is not
    KDBX 3/4 (no signature) is left to the parser to reject."""
    with open(path, "rb") as f:
        data = f.read(MAX_HEADER_BYTES)
    if len(data) < 12 or struct.unpack_from("<II", data) != SIGNATURE:
        return
    major = struct.unpack_from("<H", data, 10)[0]
    if major not in (3, 4):
        return
    size_fmt = "<H" if major == 3 else "<I"
    step = struct.calcsize(size_fmt)
    pos = 12
    try:
        while True:
            field = data[pos]
            (size,) = struct.unpack_from(size_fmt, data, pos + 1)
            pos += 1 + step
            value = data[pos : pos + size]
            if len(value) != size:
                raise _damaged()
            pos += size
            if field == 0:
                return
            if field == 6 and major == 3:
                check_aes_rounds(struct.unpack("<Q", value)[0], where=_WHERE)
            elif field == 11 and major == 4:
                _check_variant_kdf(_variant_dict(value))
    except (IndexError, struct.error):
        raise _damaged() from None


def _variant_dict(raw: bytes) -> dict[str, tuple[int, bytes]]:
    """name -> (type, raw value) of a KDBX 4 variant dictionary."""
    out: dict[str, tuple[int, bytes]] = {}
    pos = 2  # u16 version
    while True:
        kind = raw[pos]
        if kind == 0:
            return out
        (n,) = struct.unpack_from("<I", raw, pos + 1)
        name = raw[pos + 5 : pos + 5 + n]
        pos += 5 + n
        (m,) = struct.unpack_from("<I", raw, pos)
        value = raw[pos + 4 : pos + 4 + m]
        if len(name) != n or len(value) != m:
            raise _damaged()
        pos += 4 + m
        out[name.decode("latin-1")] = (kind, value)


def _number(entry: tuple[int, bytes] | None) -> int:
    if entry is None:
        raise _damaged()
    kind, value = entry
    fmt = {0x04: "<I", 0x05: "<Q", 0x0C: "<i", 0x0D: "<q"}.get(kind)
    if fmt is None or len(value) != struct.calcsize(fmt):
        raise _damaged()
    return int(struct.unpack(fmt, value)[0])


def _check_variant_kdf(params: dict[str, tuple[int, bytes]]) -> None:
    uuid = params.get("$UUID", (0, b""))[1]
    if uuid in _ARGON2:
        memory = _number(params.get("M"))
        check_argon2(
            _number(params.get("I")),
            memory // 1024 if memory >= 0 else memory,
            _number(params.get("P")),
            where=_WHERE,
            kdbx=True,
        )
        check_salt(params.get("S", (0, b""))[1], where=_WHERE)
    elif uuid == _AES_KDF:
        check_aes_rounds(_number(params.get("R")), where=_WHERE)
