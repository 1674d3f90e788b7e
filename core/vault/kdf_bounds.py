"""Bounds on key-derivation cost read from files vaultui did not just write.

Argon2 parameters sit in the clear beside what they protect: a vault's key slots, a
backup's head, a sealed-sync head in a provider, a KeePass database's header. They are
read *before* anything can be authenticated, so a hostile file can ask for ``t=2**31``
(an open that never ends), ``m`` of a terabyte (the allocation) or ten thousand slots.
Every such place calls :func:`check_argon2` / :func:`check_slot_count` (or
:func:`check_kdbx_kdf`) before it derives a key, and refuses out-of-bounds values with
:class:`~core.errors.KdfBoundsError` at once.

The maxima cover the strongest cost vaultui writes (its default passphrase slot:
t=3, 64 MiB, p=4) with headroom, and any ``VAULTUI_ARGON2`` setting inside them; the
minima are what argon2 itself requires (a lower value would only fail later, as an
"unexpected error"). Bounds for KeePass files are wider (KeePassXC calibrates its
iterations to the machine) but still end a crafted header's hang.
"""

from __future__ import annotations

from typing import Any

from core.errors import KdfBoundsError

# Argon2id, as vaultui writes it (key slots, backup heads, sealed-sync heads).
MIN_TIME_COST = 1
MAX_TIME_COST = 16  # default 3
MIN_PARALLELISM = 1
MAX_PARALLELISM = 16  # default 4
MAX_MEMORY_KIB = 256 * 1024  # 256 MiB; default 64 MiB. Min: 8 KiB per lane (argon2's rule)
MIN_SALT_BYTES = 8  # vaultui writes 16
MAX_SALT_BYTES = 64
MAX_KEY_SLOTS = 32  # passphrases, key files (a sealed head keeps every machine's)

# KeePass (KDBX) imports: KeePassXC's own presets calibrate iterations to ~1 s.
MAX_KDBX_TIME_COST = 100
MAX_KDBX_MEMORY_KIB = 1024 * 1024 - 1  # below 1 GiB
MAX_KDBX_PARALLELISM = 64
MAX_KDBX_AES_ROUNDS = 10_000_000  # AES-KDF (KDBX 3.1 and 4)


def _int(value: Any, what: str, where: str) -> int:
    # bool is an int in Python: a JSON true is not a cost
    if isinstance(value, bool) or not isinstance(value, int):
        raise KdfBoundsError(f"The {what} in {where} is not a whole number")
    return value


def _within(value: int, low: int, high: int, what: str, where: str) -> None:
    if not low <= value <= high:
        raise KdfBoundsError(
            f"The {what} in {where} is {value}, outside the accepted {low}..{high}"
        )


def check_argon2(
    time_cost: Any,
    memory_kib: Any,
    parallelism: Any,
    *,
    where: str,
    kdbx: bool = False,
) -> tuple[int, int, int]:
    """Return ``(t, m, p)`` if they are within bounds, else raise KdfBoundsError.

    ``where`` names the file part for the message ("a vault key slot", "the backup
    head"). ``kdbx`` selects the wider KeePass bounds. Costs nothing; call it before
    every derivation from stored parameters.
    """
    t = _int(time_cost, "Argon2 time cost", where)
    m = _int(memory_kib, "Argon2 memory cost", where)
    p = _int(parallelism, "Argon2 parallelism", where)
    _within(
        t, MIN_TIME_COST, MAX_KDBX_TIME_COST if kdbx else MAX_TIME_COST, "Argon2 time cost", where
    )
    _within(
        p,
        MIN_PARALLELISM,
        MAX_KDBX_PARALLELISM if kdbx else MAX_PARALLELISM,
        "Argon2 parallelism",
        where,
    )
    _within(
        m,
        8 * p,
        MAX_KDBX_MEMORY_KIB if kdbx else MAX_MEMORY_KIB,
        "Argon2 memory cost (KiB)",
        where,
    )
    return t, m, p


def check_salt(salt: Any, *, where: str) -> bytes:
    """Return ``salt`` if its length is within bounds, else raise KdfBoundsError."""
    if not isinstance(salt, bytes | bytearray):
        raise KdfBoundsError(f"The key-derivation salt in {where} is malformed")
    _within(len(salt), MIN_SALT_BYTES, MAX_SALT_BYTES, "salt length (bytes)", where)
    return bytes(salt)


def check_slot_count(count: int, *, where: str) -> None:
    """Raise KdfBoundsError if a file holds more key slots than vaultui ever writes."""
    if count > MAX_KEY_SLOTS:
        raise KdfBoundsError(f"{where} holds more key slots than the accepted {MAX_KEY_SLOTS}")


def check_aes_rounds(rounds: Any, *, where: str) -> int:
    """Return AES-KDF ``rounds`` (KeePass) if within bounds, else raise KdfBoundsError."""
    r = _int(rounds, "AES-KDF rounds", where)
    _within(r, 1, MAX_KDBX_AES_ROUNDS, "AES-KDF rounds", where)
    return r
