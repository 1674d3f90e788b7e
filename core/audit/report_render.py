"""Rendering a compliance report's data (:func:`core.audit.report.collect`) as JSON,
long-form CSV, Markdown, or one self-contained HTML page with an inline SVG chart.

Every renderer takes the same data and escapes what it prints for its format (HTML
entities, CSV quoting, Markdown table cells).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping
from typing import Any

STALE_READ_DAYS = 90  # a secret not read for this long is listed (collect and render)


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
