"""The audit trail on disk: the live log, its rotated segments, the head record, the lock.

    logs/secrets_audit.log        the live file (appended with O_APPEND, one write a line)
    logs/secrets_audit.log.1      the most recently rotated segment
    logs/secrets_audit.log.2 ...  older segments (higher number = older)
    logs/secrets_audit.state      lock file (flock) and head record: the seq and chain of
                                  the last line written, so truncation is detected
    logs/secrets_audit.idx        the query index (SQLite, derived, rebuildable)

Nothing here knows about keys or queries; it only moves bytes safely.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.audit.events import GENESIS, Trailer, parse_trailer
from core.config import ensure_private_dir

STATE_SIZE = 1024
TAIL_BLOCK = 64 * 1024


@dataclass(frozen=True)
class Head:
    """The head record: what the last writer left behind (kept in the state file)."""

    seq: int
    chain: str
    ino: int
    size: int
    anchor_seq: int | None = None
    anchor_chain: str | None = None

    def to_bytes(self) -> bytes:
        """The fixed-size block stored at the start of the state file."""
        doc: dict[str, Any] = {
            "v": 1,
            "seq": self.seq,
            "chain": self.chain,
            "ino": self.ino,
            "size": self.size,
        }
        if self.anchor_seq is not None:
            doc["anchor_seq"] = self.anchor_seq
            doc["anchor_chain"] = self.anchor_chain
        data = json.dumps(doc).encode("ascii")
        return data + b" " * (STATE_SIZE - len(data))

    @classmethod
    def from_bytes(cls, data: bytes) -> Head | None:
        """Parse a stored block; None when empty or unreadable."""
        text = data.strip(b" \0\n")
        if not text:
            return None
        try:
            doc = json.loads(text)
            return cls(
                int(doc["seq"]),
                str(doc["chain"]),
                int(doc["ino"]),
                int(doc["size"]),
                doc.get("anchor_seq"),
                doc.get("anchor_chain"),
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class LastLine:
    """The newest vaultui line of a file (found by scanning back from its end)."""

    seq: int
    chain: str
    torn: int
    """Bytes of an unterminated fragment at the end of the file (0 when it ends in \\n)."""


class FileScan:
    """Helpers that look at raw bytes."""

    @staticmethod
    def last_newline(fd: int, size: int) -> int:
        """Offset of the last newline before ``size`` (-1 if there is none)."""
        end = size
        while end > 0:
            start = max(0, end - TAIL_BLOCK)
            at = os.pread(fd, end - start, start).rfind(b"\n")
            if at >= 0:
                return start + at
            end = start
        return -1


class LogFiles:
    """Paths and low-level operations on one audit trail."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.dir = self.path.parent
        self.state_path = self.path.with_name(self.path.name.rsplit(".", 1)[0] + ".state")
        if self.state_path == self.path:
            self.state_path = self.path.with_name(self.path.name + ".state")
        self.index_path = self.state_path.with_suffix(".idx")
        self._rotated = re.compile(re.escape(self.path.name) + r"\.(\d+)")

    def ensure_dir(self) -> None:
        """Create the log folder (0700) if needed."""
        ensure_private_dir(self.dir)

    def rotated(self) -> list[tuple[int, Path]]:
        """Rotated segments as (number, path), newest first (1, 2, 3 ...)."""
        found: list[tuple[int, Path]] = []
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        for name in names:
            m = self._rotated.fullmatch(name)
            if m:
                found.append((int(m.group(1)), self.dir / name))
        found.sort()
        return found

    def segments(self) -> list[Path]:
        """Every segment that exists, oldest first, the live file last."""
        paths = [p for _, p in reversed(self.rotated())]
        if self.path.exists():
            paths.append(self.path)
        return paths

    def segment_name(self, number: int) -> Path:
        """The path of rotated segment ``number``."""
        return self.path.with_name(f"{self.path.name}.{number}")

    # ------------------------------------------------------------------ state / lock

    def open_state(self) -> int:
        """Open (creating, 0600) the state file; the fd is both lock and head record."""
        return os.open(self.state_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    @staticmethod
    @contextlib.contextmanager
    def locked(fd: int, shared: bool = False) -> Iterator[None]:
        """Hold the advisory lock on the state file fd (exclusive for writers, shared
        for readers of the head record)."""
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    @staticmethod
    def read_head(fd: int) -> Head | None:
        """The head record, or None when there is none (new or emptied state file)."""
        return Head.from_bytes(os.pread(fd, STATE_SIZE, 0))

    @staticmethod
    def write_head(fd: int, head: Head) -> None:
        """Replace the head record (one pwrite of a fixed-size block)."""
        os.pwrite(fd, head.to_bytes(), 0)

    def read_head_file(self) -> tuple[bool, Head | None]:
        """(state file exists, head) read under the lock, for verify."""
        try:
            fd = os.open(self.state_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False, None
        try:
            with self.locked(fd, shared=True):
                return True, self.read_head(fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ scanning

    @staticmethod
    def last_line(fd: int, size: int) -> LastLine | None:
        """Scan back from ``size`` for the newest line with a chain trailer.

        Returns None when the file holds no vaultui line at all. ``torn`` reports an
        unterminated fragment at the very end.
        """
        if size <= 0:
            return None
        torn = size - (FileScan.last_newline(fd, size) + 1)
        end = size - torn
        carry = b""
        while end > 0:
            start = max(0, end - TAIL_BLOCK)
            buf = os.pread(fd, end - start, start) + carry
            end = start
            parts = buf.split(b"\n")[:-1]  # buf always ends with a newline
            if start > 0:
                carry = parts[0] + b"\n"
                parts = parts[1:]
            for raw in reversed(parts):
                t = parse_trailer(raw)
                if t is not None:
                    return LastLine(t.seq, t.chain, torn)
        return LastLine(0, GENESIS, torn) if torn > 0 else None

    @staticmethod
    def first_line(path: Path, limit: int = 1 << 20) -> bytes | None:
        """The first complete line of a file (no newline), or None if there is none."""
        try:
            with open(path, "rb") as fh:
                data = fh.readline(limit)
        except FileNotFoundError:
            return None
        if not data.endswith(b"\n"):
            return None
        return data[:-1]

    @staticmethod
    def iter_lines(
        path: Path, start: int = 0, stop: int | None = None, chunk: int = 4 << 20
    ) -> Iterator[tuple[int, bytes, bool]]:
        """Yield (offset, line without newline, complete) from ``start`` up to ``stop``.

        The last item may be an unterminated fragment (``complete`` False).
        """
        with open(path, "rb") as fh:
            if stop is None:
                stop = os.fstat(fh.fileno()).st_size
            pos = start
            fh.seek(start)
            rest = b""
            rest_at = start
            while pos < stop:
                data = fh.read(min(chunk, stop - pos))
                if not data:
                    break
                pos += len(data)
                buf = rest + data
                base = rest_at
                lines = buf.split(b"\n")
                rest = lines.pop()
                for raw in lines:
                    yield base, raw, True
                    base += len(raw) + 1
                rest_at = base
            if rest:
                yield rest_at, rest, False


def trailer_of(raw: bytes) -> Trailer | None:
    """Alias of :func:`core.audit.events.parse_trailer` for file-level code."""
    return parse_trailer(raw)
