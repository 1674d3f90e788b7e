"""Crash-safe file writes and a cross-process lock for the backups folder.

A backup file appears under its final name only once it is complete and durable:
it is written to a hidden temporary file in the same folder, fsync'ed, renamed into
place (never over an existing file) and the folder is fsync'ed. A reader therefore
sees either no file or the whole file, even after ``kill -9`` or a power cut.

Creating and deleting backups takes an exclusive ``flock`` on ``backups/.lock``;
reading a chain for verify or restore takes a shared one, so cleanup never removes a
file a restore is reading and two processes never write a chain at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from core.config import ensure_private_dir
from core.errors import BackupError, StorageError

TEMP_PREFIX = ".tmp-"
LOCK_NAME = ".lock"


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes | list[bytes]) -> None:
    """Write ``data`` to ``path`` (mode 0600) atomically and durably; never overwrites.

    Raises BackupError if ``path`` already exists, StorageError if the disk refuses.
    """
    folder = path.parent
    tmp = folder / f"{TEMP_PREFIX}{path.name}-{secrets.token_hex(6)}"
    chunks = [data] if isinstance(data, bytes | bytearray | memoryview) else data
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        _publish(tmp, path)
        fsync_dir(folder)
    except FileExistsError:
        raise BackupError(f"A backup named {path.stem!r} already exists") from None
    except OSError as exc:
        raise StorageError(f"Cannot write the backup file {path.name}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _publish(tmp: Path, path: Path) -> None:
    """Give ``tmp`` its final name without ever replacing an existing file."""
    try:
        os.link(tmp, path)  # atomic, and fails with FileExistsError instead of clobbering
    except FileExistsError:
        raise
    except OSError:
        # a filesystem without hard links: the folder lock keeps check-then-rename safe
        if path.exists():
            raise FileExistsError(path) from None
        os.rename(tmp, path)


def remove_durably(paths: list[Path]) -> None:
    """Delete files and fsync their folders (missing files are ignored)."""
    folders = set()
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            folders.add(path.parent)
    for folder in folders:
        fsync_dir(folder)


def stale_temp_files(folder: Path, older_than: float = 3600.0) -> list[Path]:
    """Temporary files left by a crashed writer, older than ``older_than`` seconds."""
    now = time.time()
    out = []
    for path in folder.glob(TEMP_PREFIX + "*"):
        with contextlib.suppress(FileNotFoundError):
            if now - path.stat().st_mtime > older_than:
                out.append(path)
    return out


@contextlib.contextmanager
def folder_lock(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold ``folder/.lock`` shared (readers) or exclusive (writers) across processes."""
    ensure_private_dir(folder)
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(f"Cannot lock the backups folder: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock
