"""Where the chain continues and when the live file rotates: recovery of the head after
a crash, a torn line or a foreign append, and rotation into numbered segments. A mixin
of :class:`core.audit.log.AuditLog`.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from core.audit.events import GENESIS
from core.audit.files import Head, LastLine, LogFiles


class SegmentKeeping:
    """The file side of an audit log's chain: recovery of the head and rotation."""

    # set by AuditLog.__init__ (annotations only: no class attributes)
    files: LogFiles
    keep: int | None
    durable: bool | float
    _state_fd: int | None
    _log_fd: int | None
    _log_ino: int | None
    _seen: tuple[int, int] | None

    if TYPE_CHECKING:  # provided by AuditLog

        def _note(self, message: str) -> dict[str, Any]: ...

        def _open_log(self) -> None: ...

    def _recover(self, size: int, head: Head | None) -> tuple[int, str, int, list[dict[str, Any]]]:
        """Find where the chain continues when the head record does not match the file
        (first write, crash, torn line, foreign append, file replaced)."""
        last: LastLine | None = LogFiles.last_line(self._log_fd, size)  # type: ignore[arg-type]  # open while the log is
        torn = last.torn if last is not None else 0
        if last is not None and last.seq > 0:
            seq, chain = last.seq, last.chain
        else:
            seq, chain = self._previous_segment_tail()
        notes: list[dict[str, Any]] = []
        if head is None:
            if seq > 0:
                notes.append(self._note("audit head record was missing; recreated from the log"))
        elif head.seq > seq:
            notes.append(
                self._note(
                    f"audit log ends at seq {seq} but the head record says {head.seq}: "
                    "lines were cut or the file was replaced"
                )
            )
            seq, chain = head.seq, head.chain
        return seq, chain, torn, notes

    def _previous_segment_tail(self) -> tuple[int, str]:
        for _, path in self.files.rotated():
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                last = LogFiles.last_line(fd, os.fstat(fd).st_size)
            finally:
                os.close(fd)
            if last is not None and last.seq > 0:
                return last.seq, last.chain
            break
        return 0, GENESIS

    def _rotate(self, head: Head) -> Head:
        if self.durable is not False:
            os.fdatasync(self._log_fd)  # type: ignore[arg-type]  # open while the log is
        rotated = self.files.rotated()
        for number, path in reversed(rotated):
            os.rename(path, self.files.segment_name(number + 1))
        os.rename(self.files.path, self.files.segment_name(1))
        anchor_seq, anchor_chain = head.anchor_seq, head.anchor_chain
        if self.keep is not None:
            doomed = [self.files.segment_name(n + 1) for n, _ in rotated if n + 1 > self.keep]
            if doomed:
                newest_doomed = min(doomed, key=lambda p: int(p.name.rsplit(".", 1)[1]))
                fd = os.open(newest_doomed, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    last = LogFiles.last_line(fd, os.fstat(fd).st_size)
                finally:
                    os.close(fd)
                if last is not None and last.seq > 0:
                    anchor_seq, anchor_chain = last.seq, last.chain
                for p in doomed:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(p)
        self._open_log()
        assert self._log_fd is not None and self._log_ino is not None
        new_head = Head(head.seq, head.chain, self._log_ino, 0, anchor_seq, anchor_chain)
        LogFiles.write_head(self._state_fd, new_head)  # type: ignore[arg-type]  # open while the log is
        self._seen = (self._log_ino, 0)
        if self.durable is not False:
            dfd = os.open(self.files.dir, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        return new_head
