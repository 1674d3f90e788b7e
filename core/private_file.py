"""Creating files that hold secrets (exports, reports, key files) without a race.

Every such file is written to a fresh temporary file in the target's own folder,
created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600 (so nobody else can have
opened it, and no planted symlink redirects it), fsync'ed, then given its final name:

- by default with ``link()``, which fails if the name exists: a file another user
  created in a shared folder between a check and the write never receives the secrets,
  and a reader never sees half a file;
- with ``replace=True`` with ``rename()``, which swaps the name over whatever is there
  (a file or a symlink, never followed) without ever writing into it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from core.errors import StorageError, ValidationError

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC


@contextlib.contextmanager
def private_file(
    path: Path | str, *, replace: bool = False, hint: str | None = None
) -> Iterator[BinaryIO]:
    """A binary file object whose content appears at ``path`` (mode 0600) on success.

    Raises ValidationError (with ``hint``) if ``path`` exists and ``replace`` is
    false, StorageError if the disk or folder refuses; on any error (or an exception in
    the ``with`` body) no file is left behind.
    """
    path = Path(path)
    folder = path.parent
    if not replace and os.path.lexists(path):
        raise ValidationError(f"{path} already exists", hint=hint)  # early, before any work
    tmp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, _FLAGS, 0o600)
    except OSError as exc:
        raise StorageError(f"Cannot create a file in {folder}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        _publish(tmp, path, replace=replace, hint=hint)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_private(
    path: Path | str, data: bytes, *, replace: bool = False, hint: str | None = None
) -> None:
    """Write ``data`` to a new file ``path`` (mode 0600), see :func:`private_file`."""
    with private_file(path, replace=replace, hint=hint) as out:
        out.write(data)


def _publish(tmp: Path, path: Path, *, replace: bool, hint: str | None) -> None:
    """Give ``tmp`` the name ``path``: never over an existing file unless ``replace``."""
    try:
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path, follow_symlinks=False)
            except FileExistsError:
                raise
            except OSError:
                # no hard links here (some FUSE/SMB mounts): an exclusive create instead
                _copy_exclusive(tmp, path)
    except FileExistsError:
        raise ValidationError(f"{path} already exists", hint=hint) from None
    except OSError as exc:
        raise StorageError(f"Cannot write {path}: {exc.strerror}") from None
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _copy_exclusive(tmp: Path, path: Path) -> None:
    fd = os.open(path, _FLAGS, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, open(tmp, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def check_own_file(path: Path | str) -> None:
    """ValidationError unless ``path`` is a regular file of this user (not a symlink),
    e.g. an empty file someone else planted where a new vault is to be created; then
    makes it 0600."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        raise ValidationError(
            f"{path} already exists and is not your own regular file",
            hint="remove it, or choose another path",
        )
    os.chmod(path, 0o600)
