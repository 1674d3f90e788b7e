"""The query index: a SQLite sidecar (``secrets_audit.idx``) built lazily from the log.

It is derived data. It holds, per event, the fields queries filter on (time, secret
name, operation, user, success, source, seq) and where the line sits (segment, byte
offset, length); per (secret, operation, success) it keeps running counts, so stats
for one secret are a lookup. It never holds a value (the log holds none) and can be
deleted at any time: the next query rebuilds it.

Segments are recognised by a hash of their first line, not by file name, so rotation
(which renames files) does not invalidate anything. A segment rewritten in place is
noticed (its indexed tail bytes changed) and the index is rebuilt.

Every batch is its own short write transaction that first re-checks how far the
segment is indexed, so several processes can refresh the same index safely.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.audit.events import STANDARD_FIELDS, parse_ts
from core.audit.files import LogFiles
from core.audit.index_queries import IndexQueries, Where
from core.errors import AuditError

__all__ = ["AuditIndex", "Segment", "Where"]

SCHEMA = 2
BATCH = 20_000
TAIL_CHECK = 80

_DDL = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS strs(id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS segs(
    id INTEGER PRIMARY KEY, ident TEXT NOT NULL UNIQUE, done INTEGER NOT NULL,
    tail BLOB NOT NULL, lines INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ev(
    n INTEGER PRIMARY KEY, seq INTEGER, ts REAL, name INTEGER, op INTEGER,
    user INTEGER, ok INTEGER, src INTEGER, seg INTEGER, off INTEGER, len INTEGER);
CREATE TABLE IF NOT EXISTS agg(
    name INTEGER, op INTEGER, ok INTEGER, cnt INTEGER NOT NULL, last REAL,
    PRIMARY KEY(name, op, ok)) WITHOUT ROWID;
"""

_STR = rb'(null|"(?:[^"\\]|\\.)*")'
_SKIP = rb'(?:null|"(?:[^"\\]|\\.)*")'
_LEAD_VALUES = {
    "timestamp": rb'"([^"]*)"',
    "operation": rb'"([^"\\]*)"',
    "secret_name": _STR,
    "user": _STR,
    "success": rb"(true|false)",
    "error_message": _SKIP,
    "ip_address": _SKIP,
    "source": _STR,
}
"""How each leading field's value is matched: captured, or skipped (``_SKIP``)."""
_LEAD = re.compile(
    rb"\{"
    + rb", ".join(
        b'"' + name.encode() + b'": ' + _LEAD_VALUES[name]
        for name in STANDARD_FIELDS[: len(_LEAD_VALUES)]
    )
)
"""The fixed leading fields of a vaultui line: timestamp, operation, secret_name, user,
success and source (error_message and ip_address skipped)."""
_LINE = re.compile(
    _LEAD.pattern
    + rb'.*, "seq": (\d+), "kid": (?:null|"[0-9a-f]{16}"), "chain": "[0-9a-f]{64}"\}\Z',
    re.S,
)
"""A whole vaultui line: the leading fields plus ``seq``; anything else does not match."""


def _token(tok: bytes | None) -> str | None:
    if tok is None or tok == b"null":
        return None
    if b"\\" in tok:
        try:
            value = json.loads(tok)
        except ValueError:
            return None
        return value if isinstance(value, str) else None
    return tok[1:-1].decode("ascii", "replace")


_INDEXES = """
CREATE INDEX IF NOT EXISTS ev_name ON ev(name, ts);
CREATE INDEX IF NOT EXISTS ev_ts ON ev(ts);
CREATE INDEX IF NOT EXISTS ev_fail ON ev(n) WHERE ok = 0;
"""
_DROP_INDEXES = """
DROP INDEX IF EXISTS ev_name;
DROP INDEX IF EXISTS ev_ts;
DROP INDEX IF EXISTS ev_fail;
"""
BULK_BYTES = 32 * 1024 * 1024

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class Segment:
    """A log file as the index knows it right now."""

    id: int
    ident: str
    path: Path
    size: int
    ino: int


