"""Querying an audit trail: filters over its index, the seed's per-secret stats, access
summaries, chain verification and lazy views. A mixin of :class:`core.audit.log.AuditLog`
(which holds the files, the key and the index these read).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from core.audit.alerts import ALERT_OP, NOT_COUNTED
from core.audit.events import format_ts, to_epoch
from core.audit.index import AuditIndex, Where
from core.audit.names import name_ids, name_terms
from core.audit.verify import (
    CancelFn,
    ProgressFn,
    VerifyCursor,
    VerifyReport,
    verify_files,
    verify_isolated,
)

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from core.audit.files import LogFiles
    from core.audit.log import AuditLog
    from core.audit.sealing import AuditFieldSealer

RECENT_LIMIT = 10  # events in a stats() answer's recent_accesses


class AuditQueries:
    """The read side of an audit log: queries, stats and verification over its files."""

    # set by AuditLog.__init__ (annotations only: no class attributes)
    files: LogFiles
    clock: Callable[[], datetime]
    _key: bytes | None
    _sealer: AuditFieldSealer | None
    _index: AuditIndex | None
    _index_lock: threading.Lock

    if TYPE_CHECKING:  # provided by AuditLog

        @property
        def keyed(self) -> bool: ...

        def open(self, event: dict[str, Any]) -> dict[str, Any]: ...

        def name_label(self, sid: int) -> str | None: ...

    @property
    def index(self) -> AuditIndex:
        """The query index (created on first use)."""
        with self._index_lock:
            if self._index is None:
                self._index = AuditIndex(self.files)
            return self._index

    def refresh_index(
        self, progress: ProgressFn | None = None, cancelled: CancelFn | None = None
    ) -> int:
        """Bring the index up to date with the log; return how many events were added."""
        if not self.files.dir.exists():
            return 0
        return self.index.refresh(progress, cancelled)

    def where(
        self,
        secret_name: str | Sequence[str] | None = None,
        operation: str | Sequence[str] | None = None,
        start_time: datetime | float | str | None = None,
        end_time: datetime | float | str | None = None,
        user: str | Sequence[str] | None = None,
        success: bool | None = None,
        source: str | Sequence[str] | None = None,
    ) -> Where:
        """Compile query filters (after refreshing the index)."""
        self.refresh_index()
        secret_name = name_terms(secret_name, self.index, self._sealer)
        return self.index.where(
            secret_name, operation, user, success, to_epoch(start_time), to_epoch(end_time), source
        )

    def get_audit_events(
        self,
        secret_name: str | Sequence[str] | None = None,
        operation: str | Sequence[str] | None = None,
        start_time: datetime | float | str | None = None,
        end_time: datetime | float | str | None = None,
        user: str | Sequence[str] | None = None,
        success: bool | None = None,
        limit: int | None = None,
        *,
        source: str | Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Events matching every given filter, oldest first; with ``limit``, the newest
        ``limit`` of them. Times are inclusive; naive datetimes are local time. Names,
        operations and users may be lists or globs (``db/*``)."""
        if limit is not None and limit <= 0:
            return []
        if not self.files.dir.exists():
            return []
        where = self.where(secret_name, operation, start_time, end_time, user, success, source)
        rows = self.index.locate(where, limit)
        return [self.open(e) for e in self.index.events_at(rows)]

    def count(self, **filters: Any) -> int:
        """How many events match the filters of :meth:`get_audit_events`."""
        if not self.files.dir.exists():
            return 0
        return self.index.count(self.where(**filters))

    def stats(self, name: str | None = None) -> dict[str, Any]:
        """The seed's stats for one secret (or the whole trail when ``name`` is None).

        Keys: ``total_accesses``, ``successful_accesses``, ``failed_accesses``,
        ``operations`` ({op: count}), ``last_access`` (ISO timestamp or None),
        ``recent_accesses`` (the newest 10 events, newest first), plus
        ``accesses_last_hour``, ``accesses_last_24h``, ``failures_last_hour`` and
        ``alerts``. Alerts and other audit bookkeeping are not counted as accesses.
        """
        empty: dict[str, Any] = {
            "secret_name": name,
            "total_accesses": 0,
            "successful_accesses": 0,
            "failed_accesses": 0,
            "operations": {},
            "last_access": None,
            "recent_accesses": [],
            "accesses_last_hour": 0,
            "accesses_last_24h": 0,
            "failures_last_hour": 0,
            "alerts": 0,
        }
        if not self.files.dir.exists():
            return empty
        self.refresh_index()
        idx = self.index
        nids: list[int] = []
        marks = ""
        if name is not None:
            nids = name_ids(name, idx, self._sealer)
            if not nids:
                return empty
            marks = ",".join("?" * len(nids))
            rows = idx.execute(
                f"SELECT op, ok, sum(cnt), max(last) FROM agg WHERE name IN ({marks}) "
                "GROUP BY op, ok",
                nids,
            )
        else:
            rows = idx.execute("SELECT op, ok, sum(cnt), max(last) FROM agg GROUP BY op, ok")
        skip = {i for i in (idx.str_id(op) for op in NOT_COUNTED) if i}
        alert_id = idx.str_id(ALERT_OP)
        ops: dict[str, int] = {}
        total = good = bad = alerts = 0
        last = None
        for op, ok, cnt, last_ts in rows:
            if op == alert_id:
                alerts += cnt
            if op in skip:
                continue
            total += cnt
            if ok == 1:
                good += cnt
            elif ok == 0:
                bad += cnt
            label = idx.name_of(op) or "?"
            ops[label] = ops.get(label, 0) + cnt
            if last_ts is not None and (last is None or last_ts > last):
                last = last_ts
        now = self.clock().timestamp()
        cond, params = (f"name IN ({marks})", list(nids)) if name is not None else ("1", [])
        op_filter = ""
        if skip:
            op_filter = f" AND op NOT IN ({','.join('?' * len(skip))})"
            params = [*params, *sorted(skip)]
        base = f"SELECT count(*) FROM ev WHERE {cond}{op_filter} AND ts >= ?"

        def counted(extra: str, since: float) -> int:
            return int(idx.execute(base + extra, [*params, since])[0][0])

        recent_rows = idx.execute(
            f"SELECT n, seg, off, len FROM ev WHERE {cond}{op_filter} "
            f"ORDER BY n DESC LIMIT {RECENT_LIMIT}",
            params,
        )
        return {
            "secret_name": name,
            "total_accesses": total,
            "successful_accesses": good,
            "failed_accesses": bad,
            "operations": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
            "last_access": format_ts(datetime.fromtimestamp(last, UTC)) if last else None,
            "recent_accesses": [self.open(e) for e in idx.events_at(recent_rows)],
            "accesses_last_hour": counted("", now - 3600),
            "accesses_last_24h": counted("", now - 86400),
            "failures_last_hour": counted(" AND ok = 0", now - 3600),
            "alerts": alerts,
        }

    def access_summary(
        self, operations: Iterable[str] | None = None
    ) -> dict[str, tuple[int, datetime | None]]:
        """{secret name: (access count, last access time)} for every secret in the trail,
        from the index's running counts (cheap; for ``SecretMetadata``). ``operations``
        limits what counts (e.g. reads only); by default every operation but alerts."""
        if not self.files.dir.exists():
            return {}
        self.refresh_index()
        idx = self.index
        sql = "SELECT name, sum(cnt), max(last) FROM agg WHERE name != 0"
        params: list[int] = []
        if operations is not None:
            params = [i for i in (idx.str_id(op) for op in operations) if i]
            if not params:
                return {}
            sql += f" AND op IN ({','.join('?' * len(params))})"
        else:
            params = sorted(i for i in (idx.str_id(op) for op in NOT_COUNTED) if i)
            if params:
                sql += f" AND op NOT IN ({','.join('?' * len(params))})"
        sql += " GROUP BY name"
        skip = params
        out: dict[str, tuple[int, datetime | None]] = {}
        for nid, cnt, last in idx.execute(sql, skip):
            name = self.name_label(nid)
            if name is None:
                continue
            # one secret may have clear (old) and sealed lines: add them up
            when = datetime.fromtimestamp(last, UTC) if last else None
            prior = out.get(name)
            if prior is not None:
                cnt += prior[0]
                if prior[1] is not None and (when is None or prior[1] > when):
                    when = prior[1]
            out[name] = (int(cnt), when)
        return out

    def verify(
        self,
        *,
        resume: VerifyCursor | None = None,
        progress: ProgressFn | None = None,
        cancelled: CancelFn | None = None,
        isolated: bool = False,
    ) -> VerifyReport:
        """Check the whole chain (all segments, oldest first) and the head record.

        The report's ``ok`` is False on any break; ``first_break`` names the file, line
        number and what is wrong. Pass a previous report's ``cursor`` as ``resume`` to
        check only what was appended since. ``isolated`` runs a full check in a child
        process (the app uses it so a long check does not slow the screen).
        """
        if not self.files.dir.exists():
            return VerifyReport(keyed=self.keyed)
        if isolated and resume is None:
            return verify_isolated(
                self.files.path, self._key, progress=progress, cancelled=cancelled
            )
        return verify_files(
            self.files, self._key, resume=resume, progress=progress, cancelled=cancelled
        )

    def view(self, filters: Any = None) -> Any:
        """An :class:`core.audit.view.EventView` over the filtered trail (lazy rows)."""
        from core.audit.view import EventView, Filters

        return EventView(
            cast("AuditLog", self), filters or Filters()
        )  # only AuditLog mixes this in
