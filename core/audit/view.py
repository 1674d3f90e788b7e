"""A filtered, lazily read window on the trail: what the app's audit pane and the
``audit list``/``export`` commands page through.

An :class:`EventView` knows only row numbers; lines are read (and parsed) a block at a
time when asked for, and kept in a small LRU cache, so a view over millions of events
costs a few megabytes at most and opens in the time one index query takes.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.audit.events import SEED_FIELDS, now_utc, parse_duration, to_epoch
from core.audit.index import Where
from core.audit.names import name_ids, name_terms, tokens_containing
from core.controlchars import escape_controls
from core.errors import ValidationError
from core.private_file import private_file

if TYPE_CHECKING:
    from core.audit.log import AuditLog

BLOCK = 64
CACHE_BLOCKS = 256
CSV_FIELDS = ("seq", *SEED_FIELDS, "source", "host", "pid", "version")
"""The CSV export's columns: the sequence number, the seed's fields, then ours."""

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class Filters:
    """What a view shows. Every field is optional; all given ones must match.

    ``secret``, ``operation``, ``user`` and ``source`` accept comma-separated lists and
    shell globs (``db/*``); ``start``/``end`` are epoch seconds (inclusive).
    """

    secret: str | None = None
    operation: str | None = None
    user: str | None = None
    success: bool | None = None
    start: float | None = None
    end: float | None = None
    source: str | None = None

    @classmethod
    def from_text(
        cls,
        *,
        secret: str | None = None,
        operation: str | None = None,
        user: str | None = None,
        success: str | bool | None = None,
        since: str | None = None,
        until: str | None = None,
        source: str | None = None,
        now: datetime | None = None,
    ) -> Filters:
        """Build filters from what a person types: ``success`` as ok/failed/yes/no,
        ``since``/``until`` as a duration back from now (``24h``, ``7d``) or an ISO
        date/time (``2024-01-15``, ``2024-01-15T10:00``; local time without offset)."""
        return cls(
            secret=_blank(secret),
            operation=_blank(operation),
            user=_blank(user),
            success=parse_success(success),
            start=parse_when(since, now),
            end=parse_when(until, now, end=True),
            source=_blank(source),
        )

    @property
    def active(self) -> bool:
        """True when at least one filter is set."""
        return any(
            v is not None
            for v in (
                self.secret,
                self.operation,
                self.user,
                self.success,
                self.start,
                self.end,
                self.source,
            )
        )

    def describe(self) -> str:
        """A short human summary, e.g. 'secret=db/* op=read failures since 2024-01-15'."""
        parts = []
        if self.secret:
            parts.append(f"secret={self.secret}")
        if self.operation:
            parts.append(f"op={self.operation}")
        if self.user:
            parts.append(f"user={self.user}")
        if self.source:
            parts.append(f"source={self.source}")
        if self.success is not None:
            parts.append("successes" if self.success else "failures")
        if self.start is not None:
            parts.append("since " + _short_time(self.start))
        if self.end is not None:
            parts.append("until " + _short_time(self.end))
        return " ".join(parts) or "all events"

    def with_(self, **changes: Any) -> Filters:
        """A copy with some fields changed."""
        return replace(self, **changes)


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _split(value: str | None) -> str | list[str] | None:
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return parts[0] if len(parts) == 1 else parts


def parse_success(value: str | bool | None) -> bool | None:
    """ok/success/true/yes -> True, failed/failure/false/no -> False, ''/all -> None."""
    if value is None or isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in ("", "all", "any", "*"):
        return None
    if text in ("ok", "success", "successes", "succeeded", "true", "yes", "y", "1"):
        return True
    if text in ("failed", "fail", "failure", "failures", "false", "no", "n", "0", "error"):
        return False
    raise ValidationError(f"Cannot read {value!r} as a success filter", hint="use ok or failed")


def parse_when(
    value: str | None, now: datetime | None = None, *, end: bool = False
) -> float | None:
    """A time bound from '24h' (that long ago), an ISO date or date-time, or ''.

    A bare date as an end bound means the end of that day.
    """
    text = (value or "").strip()
    if not text:
        return None
    now = now or now_utc()
    try:
        return now.timestamp() - parse_duration(text).total_seconds()
    except ValidationError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"Cannot read the time {value!r}", hint="use 24h, 7d, 2024-01-15 or 2024-01-15T10:30"
        ) from None
    bound = to_epoch(moment)
    assert bound is not None
    if end and len(text) == 10:
        bound += 86400 - 1e-6
    return bound


def _short_time(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Row:
    """One row of a view: index-row number ``n``, the parsed event (None if the line
    no longer parses) and the raw line."""

    n: int
    event: dict[str, Any] | None
    raw: str


class EventView:
    """The events of ``log`` matching ``filters``, addressed by row index 0..len-1 in log
    order. Thread-safe; all I/O happens in the calling thread."""

    def __init__(self, log: AuditLog, filters: Filters) -> None:
        self.log = log
        self.filters = filters
        self._where: Where | None = None
        self._ns: array[int] | None = None
        self._first = 1
        self._count = 0
        self._cache: OrderedDict[int, list[Row]] = OrderedDict()
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return self._count

    def _compile(self) -> Where:
        f = self.filters
        return self.log.index.where(
            name_terms(_split(f.secret), self.log.index, self.log.sealer),
            _split(f.operation),
            _split(f.user),
            f.success,
            f.start,
            f.end,
            _split(f.source),
        )

    def reload(self, progress: ProgressFn | None = None, cancelled: CancelFn | None = None) -> int:
        """Refresh the index and recompute which rows match; return the row count."""
        self.log.refresh_index(progress, cancelled)
        where = self._compile()
        with self._lock:
            self._where = where
            self._cache.clear()
            if where.sql == "1" and not where.empty:
                self._ns = None
                self._first, self._count = self.log.index.span()
            else:
                self._ns = self.log.index.numbers(where)
                self._count = len(self._ns)
            return self._count

    def grow(self) -> int:
        """Pick up events appended since the last reload/grow; return how many rows were
        added (the view's filters apply to them)."""
        self.log.refresh_index()
        with self._lock:
            if self._where is None:
                return self.reload()
            before = self._count
            if self._ns is None:
                first, count = self.log.index.span()
                if first != self._first:
                    return self.reload() - before
                self._count = count
            else:
                last = self._ns[-1] if len(self._ns) else 0
                where = self._where
                if where.empty:
                    where = self._compile()
                    self._where = where
                if not where.empty:
                    rows = self.log.index.execute(
                        f"SELECT n FROM ev WHERE ({where.sql}) AND n > ? ORDER BY n",
                        (*where.params, last),
                    )
                    self._ns.extend(r[0] for r in rows)
                    self._count = len(self._ns)
            if self._count != before:
                # the last block may have been cached while it was short
                self._cache.pop(max(before - 1, 0) // BLOCK, None)
            return self._count - before

    def n_at(self, i: int) -> int:
        """The index-row number of view row ``i``."""
        if self._ns is None:
            return self._first + i
        return self._ns[i]

    def index_of(self, n: int) -> int | None:
        """The view row holding index row ``n`` (None if it is not in the view)."""
        if self._ns is None:
            i = n - self._first
            return i if 0 <= i < self._count else None
        i = bisect_left(self._ns, n)
        return i if i < len(self._ns) and self._ns[i] == n else None

    def _nearest(self, n: int) -> int:
        if self._ns is None:
            return max(0, min(self._count - 1, n - self._first))
        return min(bisect_left(self._ns, n), max(0, len(self._ns) - 1))

    def row(self, i: int) -> Row | None:
        """Row ``i`` (parsed), or None when out of range."""
        if i < 0 or i >= self._count:
            return None
        block_no = i // BLOCK
        with self._lock:
            block = self._cache.get(block_no)
            if block is not None:
                self._cache.move_to_end(block_no)
        if block is None:
            block = self._load_block(block_no)
            with self._lock:
                self._cache[block_no] = block
                while len(self._cache) > CACHE_BLOCKS:
                    self._cache.popitem(last=False)
        offset = i - block_no * BLOCK
        return block[offset] if offset < len(block) else None

    def _locations(self, start: int, count: int) -> list[tuple[int, int, int, int]]:
        stop = min(self._count, start + count)
        if start >= stop:
            return []
        idx = self.log.index
        if self._ns is None:
            return idx.rows_between(self._first + start, self._first + stop - 1)
        return idx.rows_for(self._ns[start:stop])

    def _load_block(self, block_no: int) -> list[Row]:
        rows = []
        for n, seg, off, length in self._locations(block_no * BLOCK, BLOCK):
            raw = self._read(seg, off, length)
            try:
                event = json.loads(raw)
            except ValueError:
                event = None
            rows.append(Row(n, self.log.open(event) if isinstance(event, dict) else None, raw))
        return rows

    def _read(self, seg: int, off: int, length: int) -> str:
        try:
            return self.log.index.read(seg, off, length).decode("utf-8", "replace")
        except Exception:
            return ""

    def raw_lines(self, start: int, count: int) -> list[str]:
        """Raw lines of rows start..start+count-1 (no parsing, no caching)."""
        return [
            self._read(seg, off, length) for _n, seg, off, length in self._locations(start, count)
        ]

    def next_failure(self, i: int, direction: int = 1) -> int | None:
        """The nearest row after (``direction`` 1) or before (-1) row ``i`` whose event
        failed, or None."""
        if self._count == 0:
            return None
        where = self._where or self._compile()
        if where.empty:
            return None
        n = (
            self.n_at(max(0, min(i, self._count - 1)))
            if 0 <= i < self._count
            else (self.n_at(0) - 1 if i < 0 else self.n_at(self._count - 1) + 1)
        )
        if direction >= 0:
            sql = f"SELECT n FROM ev WHERE ok = 0 AND ({where.sql}) AND n > ? ORDER BY n LIMIT 1"
        else:
            sql = (
                f"SELECT n FROM ev WHERE ok = 0 AND ({where.sql}) AND n < ? ORDER BY n DESC LIMIT 1"
            )
        found = self.log.index.execute(sql, (*where.params, n))
        if not found:
            return None
        return self.index_of(found[0][0])

    def search(
        self,
        text: str,
        start: int,
        direction: int = 1,
        cancelled: CancelFn | None = None,
        progress: ProgressFn | None = None,
        chunk: int = 2000,
    ) -> int | None:
        """The nearest row after (or before) ``start`` whose raw line contains ``text``
        (case-insensitive); None when there is none (no wrap-around). A sealed name
        matches when the name it stands for contains ``text`` (with the key)."""
        needle = text.lower()
        if not needle or self._count == 0:
            return None
        needles = [
            needle,
            *(t.lower() for t in tokens_containing(needle, self.log.index, self.log.sealer)),
        ]

        def hit(raw: str) -> bool:
            low = raw.lower()
            return any(n in low for n in needles)

        total = self._count
        if direction >= 0:
            pos = start + 1
            while pos < total:
                lines = self.raw_lines(pos, chunk)
                for k, raw in enumerate(lines):
                    if hit(raw):
                        return pos + k
                pos += chunk
                if progress is not None:
                    progress(min(pos, total), total)
                if cancelled is not None and cancelled():
                    return None
        else:
            pos = start - 1
            while pos >= 0:
                lo = max(0, pos - chunk + 1)
                lines = self.raw_lines(lo, pos - lo + 1)
                for k in range(len(lines) - 1, -1, -1):
                    if hit(lines[k]):
                        return lo + k
                pos = lo - 1
                if progress is not None:
                    progress(total - max(pos, 0), total)
                if cancelled is not None and cancelled():
                    return None
        return None

    def activity(
        self,
        secret: str | None,
        *,
        buckets: int = 30,
        bucket_seconds: int = 86400,
        now: datetime | None = None,
    ) -> list[int]:
        """Event counts per time bucket (oldest first) for one secret (or all when None),
        ending now: by default 30 days, one bucket a day. For sparklines."""
        end = (now or self.log.clock()).timestamp()
        start = end - buckets * bucket_seconds
        idx = self.log.index
        params: list[Any] = [start, bucket_seconds, start, end]
        cond = ""
        if secret is not None:
            sids = name_ids(secret, idx, self.log.sealer)
            if not sids:
                return [0] * buckets
            cond = f" AND name IN ({','.join('?' * len(sids))})"
            params.extend(sids)
        rows = idx.execute(
            "SELECT CAST((ts - ?) / ? AS INTEGER) AS b, count(*) FROM ev "
            f"WHERE ts >= ? AND ts <= ?{cond} GROUP BY b",
            params,
        )
        out = [0] * buckets
        for b, cnt in rows:
            if b is not None and 0 <= b < buckets:
                out[b] += cnt
            elif b == buckets:
                out[-1] += cnt
        return out

    def export(
        self,
        path: Path,
        fmt: str | None = None,
        *,
        progress: ProgressFn | None = None,
        cancelled: CancelFn | None = None,
    ) -> int:
        """Write the view's events to ``path`` as ``jsonl`` (the raw chained lines),
        ``json`` (a list) or ``csv`` (chosen from the suffix when ``fmt`` is None).
        Returns the number of events written. The file is created 0600."""
        path = Path(path)
        fmt = (fmt or path.suffix.lstrip(".") or "jsonl").lower()
        if fmt not in ("jsonl", "json", "csv"):
            raise ValidationError(f"Unknown export format {fmt!r}", hint="use jsonl, json or csv")
        written = 0
        # a random exclusive temp file renamed over the target: nothing planted at the
        # path (or at a guessable temp name) ever receives the events
        with private_file(path, replace=True) as dest:
            out = io.TextIOWrapper(dest, encoding="utf-8", newline="")
            writer = (
                csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore") if fmt == "csv" else None
            )
            if writer is not None:
                writer.writeheader()
            if fmt == "json":
                out.write("[")
            step = 2000
            for pos in range(0, self._count, step):
                for raw in self.raw_lines(pos, step):
                    if fmt == "jsonl":
                        out.write(raw + "\n")
                    else:
                        try:
                            event = json.loads(raw)
                        except ValueError:
                            continue
                        if writer is not None:
                            writer.writerow(event)
                        else:
                            out.write(("," if written else "") + "\n" + json.dumps(event))
                    written += 1
                if progress is not None:
                    progress(min(pos + step, self._count), self._count)
                if cancelled is not None and cancelled():
                    raise InterruptedError("export cancelled")
            if fmt == "json":
                out.write("\n]\n")
            out.detach()  # flushes; private_file syncs, closes and publishes the file
        return written


def display_fields(event: dict[str, Any]) -> dict[str, str]:
    """Short display strings for one event (seq, time in UTC, ok mark, operation, secret,
    user, source, error), shared by the CLI and the app's table; control characters (in
    a provider's error text, say) as visible escapes."""
    ts = str(event.get("timestamp") or "")
    time_text = ts[:19].replace("T", " ") + ("Z" if ts.endswith("+00:00") else "")
    ok = event.get("success")
    error = event.get("error_message") or ""
    if event.get("operation") == "alert":
        error = str(event.get("message") or "")
    return {
        "seq": str(event.get("seq", "")),
        "time": escape_controls(time_text),
        "ok": "✓" if ok is True else "✗" if ok is False else "?",
        "operation": escape_controls(event.get("operation") or ""),
        "secret": escape_controls(event.get("secret_name") or "—"),
        "user": escape_controls(event.get("user") or ""),
        "source": escape_controls(event.get("source") or ""),
        "error": escape_controls(error),
    }
