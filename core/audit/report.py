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

import csv
import html
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.audit.alerts import ALERT_OP, NOT_COUNTED
from core.audit.events import format_ts, parse_duration, to_epoch
from core.errors import ValidationError

if TYPE_CHECKING:
    from core.audit.log import AuditLog

FORMATS = ("md", "html", "csv", "json")
READ_OPS = frozenset({"read", "reveal", "copy", "run", "inject", "export", "get"})
WRITE_OPS = frozenset({"write", "store", "update", "rotate", "rollback", "import", "undelete"})
STALE_READ_DAYS = 90
RECENT_FAILURES = 50
MAX_ALERTS = 100


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
    activity = [
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


def render_json(data: Mapping[str, Any]) -> str:
    """The report data as indented JSON."""
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def render_csv(data: Mapping[str, Any]) -> str:
    """Long-form CSV: one ``section,subject,metric,value`` row per number or fact."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "subject", "metric", "value"])
    w.writerow(["period", "", "since", data["period"]["since"]])
    w.writerow(["period", "", "until", data["period"]["until"]])
    chain = data["chain"]
    w.writerow(["chain", "", "ok", chain.get("ok", "not checked")])
    if chain.get("summary"):
        w.writerow(["chain", "", "summary", chain["summary"]])
    for k, v in data["totals"].items():
        w.writerow(["totals", "", k, v])
    for row in data["secrets"]:
        for metric in ("total", "reads", "writes", "failures", "last_access"):
            w.writerow(["secret", row["name"], metric, row[metric]])
    for row in data["users"]:
        for metric in ("total", "failures", "secrets", "last_access"):
            w.writerow(["user", row["user"], metric, row[metric]])
    for op, cnt in data["failures"]["by_operation"].items():
        w.writerow(["failures", op, "count", cnt])
    for a in data["alerts"]:
        w.writerow(["alert", a.get("secret_name") or "", a.get("rule", ""), a.get("message", "")])
    for day in data["activity"]:
        w.writerow(["activity", day["date"], "events", day["events"]])
        w.writerow(["activity", day["date"], "failures", day["failures"]])
    rot = data.get("rotation")
    if rot is not None:
        for r in rot["never_rotated"]:
            w.writerow(["never_rotated", r["name"], "policy", r["policy"]])
        for r in rot["overdue"]:
            w.writerow(["overdue", r["name"], "days_overdue", r["days_overdue"]])
    for r in data.get("not_read") or []:
        w.writerow(["not_read_90d", r["name"], "last_read", r["last_read"] or ""])
    w.writerow(["backup", "", "last_backup", data["backup"]["last_backup"] or ""])
    return buf.getvalue()


def _md_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return ["_none_", ""]

    def cell(v: Any) -> str:
        return ("" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return [*out, ""]


def _sections(data: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(heading, headers, rows) for every table, shared by Markdown and HTML."""
    out: list[tuple[str, list[str], list[list[Any]]]] = [
        (
            "Activity per secret",
            ["Secret", "Total", "Reads", "Writes", "Failures", "Last access"],
            [
                [r["name"], r["total"], r["reads"], r["writes"], r["failures"], r["last_access"]]
                for r in data["secrets"]
            ],
        ),
        (
            "Activity per user",
            ["User", "Total", "Failures", "Secrets", "Last access"],
            [
                [r["user"], r["total"], r["failures"], r["secrets"], r["last_access"]]
                for r in data["users"]
            ],
        ),
        (
            "Failures by operation",
            ["Operation", "Failures"],
            [[k, v] for k, v in data["failures"]["by_operation"].items()],
        ),
        (
            "Recent failures",
            ["Seq", "Time", "Operation", "Secret", "User", "Error"],
            [
                [
                    e.get("seq"),
                    e.get("timestamp"),
                    e.get("operation"),
                    e.get("secret_name"),
                    e.get("user"),
                    e.get("error_message"),
                ]
                for e in data["failures"]["recent"]
            ],
        ),
        (
            "Alerts",
            ["Time", "Rule", "Secret", "Message"],
            [
                [a.get("timestamp"), a.get("rule"), a.get("secret_name"), a.get("message")]
                for a in data["alerts"]
            ],
        ),
    ]
    rot = data.get("rotation")
    if rot is not None:
        out.append(
            (
                "Secrets never rotated",
                ["Secret", "Policy"],
                [[r["name"], r["policy"]] for r in rot["never_rotated"]],
            )
        )
        out.append(
            (
                "Secrets overdue for rotation",
                ["Secret", "Policy", "Last rotated", "Due", "Days overdue"],
                [
                    [r["name"], r["policy"], r["last_rotated"], r["due"], r["days_overdue"]]
                    for r in rot["overdue"]
                ],
            )
        )
    if data.get("not_read") is not None:
        out.append(
            (
                f"Secrets not read in {STALE_READ_DAYS} days",
                ["Secret", "Last read"],
                [[r["name"], r["last_read"] or "never"] for r in data["not_read"]],
            )
        )
    return out


def _summary_lines(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    chain = data["chain"]
    status = chain.get("summary", "not checked") if chain.get("checked") else "not checked"
    backup = data["backup"]
    b = (
        "none recorded"
        if backup["last_backup"] is None
        else (f"{backup['last_backup']} ({backup['age_days']} days ago)")
    )
    t = data["totals"]
    return [
        ("Period", f"{data['period']['since']} to {data['period']['until']}"),
        ("Chain", status),
        ("Events", f"{t['events']:,} ({t['failures']:,} failed)"),
        ("Alerts", f"{t['alerts']:,}"),
        ("Secrets / users active", f"{t['secrets']:,} / {t['users']:,}"),
        ("Last backup", b),
    ]


def render_md(data: Mapping[str, Any]) -> str:
    """The report as Markdown."""
    lines = [f"# {data['title']}", "", f"Generated {data['generated_at']}.", ""]
    for label, value in _summary_lines(data):
        lines.append(f"- **{label}:** {value}")
    lines.append("")
    lines.append("## Activity per day")
    lines.append("")
    lines += _md_table(
        ["Date", "Events", "Failures"],
        [[d["date"], d["events"], d["failures"]] for d in data["activity"]],
    )
    for heading, headers, rows in _sections(data):
        lines.append(f"## {heading}")
        lines.append("")
        lines += _md_table(headers, rows)
    return "\n".join(lines)


def activity_svg(activity: list[Mapping[str, Any]], width: int = 720, height: int = 180) -> str:
    """An inline SVG bar chart of events (and failures, in red) per day."""
    n = max(1, len(activity))
    peak = max([d["events"] for d in activity] + [1])
    left, bottom, top = 40, 20, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    bar = plot_w / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Audit events per day">',
        f"<title>Audit events per day (peak {peak})</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for i, d in enumerate(activity):
        x = left + i * bar
        h = plot_h * d["events"] / peak
        fh = plot_h * d["failures"] / peak
        label = html.escape(f"{d['date']}: {d['events']} events, {d['failures']} failed")
        parts.append(
            f'<rect class="ev" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(bar - 1, 1):.1f}" height="{h:.1f}" fill="#4a7bd0">'
            f"<title>{label}</title></rect>"
        )
        if fh > 0:
            parts.append(
                f'<rect class="fail" x="{x:.1f}" y="{top + plot_h - fh:.1f}" '
                f'width="{max(bar - 1, 1):.1f}" height="{fh:.1f}" fill="#d04a4a"/>'
            )
    if activity:
        parts.append(
            f'<text x="{left}" y="{height - 4}" font-size="10">'
            f"{html.escape(activity[0]['date'])}</text>"
        )
        parts.append(
            f'<text x="{left + plot_w}" y="{height - 4}" font-size="10" '
            f'text-anchor="end">{html.escape(activity[-1]["date"])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:0 0 1.5em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}
th{background:#f0f0f0} .ok{color:#1a7f37} .bad{color:#b42318;font-weight:bold}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px} dt{font-weight:bold}
"""


def render_html(data: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no scripts)."""
    e = html.escape
    chain = data["chain"]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(data['title'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(data['title'])}</h1>",
        f"<p>Generated {e(data['generated_at'])}.</p>",
        "<dl>",
    ]
    for label, value in _summary_lines(data):
        cls = ""
        if label == "Chain" and chain.get("checked"):
            cls = ' class="ok"' if chain.get("ok") else ' class="bad"'
        out.append(f"<dt>{e(label)}</dt><dd{cls}>{e(value)}</dd>")
    out.append("</dl>")
    out.append("<h2>Activity per day</h2>")
    out.append(activity_svg(list(data["activity"])))
    for heading, headers, rows in _sections(data):
        out.append(f"<h2>{e(heading)}</h2>")
        if not rows:
            out.append("<p><em>none</em></p>")
            continue
        out.append(
            "<table><thead><tr>"
            + "".join(f"<th>{e(h)}</th>" for h in headers)
            + "</tr></thead><tbody>"
        )
        for r in rows:
            out.append(
                "<tr>" + "".join(f"<td>{e('' if v is None else str(v))}</td>" for v in r) + "</tr>"
            )
        out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
