"""Reading the audit index: compiled filters (:class:`Where`), counts, event numbers
and the lines they point to. A mixin of :class:`core.audit.index.AuditIndex`, which
keeps the index up to date.
"""

from __future__ import annotations

import fnmatch
import json
import os
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import AuditError

if TYPE_CHECKING:
    import sqlite3
    import threading


@dataclass(frozen=True)
class Where:
    """A compiled filter: SQL condition over ``ev`` and its parameters."""

    sql: str
    params: tuple[Any, ...]
    empty: bool = False
    """True when the filter can match nothing (an unknown name, say)."""


class IndexQueries:
    """The query methods of the audit index (over its ``ev``, ``strs`` and ``agg``
    tables)."""

    # set by AuditIndex.__init__ (annotations only: no class attributes)
    _ids: dict[str, int]
    _fds: dict[int, tuple[int, int]]
    _fd_lock: threading.Lock

    if TYPE_CHECKING:  # provided by AuditIndex

        def _conn(self) -> sqlite3.Connection: ...

        def _load_ids(self, conn: sqlite3.Connection) -> None: ...

        def str_id(self, text: str | None) -> int | None: ...

    def where(
        self,
        secret_name: str | Sequence[str] | None = None,
        operation: str | Sequence[str] | None = None,
        user: str | Sequence[str] | None = None,
        success: bool | None = None,
        start: float | None = None,
        end: float | None = None,
        source: str | Sequence[str] | None = None,
    ) -> Where:
        """Compile filters into SQL. Names may use shell globs (``db/*``)."""
        parts: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("name", secret_name),
            ("op", operation),
            ("user", user),
            ("src", source),
        ):
            if value is None:
                continue
            ids = self._ids_for(value)
            if not ids:
                return Where("0", (), empty=True)
            if len(ids) == 1:
                parts.append(f"{column} = ?")
            else:
                parts.append(f"{column} IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        if success is not None:
            parts.append("ok = ?")
            params.append(1 if success else 0)
        if start is not None:
            parts.append("ts >= ?")
            params.append(start)
        if end is not None:
            parts.append("ts <= ?")
            params.append(end)
        return Where(" AND ".join(parts) or "1", tuple(params))

    def _ids_for(self, value: str | Sequence[str]) -> list[int]:
        values = [value] if isinstance(value, str) else list(value)
        ids: list[int] = []
        globs = [v for v in values if any(c in v for c in "*?[")]
        for v in values:
            if v in globs:
                continue
            sid = self.str_id(v)
            if sid is not None:
                ids.append(sid)
        if globs:
            self._load_ids(self._conn())
            for s, sid in self._ids.items():
                if any(fnmatch.fnmatchcase(s, g) for g in globs):
                    ids.append(sid)
        return ids

    def count(self, where: Where) -> int:
        """How many events match."""
        if where.empty:
            return 0
        sql = f"SELECT count(*) FROM ev WHERE {where.sql}"
        return int(self._conn().execute(sql, where.params).fetchone()[0])

    def locate(
        self, where: Where, limit: int | None = None, newest: bool = True
    ) -> list[tuple[int, int, int, int]]:
        """(n, seg, off, len) of matching events in log order; with ``limit``, the
        newest (or oldest) ``limit`` of them."""
        if where.empty:
            return []
        order = "DESC" if newest else "ASC"
        sql = f"SELECT n, seg, off, len FROM ev WHERE {where.sql} ORDER BY n {order}"
        params: tuple[Any, ...] = where.params
        if limit is not None:
            sql += " LIMIT ?"
            params = (*params, int(limit))
        rows: list[tuple[int, int, int, int]] = self._conn().execute(sql, params).fetchall()
        if newest:
            rows.reverse()
        return rows

    def numbers(self, where: Where) -> array[int]:
        """The row numbers (``n``) of every matching event, ascending."""
        out = array("q")
        if where.empty:
            return out
        sql = f"SELECT n FROM ev WHERE {where.sql} ORDER BY n"
        cur = self._conn().execute(sql, where.params)
        while True:
            chunk = cur.fetchmany(50_000)
            if not chunk:
                return out
            out.extend(r[0] for r in chunk)

    def span(self) -> tuple[int, int]:
        """(smallest n, count) over all indexed events. Row numbers are dense (rows are
        appended in log order and only a prefix is ever dropped), so this is two rowid
        lookups rather than a count over millions of rows."""
        conn = self._conn()
        # two statements: SQLite answers a lone min() or max() from the b-tree edge
        lo = conn.execute("SELECT min(n) FROM ev").fetchone()[0]
        hi = conn.execute("SELECT max(n) FROM ev").fetchone()[0]
        if lo is None or hi is None:
            return (1, 0)
        return (int(lo), int(hi) - int(lo) + 1)

    def rows_between(self, lo: int, hi: int) -> list[tuple[int, int, int, int]]:
        """(n, seg, off, len) for lo <= n <= hi."""
        rows: list[tuple[int, int, int, int]] = (
            self._conn()
            .execute("SELECT n, seg, off, len FROM ev WHERE n BETWEEN ? AND ? ORDER BY n", (lo, hi))
            .fetchall()
        )
        return rows

    def rows_for(self, ns: Iterable[int]) -> list[tuple[int, int, int, int]]:
        """(n, seg, off, len) for the given row numbers, ascending."""
        ns = list(ns)
        if not ns:
            return []
        out: list[tuple[int, int, int, int]] = []
        conn = self._conn()
        for i in range(0, len(ns), 500):
            part = ns[i : i + 500]
            out.extend(
                conn.execute(
                    f"SELECT n, seg, off, len FROM ev WHERE n IN ({','.join('?' * len(part))}) "
                    "ORDER BY n",
                    part,
                ).fetchall()
            )
        return out

    def read(self, seg: int, off: int, length: int) -> bytes:
        """The raw line (no newline) at a location from :meth:`locate`."""
        with self._fd_lock:
            have = self._fds.get(seg)
        if have is None:
            raise AuditError("The audit index points to a log file that is gone")
        return os.pread(have[1], length, off)

    def events_at(self, rows: Iterable[tuple[int, int, int, int]]) -> list[dict[str, Any]]:
        """Parse the lines at the given locations (skipping any that no longer parse)."""
        out = []
        for _n, seg, off, length in rows:
            try:
                ev = json.loads(self.read(seg, off, length))
            except (ValueError, AuditError):
                continue
            if isinstance(ev, dict):
                out.append(ev)
        return out

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query on this thread's connection (for stats and reports)."""
        rows: list[tuple[Any, ...]] = self._conn().execute(sql, tuple(params)).fetchall()
        return rows
