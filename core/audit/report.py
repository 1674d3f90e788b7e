"""Compliance report over a period: activity per secret and per user, failures, alerts,
chain status, and, from inputs the caller provides, rotation and backup hygiene.

    from core.audit.report import build
    text = build(audit_log, since="30d", fmt="html", secrets=vault.list(),
                 last_backup=newest_backup_time)

Formats: ``md`` (Markdown), ``html`` (one self-contained file with an inline SVG chart
of activity per day), ``csv`` (long form: section, subject, metric, value) and ``json``
(the data every other format is rendered from, see :func:`collect`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.audit.alerts import ALERT_OP, NOT_COUNTED
from core.audit.events import format_ts, parse_duration, to_epoch
from core.audit.report_render import (
    STALE_READ_DAYS,
    activity_svg,
    render_csv,
    render_html,
    render_json,
    render_md,
)
from core.errors import ValidationError

if TYPE_CHECKING:
    from core.audit.log import AuditLog

FORMATS = ("md", "html", "csv", "json")
READ_OPS = frozenset({"read", "reveal", "copy", "run", "inject", "export", "get"})
WRITE_OPS = frozenset({"write", "store", "update", "rotate", "rollback", "import", "undelete"})
RECENT_FAILURES = 50
MAX_ALERTS = 100
__all__ = [
    "FORMATS",
    "READ_OPS",
    "STALE_READ_DAYS",
    "WRITE_OPS",
    "activity_svg",
    "build",
    "collect",
    "render_csv",
    "render_html",
    "render_json",
    "render_md",
]


def build(
    log: AuditLog,
    since: timedelta | str = timedelta(days=30),
    fmt: str = "md",
    *,
    secrets: Iterable[Any] | None = None,
    last_backup: datetime | None = None,
    now: datetime | None = None,
    verify: bool = True,
    title: str = "vaultui audit report",
) -> str:
    """Render the report for the last ``since`` (a timedelta or '30d') as ``fmt``.

    ``secrets`` is the vault's inventory (``SecretRecord`` objects or mappings with
    ``name``, ``rotation`` {policy, last_rotated}, ``created_at``, ``deleted``): it
    enables the "never rotated / overdue" and "not read in 90 days" sections.
    ``last_backup`` is the newest backup's time. ``verify`` runs a full chain check.
    """
    if fmt not in FORMATS:
        raise ValidationError(f"Unknown report format {fmt!r}", hint="use md, html, csv or json")
    data = collect(
        log, since, secrets=secrets, last_backup=last_backup, now=now, verify=verify, title=title
    )
    return {"md": render_md, "html": render_html, "csv": render_csv, "json": render_json}[fmt](data)


def collect(
    log: AuditLog,
    since: timedelta | str = timedelta(days=30),
    *,
    secrets: Iterable[Any] | None = None,
    last_backup: datetime | None = None,
    now: datetime | None = None,
    verify: bool = True,
    title: str = "vaultui audit report",
) -> dict[str, Any]:
    """The report as plain data (what ``--format json`` prints)."""
    period = parse_duration(since)
    now = (now or log.clock()).astimezone(UTC)
    start = now - period
    t0, t1 = start.timestamp(), now.timestamp()
    log.refresh_index()
    idx = log.index
    skip = {i for i in (idx.str_id(op) for op in NOT_COUNTED) if i}

    per_secret: dict[str, dict[str, Any]] = {}
    per_user: dict[str, dict[str, Any]] = {}
    failures_by_op: dict[str, int] = {}
    totals = {"events": 0, "failures": 0, "alerts": 0}
    rows = idx.execute(
        "SELECT name, user, op, ok, count(*), max(ts) FROM ev WHERE ts >= ? AND ts <= ? "
        "GROUP BY name, user, op, ok",
        (t0, t1),
    )
    alert_id = idx.str_id(ALERT_OP)
    for name_id, user_id, op_id, ok, cnt, last in rows:
        if op_id == alert_id:
            totals["alerts"] += cnt
        if op_id in skip:
            continue
        op = idx.name_of(op_id) or "?"
        totals["events"] += cnt
        if ok == 0:
            totals["failures"] += cnt
            failures_by_op[op] = failures_by_op.get(op, 0) + cnt
        name = log.name_label(name_id)
        if name is not None:
            _tally(per_secret.setdefault(name, _blank_row("name", name)), op, ok, cnt, last)
        user = idx.name_of(user_id) or "(unknown)"
        entry = per_user.setdefault(user, _blank_row("user", user))
        _tally(entry, op, ok, cnt, last)
        if name is not None:
            entry.setdefault("_secrets", set()).add(name)
    for entry in per_user.values():
        entry["secrets"] = len(entry.pop("_secrets", ()))
    for table in (per_secret, per_user):
        for entry in table.values():
            entry["last_access"] = _iso(entry["last_access"])

    days = max(
        1, int(period.total_seconds() // 86400) + (1 if period.total_seconds() % 86400 else 0)
    )
    days = min(days, 400)
    day0 = datetime(start.year, start.month, start.day, tzinfo=UTC)
    activity: list[dict[str, Any]] = [
        {"date": (day0 + timedelta(days=i)).strftime("%Y-%m-%d"), "events": 0, "failures": 0}
        for i in range(days + 1)
    ]
    params: list[Any] = [day0.timestamp(), t0, t1]
    cond = ""
    if skip:
        cond = f" AND op NOT IN ({','.join('?' * len(skip))})"
        params.extend(sorted(skip))
    for bucket, cnt, fails in idx.execute(
        "SELECT CAST((ts - ?) / 86400 AS INTEGER), count(*), sum(ok = 0) FROM ev "
        f"WHERE ts >= ? AND ts <= ?{cond} GROUP BY 1",
        params,
    ):
        if bucket is not None and 0 <= bucket < len(activity):
            activity[bucket]["events"] += cnt
            activity[bucket]["failures"] += fails or 0
    while (
        len(activity) > 1
        and activity[-1]["events"] == 0
        and activity[-1]["date"] > now.strftime("%Y-%m-%d")
    ):
        activity.pop()

    recent_failures = [
        _slim(e)
        for e in log.get_audit_events(
            success=False, start_time=t0, end_time=t1, limit=RECENT_FAILURES
        )
        if e.get("operation") not in NOT_COUNTED
    ]
    recent_failures.reverse()
    alerts = [
        _slim(e)
        for e in log.get_audit_events(
            operation=ALERT_OP, start_time=t0, end_time=t1, limit=MAX_ALERTS
        )
    ]
    alerts.reverse()

    chain: dict[str, Any] = {"checked": False}
    if verify:
        rep = log.verify()
        chain = {
            "checked": True,
            "ok": rep.ok,
            "summary": rep.summary(),
            "events": rep.events,
            "files": len(rep.files),
            "first_break": None
            if rep.first_break is None
            else {
                "file": rep.first_break.file,
                "line": rep.first_break.line,
                "kind": rep.first_break.kind,
                "reason": rep.first_break.reason,
            },
            "warnings": len(rep.warnings),
            "keyed": rep.keyed,
        }

    data: dict[str, Any] = {
        "title": title,
        "generated_at": format_ts(now),
        "period": {
            "since": format_ts(start),
            "until": format_ts(now),
            "days": round(period.total_seconds() / 86400, 2),
        },
        "chain": chain,
        "totals": {**totals, "secrets": len(per_secret), "users": len(per_user)},
        "secrets": sorted(per_secret.values(), key=lambda r: (-r["total"], r["name"])),
        "users": sorted(per_user.values(), key=lambda r: (-r["total"], r["user"])),
        "failures": {
            "by_operation": dict(sorted(failures_by_op.items(), key=lambda kv: -kv[1])),
            "recent": recent_failures,
        },
        "alerts": alerts,
        "activity": activity,
        "backup": _backup(last_backup, now),
        "rotation": None,
        "not_read": None,
    }
    if secrets is not None:
        inventory = [s for s in (_secret_info(x) for x in secrets) if s is not None]
        data["rotation"] = _rotation(inventory, now)
        data["not_read"] = _not_read(log, inventory, now)
    return data


def _blank_row(key: str, value: str) -> dict[str, Any]:
    return {
        key: value,
        "total": 0,
        "reads": 0,
        "writes": 0,
        "failures": 0,
        "operations": {},
        "last_access": None,
    }


def _tally(entry: dict[str, Any], op: str, ok: int | None, cnt: int, last: float | None) -> None:
    entry["total"] += cnt
    if op in READ_OPS:
        entry["reads"] += cnt
    if op in WRITE_OPS:
        entry["writes"] += cnt
    if ok == 0:
        entry["failures"] += cnt
    entry["operations"][op] = entry["operations"].get(op, 0) + cnt
    if last is not None and (entry["last_access"] is None or last > entry["last_access"]):
        entry["last_access"] = last


def _iso(ts: float | None) -> str | None:
    return format_ts(datetime.fromtimestamp(ts, UTC)) if ts is not None else None


def _slim(event: Mapping[str, Any]) -> dict[str, Any]:
    keep = (
        "seq",
        "timestamp",
        "operation",
        "secret_name",
        "user",
        "source",
        "success",
        "error_message",
        "rule",
        "message",
        "count",
        "severity",
    )
    return {k: event.get(k) for k in keep if k in event}


def _backup(last_backup: datetime | None, now: datetime) -> dict[str, Any]:
    if last_backup is None:
        return {"last_backup": None, "age_days": None}
    if last_backup.tzinfo is None:
        last_backup = last_backup.astimezone()
    age = (now - last_backup).total_seconds() / 86400
    return {"last_backup": format_ts(last_backup), "age_days": round(age, 1)}


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _secret_info(obj: Any) -> dict[str, Any] | None:
    name = _get(obj, "name")
    if not isinstance(name, str) or _get(obj, "deleted", False):
        return None
    rotation = _get(obj, "rotation") or {}
    if not isinstance(rotation, Mapping):
        rotation = {}
    created = _when(_get(obj, "created_at")) or _when(_get(obj, "created_ts"))
    return {
        "name": name,
        "policy": rotation.get("policy"),
        "last_rotated": _when(rotation.get("last_rotated")),
        "created_at": created,
    }


def _when(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return to_epoch(value)
    except ValidationError:
        return None


def _interval(policy: Any) -> timedelta | None:
    if policy is None:
        return None
    try:
        from core.rotation.policy import parse_policy, policy_interval
    except ImportError:  # pragma: no cover - rotation is part of core
        return None
    try:
        return policy_interval(parse_policy(policy))
    except ValidationError:
        return None


def _rotation(inventory: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    never: list[dict[str, Any]] = []
    overdue: list[dict[str, Any]] = []
    t = now.timestamp()
    for s in inventory:
        policy = s["policy"]
        text = str(getattr(policy, "value", policy)) if policy is not None else None
        if s["last_rotated"] is None:
            never.append({"name": s["name"], "policy": text or "none"})
        interval = _interval(policy)
        if interval is None:
            continue
        base = s["last_rotated"] or s["created_at"]
        if base is None:
            continue
        due = base + interval.total_seconds()
        if due < t:
            overdue.append(
                {
                    "name": s["name"],
                    "policy": text,
                    "last_rotated": _iso(s["last_rotated"]),
                    "due": _iso(due),
                    "days_overdue": round((t - due) / 86400, 1),
                }
            )
    overdue.sort(key=lambda r: -r["days_overdue"])
    return {"never_rotated": never, "overdue": overdue, "secrets": len(inventory)}


def _not_read(
    log: AuditLog, inventory: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    idx = log.index
    ops = [i for i in (idx.str_id(op) for op in READ_OPS) if i]
    last_read: dict[str, float] = {}
    if ops:
        for name_id, last in idx.execute(
            f"SELECT name, max(last) FROM agg WHERE ok = 1 AND op IN ({','.join('?' * len(ops))}) "
            "GROUP BY name",
            ops,
        ):
            label = log.name_label(name_id)
            if label is not None and last is not None:
                # clear (old) and sealed lines of one secret: keep the newer read
                last_read[label] = max(last, last_read.get(label, last))
    cutoff = now.timestamp() - STALE_READ_DAYS * 86400
    out = []
    for s in inventory:
        last = last_read.get(s["name"])
        if last is None or last < cutoff:
            out.append({"name": s["name"], "last_read": _iso(last)})
    return out


# ---------------------------------------------------------------------- rendering
