"""The compliance report renders in every format and says the right things."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from core.audit import AlertRule
from core.audit.report import build, collect
from core.errors import ValidationError

from .conftest import Clock, lines_of, write_lines


@pytest.fixture
def busy_log(make_log, clock: Clock):
    clock.now = datetime(2024, 3, 1, 9, tzinfo=UTC)
    log = make_log(clock=clock, alert_rules=[AlertRule("f2", "failures", 2, timedelta(hours=1))])
    clock.now -= timedelta(days=120)
    log.log("read", "legacy/key", user="ops")  # read long ago only
    clock.now = datetime(2024, 3, 1, 9, tzinfo=UTC) - timedelta(days=5)
    for day in range(5):
        log.log("read", "api_key", user="alice")
        log.log("write", "db/password", user="bob")
        if day == 2:
            for _ in range(3):
                log.log(
                    "read", "db/password", user="mallory", success=False, error_message="wrong key"
                )
        clock.advance(days=1)
    return log


SECRETS = [
    {
        "name": "api_key",
        "rotation": {"policy": "daily", "last_rotated": "2024-02-29T08:00:00+00:00"},
        "created_at": "2023-01-01T00:00:00+00:00",
    },
    {
        "name": "db/password",
        "rotation": {
            "policy": "weekly",
            "last_rotated": datetime(2024, 1, 1, tzinfo=UTC).timestamp(),
        },
        "created_at": "2023-01-01T00:00:00+00:00",
    },
    {"name": "legacy/key", "rotation": {}, "created_at": "2022-01-01T00:00:00+00:00"},
    {"name": "gone", "deleted": True},
]


def test_collect_counts_activity_failures_and_hygiene(busy_log) -> None:
    data = collect(
        busy_log, "30d", secrets=SECRETS, last_backup=datetime(2024, 2, 28, 9, tzinfo=UTC)
    )
    assert data["chain"]["ok"] is True
    assert data["totals"]["events"] == 13 and data["totals"]["failures"] == 3
    assert data["totals"]["alerts"] == 1
    by_name = {r["name"]: r for r in data["secrets"]}
    assert by_name["db/password"]["failures"] == 3 and by_name["db/password"]["writes"] == 5
    assert "legacy/key" not in by_name  # outside the period
    users = {r["user"]: r for r in data["users"]}
    assert users["mallory"]["failures"] == 3 and users["alice"]["reads"] == 5
    assert data["failures"]["by_operation"] == {"read": 3}
    assert [a["secret_name"] for a in data["alerts"]] == ["db/password"]
    overdue = {r["name"] for r in data["rotation"]["overdue"]}
    assert overdue == {"api_key", "db/password"}
    assert [r["name"] for r in data["rotation"]["never_rotated"]] == ["legacy/key"]
    assert [r["name"] for r in data["not_read"]] == ["db/password", "legacy/key"]
    assert data["backup"]["age_days"] == 2.0
    assert sum(d["events"] for d in data["activity"]) == 13


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.external.append(v)

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_one_self_contained_file_with_a_chart(busy_log) -> None:
    page = build(busy_log, "30d", "html", secrets=SECRETS)
    parser = _Collect()
    parser.feed(page)
    parser.close()
    assert "svg" in parser.tags and parser.tags.count("rect") >= 6
    assert "script" not in parser.tags and parser.external == []
    text = " ".join(parser.text)
    assert "Activity per secret" in text and "db/password" in text
    assert "Secrets overdue for rotation" in text and "chain ok" in text


def test_csv_reads_back(busy_log) -> None:
    rows = list(csv.DictReader(io.StringIO(build(busy_log, "30d", "csv", secrets=SECRETS))))
    assert set(rows[0]) == {"section", "subject", "metric", "value"}
    fails = [r for r in rows if r["section"] == "secret" and r["metric"] == "failures"]
    assert {r["subject"]: r["value"] for r in fails}["db/password"] == "3"
    assert any(r["section"] == "overdue" and r["subject"] == "api_key" for r in rows)
    assert [r["value"] for r in rows if r["section"] == "chain" and r["metric"] == "ok"] == ["True"]


def test_markdown_and_json(busy_log) -> None:
    md = build(busy_log, "7d", "md")
    assert md.startswith("# vaultui audit report")
    assert "| db/password |" in md and "## Alerts" in md
    doc = json.loads(build(busy_log, "7d", "json"))
    assert doc["totals"]["users"] == 3 and doc["rotation"] is None


def test_report_shows_a_broken_chain(busy_log, log_path: Path) -> None:
    lines = lines_of(log_path)
    del lines[3]
    write_lines(log_path, lines)
    data = collect(busy_log, "30d")
    assert data["chain"]["ok"] is False
    assert data["chain"]["first_break"]["line"] == 4
    assert "chain broken" in build(busy_log, "30d", "md")


def test_unknown_format_is_refused(busy_log) -> None:
    with pytest.raises(ValidationError):
        build(busy_log, "30d", "pdf")
