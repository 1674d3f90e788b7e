"""A private scratch folder for a secret that must sit in a file for a moment (``edit``).

The folder goes on a RAM-backed filesystem when one is at hand (``/dev/shm``, then
``$XDG_RUNTIME_DIR``, each checked to be tmpfs), else in the system temp folder; it is
mode 0700 and its files 0600. :func:`scratch_dir` removes it on the way out, whatever
happened: every regular file in it (the editor's swap and backup files too) is
overwritten with zeros before it is unlinked, so a disk-backed fallback keeps no copy in
the freed blocks of an ordinary filesystem.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

RAM_FILESYSTEMS = ("tmpfs", "ramfs")


def filesystem_type(path: str) -> str | None:
    """The filesystem type of the mount holding ``path`` (Linux ``/proc``), or None."""
    try:
        real = os.path.realpath(path)
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as f:
            mounts = [line.split() for line in f]
    except OSError:
        return None
    best, fstype = "", None
    for fields in mounts:
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, fields[2]
    return fstype


def ram_base() -> str | None:
    """A writable folder on a RAM-backed filesystem, or None."""
    # a private mkdtemp folder inside: a shared /dev/shm is fine (S108 is about fixed names)
    for candidate in ("/dev/shm", os.environ.get("XDG_RUNTIME_DIR") or ""):  # noqa: S108
        if (
            candidate
            and os.path.isdir(candidate)
            and os.access(candidate, os.W_OK | os.X_OK)
            and filesystem_type(candidate) in RAM_FILESYSTEMS
        ):
            return candidate
    return None


@contextlib.contextmanager
def scratch_dir(prefix: str = "vaultui-") -> Iterator[Path]:
    """A new 0700 folder (in RAM when possible), wiped and removed on exit."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=ram_base()))
    try:
        os.chmod(path, 0o700)
        yield path
    finally:
        wipe_tree(path)


def create_private(path: Path, data: bytes) -> None:
    """Create ``path`` exclusively, mode 0600, holding ``data`` (never follows a link)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def wipe_tree(path: Path) -> None:
    """Overwrite every regular file under ``path`` with zeros, then remove it all."""
    for root, dirs, files in os.walk(path, topdown=False):
        for name in files:
            _wipe_file(os.path.join(root, name))
        for name in dirs:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(root, name))
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _wipe_file(name: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(name, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            size = os.fstat(fd).st_size
            chunk = b"\0" * min(size, 1 << 20)
            done = 0
            while done < size:
                done += os.write(fd, chunk[: size - done])
            os.fsync(fd)
        finally:
            os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
