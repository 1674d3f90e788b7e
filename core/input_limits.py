"""Size limits on input, enforced while reading: never more than the limit plus one byte
is read, so a 300 MB pipe (or ``/dev/zero`` given as a key file) costs no memory.

Imports only the standard library and :mod:`core.errors` (the ``get``/``set`` fast path
uses it).
"""

from __future__ import annotations

import os
from typing import BinaryIO

from core.errors import ValidationError, ValueTooLargeError

MAX_VALUE_BYTES = 1024 * 1024  # 1 MiB: a secret value, after encoding
MAX_KEY_FILE_BYTES = 64 * 1024  # key and passphrase files: a key is 32 bytes


VALUE_HINT = "a secret value is at most 1 MiB; keep larger files outside the vault"


def read_bounded(stream: BinaryIO, limit: int, source: str, hint: str = VALUE_HINT) -> bytes:
    """Everything in ``stream`` if it holds at most ``limit`` bytes.

    Reads at most ``limit + 1`` bytes; ValueTooLargeError naming ``source`` (never the
    content), with ``hint``, if there is more.
    """
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(limit + 1 - size, 1 << 20))  # no huge buffer up front
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise ValueTooLargeError(f"{source} holds more than {limit:,} bytes", hint=hint)
    return b"".join(chunks)


def read_file_bounded(
    path: os.PathLike[str] | str, limit: int = MAX_VALUE_BYTES, hint: str = VALUE_HINT
) -> bytes:
    """The bytes of file ``path`` (at most ``limit``); ValidationError if it is missing or
    unreadable, ValueTooLargeError (with ``hint``) if larger."""
    try:
        with open(path, "rb") as f:
            return read_bounded(f, limit, str(path), hint)
    except FileNotFoundError:
        raise ValidationError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ValidationError(f"{path} is a folder, not a file") from None
    except OSError as exc:
        raise ValidationError(f"{path} cannot be read: {exc.strerror}") from None
