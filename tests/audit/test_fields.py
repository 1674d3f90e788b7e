"""The audit line's fields are declared once (core.audit.events): every kind of line a
writer produces starts with them in that order, the query index reads them by that
order, and the CSV export's columns follow it."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest

from core.audit import AlertRule
from core.audit.alerts import ALERT_OP
from core.audit.events import SEED_FIELDS, STANDARD_FIELDS, standard_event

from .conftest import Clock, lines_of

FAIL2 = AlertRule("fail2", "failures", 2, timedelta(minutes=10))


def test_every_kind_of_line_starts_with_the_standard_fields(
    make_log, log_path: Path, clock: Clock
) -> None:
    log = make_log(clock=clock, alert_rules=[FAIL2])
    log.log("read", "api_key", version=3)
    log.log_many([{"operation": "sync_push", "secret_name": "db", "source": "provider:x"}])
    for _ in range(3):  # the third failure raises an alert line
        log.log("read", "api_key", success=False, error_message="denied")
    lines = [json.loads(raw) for raw in lines_of(log_path)]
    ops = [line["operation"] for line in lines]
    assert {"read", "sync_push", ALERT_OP} <= set(ops)
    for line in lines:
        assert tuple(line)[: len(STANDARD_FIELDS)] == STANDARD_FIELDS, line["operation"]
        assert tuple(line)[-3:] == ("seq", "kid", "chain")
    # the index parses the leading fields by that same order: queries find each line
    assert len(log.get_audit_events(secret_name="api_key")) == len(ops) - 1  # all but the push


def test_the_csv_export_columns_follow_the_seed(make_log, tmp_path: Path) -> None:
    log = make_log()
    log.log("read", "api_key", version=3)
    out = tmp_path / "events.csv"
    view = log.view()
    view.reload()
    assert view.export(out) == 1
    with out.open(newline="") as fh:
        header, row = list(csv.reader(fh))
    assert header[: len(SEED_FIELDS) + 1] == ["seq", *SEED_FIELDS]
    assert row[header.index("operation")] == "read" and row[header.index("version")] == "3"


def test_standard_event_refuses_a_field_that_is_not_standard() -> None:
    body = standard_event("read", secret_name="a", version=2)
    assert tuple(body) == STANDARD_FIELDS and body["success"] is True
    assert body["timestamp"] == "" and body["user"] is None
    with pytest.raises(TypeError):
        standard_event("read", value="hunter2")