class AuditIndex(IndexQueries):
    """Lazily maintained SQLite index over an audit trail. Thread-safe (a connection
    per thread); safe to share between processes."""

    def __init__(self, files: LogFiles) -> None:
        self.files = files
        self.path = files.index_path
        self._local = threading.local()
        self._refresh_lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._tok: dict[bytes, int] = {b"null": 0}  # JSON string token -> id
        self._optok: dict[bytes, int] = {}  # operation bytes -> id
        self._ids_lock = threading.Lock()
        self._fds: dict[int, tuple[int, int]] = {}  # seg id -> (ino, fd)
        self._fd_lock = threading.Lock()
        self._ident_cache: dict[tuple[int, int], str] = {}
        self.segments: list[Segment] = []

    # ------------------------------------------------------------------ connection

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = self._open()
            self._local.conn = conn
            self._local.pid = os.getpid()
        return conn

    def _open(self) -> sqlite3.Connection:
        self.files.ensure_dir()
        for attempt in range(2):
            try:
                fresh = not self.path.exists()
                conn = sqlite3.connect(
                    self.path, timeout=60, isolation_level=None, check_same_thread=False
                )
                if fresh:
                    with contextlib.suppress(OSError):
                        os.chmod(self.path, 0o600)
                # a derived file, but under the user's home like the vault: never let
                # its schema run functions with side effects
                conn.execute("PRAGMA trusted_schema=OFF")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=OFF")
                conn.execute("PRAGMA temp_store=MEMORY")
                conn.execute("PRAGMA cache_size=-32000")
                version = self._schema_version(conn)
                if version != SCHEMA:
                    if version is not None:
                        raise sqlite3.DatabaseError("old index schema")
                    conn.executescript(_DDL + _INDEXES)
                    conn.execute("INSERT OR REPLACE INTO meta VALUES('schema', ?)", (str(SCHEMA),))
                return conn
            except sqlite3.DatabaseError:
                if attempt:
                    raise AuditError("The audit index cannot be opened or rebuilt") from None
                with contextlib.suppress(Exception):
                    conn.close()
                self._discard_file()
        raise AssertionError("unreachable")

    @staticmethod
    def _schema_version(conn: sqlite3.Connection) -> int | None:
        try:
            row = conn.execute("SELECT v FROM meta WHERE k='schema'").fetchone()
        except sqlite3.OperationalError:
            return None
        return int(row[0]) if row else None

    def _discard_file(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(self.path) + suffix)

    def close(self) -> None:
        """Close this thread's connection and every cached file descriptor."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        with self._fd_lock:
            for _, fd in self._fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds.clear()

    # ------------------------------------------------------------------ strings

    def _load_ids(self, conn: sqlite3.Connection) -> None:
        with self._ids_lock:
            rows = conn.execute("SELECT id, s FROM strs").fetchall()
            self._ids = {s: i for i, s in rows}
            self._names = {i: s for i, s in rows}
            self._tok = {b"null": 0}
            self._optok = {}

    def str_id(self, text: str | None) -> int | None:
        """The id of a known string (0 for None), or None if the index never saw it."""
        if text is None:
            return 0
        sid = self._ids.get(text)
        if sid is None:
            # one indexed lookup, not a reload of every string: a name asked for in
            # both its clear and sealed forms usually misses in one of them
            row = self._conn().execute("SELECT id FROM strs WHERE s=?", (text,)).fetchone()
            if row is None:
                return None
            sid = int(row[0])
            with self._ids_lock:
                self._ids[text] = sid
                self._names[sid] = text
        return sid

    def name_of(self, sid: int) -> str | None:
        """The string with id ``sid`` (None for 0)."""
        if not sid:
            return None
        s = self._names.get(sid)
        if s is None:
            self._load_ids(self._conn())
            s = self._names.get(sid)
        return s

    def _intern(self, conn: sqlite3.Connection, text: str | None, new: dict[str, int]) -> int:
        if text is None:
            return 0
        sid = self._ids.get(text) or new.get(text)
        if sid is not None:
            return sid
        conn.execute("INSERT OR IGNORE INTO strs(s) VALUES(?)", (text,))
        sid = int(conn.execute("SELECT id FROM strs WHERE s=?", (text,)).fetchone()[0])
        new[text] = sid
        return sid

    # ------------------------------------------------------------------ refresh

    def refresh(self, progress: ProgressFn | None = None, cancelled: CancelFn | None = None) -> int:
        """Index whatever was appended since the last refresh; return how many events
        were added. Rebuilds from scratch when a segment changed in place."""
        with self._refresh_lock:
            try:
                return self._refresh(progress, cancelled)
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                    raise AuditError("The audit index is busy; try again") from None
                # a corrupt index is just derived data: start again
                self.close()
                self._discard_file()
                self._local.conn = None
                return self._refresh(progress, cancelled)

    def pending_bytes(self) -> int:
        """How many bytes of the log are not indexed yet (cheap: a few stats and one
        small query), so callers can decide whether a refresh is instant."""
        try:
            done = dict(self._conn().execute("SELECT ident, done FROM segs").fetchall())
        except sqlite3.DatabaseError:
            return sum(st.st_size for _, st, _ in self._live_segments())
        return sum(
            max(0, st.st_size - done.get(ident, 0)) for _, st, ident in self._live_segments()
        )

    def _live_segments(self) -> list[tuple[Path, os.stat_result, str]]:
        out = []
        for path in self.files.segments():
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            key = (st.st_dev, st.st_ino)
            ident = self._ident_cache.get(key)
            if ident is None:
                first = LogFiles.first_line(path)
                if first is None:
                    continue
                ident = hashlib.sha256(first).hexdigest()[:32]
                self._ident_cache[key] = ident
            out.append((path, st, ident))
        return out

    def _refresh(self, progress: ProgressFn | None, cancelled: CancelFn | None) -> int:
        conn = self._conn()
        live = self._live_segments()
        known = {
            ident: (sid, done, tail)
            for sid, ident, done, tail in conn.execute("SELECT id, ident, done, tail FROM segs")
        }
        # indexed segments must still be in the same order, with new ones after them
        order = [known[ident][0] for _, _, ident in live if ident in known]
        seen_new = False
        consistent = order == sorted(order)
        for _, _, ident in live:
            if ident not in known:
                seen_new = True
            elif seen_new:
                consistent = False
        for path, st, ident in live:
            if ident in known:
                _sid, done, tail = known[ident]
                if st.st_size < done or self._tail(path, done) != bytes(tail):
                    consistent = False
        if not consistent:
            self._wipe(conn)
            known = {}
        vanished = [
            sid for ident, (sid, _, _) in known.items() if ident not in {i for _, _, i in live}
        ]
        if vanished:
            self._drop_segments(conn, vanished)
            lo, hi, count = conn.execute("SELECT min(n), max(n), count(*) FROM ev").fetchone()
            if count and hi - lo + 1 != count:
                # a segment vanished from the middle: start again so rows stay dense
                self._wipe(conn)
                known = {}
        total = sum(st.st_size for _, st, _ in live)
        pending = sum(
            st.st_size - (known[ident][1] if ident in known else 0) for _, st, ident in live
        )
        bulk = pending >= BULK_BYTES
        if bulk:
            # inserting a million rows is several times faster without the secondary
            # indexes; they are rebuilt in one pass afterwards
            conn.executescript(_DROP_INDEXES)
        base = 0
        added = 0
        segments: list[Segment] = []
        try:
            for path, st, ident in live:
                sid = self._segment_id(conn, ident)
                segments.append(Segment(sid, ident, path, st.st_size, st.st_ino))
                self._remember_fd(sid, path, st)
                added += self._index_segment(
                    conn, sid, path, st.st_size, base, total, progress, cancelled
                )
                base += st.st_size
                if cancelled is not None and cancelled():
                    break
        finally:
            if bulk:
                conn.executescript(_INDEXES)
        self.segments = segments
        return added

    @staticmethod
    def _tail(path: Path, done: int) -> bytes:
        if done == 0:
            return b""
        start = max(0, done - TAIL_CHECK)
        with open(path, "rb") as fh:
            fh.seek(start)
            return fh.read(done - start)

    def _wipe(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM ev")
            conn.execute("DELETE FROM agg")
            conn.execute("DELETE FROM segs")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _drop_segments(self, conn: sqlite3.Connection, ids: Sequence[int]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            marks = ",".join("?" * len(ids))
            conn.execute(f"DELETE FROM ev WHERE seg IN ({marks})", tuple(ids))
            conn.execute(f"DELETE FROM segs WHERE id IN ({marks})", tuple(ids))
            conn.execute("DELETE FROM agg")
            conn.execute(
                "INSERT INTO agg SELECT name, op, ok, count(*), max(ts) FROM ev "
                "GROUP BY name, op, ok"
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _segment_id(conn: sqlite3.Connection, ident: str) -> int:
        row = conn.execute("SELECT id FROM segs WHERE ident=?", (ident,)).fetchone()
        if row:
            return int(row[0])
        conn.execute(
            "INSERT OR IGNORE INTO segs(ident, done, tail, lines) VALUES(?, 0, x'', 0)", (ident,)
        )
        return int(conn.execute("SELECT id FROM segs WHERE ident=?", (ident,)).fetchone()[0])

    def _remember_fd(self, sid: int, path: Path, st: os.stat_result) -> None:
        with self._fd_lock:
            have = self._fds.get(sid)
            if have is not None and have[0] == st.st_ino:
                return
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return
            if os.fstat(fd).st_ino != st.st_ino:
                os.close(fd)
                return
            if have is not None:
                with contextlib.suppress(OSError):
                    os.close(have[1])
            self._fds[sid] = (st.st_ino, fd)

    def _index_segment(
        self,
        conn: sqlite3.Connection,
        sid: int,
        path: Path,
        size: int,
        base: int,
        total: int,
        progress: ProgressFn | None,
        cancelled: CancelFn | None,
    ) -> int:
        added = 0
        while True:
            done = conn.execute("SELECT done FROM segs WHERE id=?", (sid,)).fetchone()[0]
            if done >= size:
                return added
            rows: list[tuple[Any, ...]] = []
            agg: dict[tuple[int, int, int], list[float]] = {}
            new_ids: dict[str, int] = {}
            end = done
            lines = 0
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT done FROM segs WHERE id=?", (sid,)).fetchone()[0] != done:
                    conn.execute("ROLLBACK")
                    continue  # another process moved on; look again
                tok, optok = self._tok, self._optok
                match = _LINE.match
                for off, raw, complete in LogFiles.iter_lines(path, done, size):
                    if not complete:
                        break
                    end = off + len(raw) + 1
                    lines += 1
                    m = match(raw)
                    if m is None:
                        continue  # foreign, torn or corrupt: verify reports it
                    tsb, opb, nameb, userb, okb, srcb, seqb = m.groups()
                    name = tok.get(nameb)
                    if name is None:
                        name = self._intern_tok(conn, nameb, new_ids)
                    op = optok.get(opb)
                    if op is None:
                        op = self._intern_tok(conn, opb, new_ids, quoted=False)
                    user = tok.get(userb)
                    if user is None:
                        user = self._intern_tok(conn, userb, new_ids)
                    src = tok.get(srcb)
                    if src is None:
                        src = self._intern_tok(conn, srcb, new_ids)
                    ok = 1 if okb == b"true" else 0
                    ts = parse_ts(tsb.decode("ascii", "replace"))
                    rows.append((int(seqb), ts, name, op, user, ok, src, sid, off, len(raw)))
                    k = (name, op, ok)
                    slot = agg.get(k)
                    tsv = ts or 0.0
                    if slot is None:
                        agg[k] = [1, tsv]
                    else:
                        slot[0] += 1
                        if tsv > slot[1]:
                            slot[1] = tsv
                    if lines >= BATCH:
                        break
                conn.executemany(
                    "INSERT INTO ev(seq, ts, name, op, user, ok, src, seg, off, len) "
                    "VALUES(?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                conn.executemany(
                    "INSERT INTO agg VALUES(?,?,?,?,?) ON CONFLICT(name, op, ok) DO UPDATE "
                    "SET cnt = cnt + excluded.cnt, last = max(coalesce(last, 0), excluded.last)",
                    [(k[0], k[1], k[2], v[0], v[1]) for k, v in agg.items()],
                )
                conn.execute(
                    "UPDATE segs SET done=?, tail=?, lines=lines+? WHERE id=?",
                    (end, self._tail(path, end), lines, sid),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                self._load_ids(conn)
                raise
            if new_ids:
                with self._ids_lock:
                    for s, i in new_ids.items():
                        self._ids[s] = i
                        self._names[i] = s
            added += len(rows)
            if progress is not None:
                progress(base + end, total)
            if end == done or (cancelled is not None and cancelled()):
                return added

    def _intern_tok(
        self, conn: sqlite3.Connection, token: bytes, new_ids: dict[str, int], quoted: bool = True
    ) -> int:
        text = _token(token) if quoted else token.decode("utf-8", "replace")
        sid = self._intern(conn, text, new_ids)
        (self._tok if quoted else self._optok)[token] = sid
        return sid
