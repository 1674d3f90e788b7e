"""The recent audit events a backup carries (the seed's "Audit Information").

Uses the audit log's own query (``AuditLog.get_audit_events(limit=...)``) when it is
available, else reads the last lines of the JSON-lines file directly, backwards from the
end, so a log of millions of events costs the same as a short one.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 1000
_BLOCK = 64 * 1024


def recent_events(
    audit: Any, path: Path | None, *, limit: int = DEFAULT_LIMIT, since_ts: float | None = None
) -> list[dict[str, Any]]:
    """Up to ``limit`` newest audit events (oldest first), newer than ``since_ts`` if given.

    Never raises: a missing or unreadable log gives an empty list (a backup must not fail
    because of its audit appendix).
    """
    events: list[dict[str, Any]] | None = None
    query = getattr(audit, "get_audit_events", None)
    if callable(query):
        try:
            found = query(limit=limit, start_time=since_ts) if since_ts else query(limit=limit)
            events = list(found)
        except Exception as exc:  # the appendix is best effort: never fail the backup
            log.warning("backup: audit query failed (%s); reading the file", type(exc).__name__)
            events = None
    if events is None:
        if path is None:
            path = getattr(audit, "path", None)
        events = tail_file(Path(path), limit) if path else []
        if since_ts is not None:
            events = [e for e in events if (t := _ts(e)) is None or t > since_ts]
    return [e for e in events if isinstance(e, dict)][-limit:]


def _ts(event: dict[str, Any]) -> float | None:
    from datetime import datetime

    raw = event.get("timestamp")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def tail_file(path: Path, limit: int) -> list[dict[str, Any]]:
    """The last ``limit`` JSON objects of a JSON-lines file (oldest first)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            data = b""
            pos = end
            while pos > 0 and data.count(b"\n") <= limit:
                step = min(_BLOCK, pos)
                pos -= step
                f.seek(pos)
                data = f.read(step) + data
    except OSError:
        return []
    lines = data.split(b"\n")
    if pos > 0:
        lines = lines[1:]  # the first one may be cut
    out: list[dict[str, Any]] = []
    for line in reversed(lines):  # newest first, until enough valid events
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            out.append(event)
            if len(out) >= limit:
                break
    out.reverse()
    return out
