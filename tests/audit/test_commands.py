"""``vaultui --batch audit ...`` handlers (vaultui.batch.commands.audit), driven by argparse."""

from __future__ import annotations

import argparse
import csv
import io
import json
import threading
import time
from pathlib import Path

import pytest

from core.errors import EXIT_INTEGRITY, EXIT_OK
from vaultui.batch.commands import audit as commands_audit

from .conftest import lines_of, write_lines


def _run(log, *argv: str, **kw) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="vaultui")
    commands_audit.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["audit", *argv])
    out = io.StringIO()
    code = args.audit_handler(args, log, out=out, **kw)
    return code, out.getvalue()


@pytest.fixture
def log(make_log):
    log = make_log()
    log.log("read", "api_key")
    log.log("read", "db/password", success=False, error_message="wrong key")
    log.log("write", "db/password", user="bob")
    return log


def test_list_text_and_json_with_filters(log) -> None:
    code, text = _run(log, "list")
    assert code == EXIT_OK and "db/password" in text and "(3 events; all events)" in text
    code, text = _run(log, "list", "--failed", "--json")
    events = json.loads(text)
    assert [e["secret_name"] for e in events] == ["db/password"]
    code, text = _run(log, "list", "--secret", "db/*", "--user", "bob", "--json")
    assert [e["operation"] for e in json.loads(text)] == ["write"]
    code, text = _run(log, "list", "-n", "1", "--json")
    assert [e["seq"] for e in json.loads(text)] == [3]


def test_stats(log) -> None:
    code, text = _run(log, "stats", "db/password", "--json")
    stats = json.loads(text)
    assert (stats["total_accesses"], stats["failed_accesses"]) == (2, 1)
    code, text = _run(log, "stats")
    assert code == EXIT_OK and "total_accesses:      3" in text


def test_verify_exit_codes(log, log_path: Path) -> None:
    code, text = _run(log, "verify")
    assert code == EXIT_OK and text.startswith("chain ok")
    lines = lines_of(log_path)
    del lines[1]
    write_lines(log_path, lines)
    code, text = _run(log, "verify")
    assert code == EXIT_INTEGRITY == 5
    assert "secrets_audit.log line 2: deleted" in text
    code, text = _run(log, "verify", "--json")
    assert json.loads(text)["first_break"]["line"] == 2


def test_report_to_file(log, tmp_path: Path) -> None:
    target = tmp_path / "r.csv"
    code, text = _run(log, "report", "--since", "7d", "--format", "csv", "-o", str(target))
    assert code == EXIT_OK and "wrote" in text
    assert (target.stat().st_mode & 0o777) == 0o600
    rows = list(csv.DictReader(target.open()))
    assert any(r["section"] == "secret" and r["subject"] == "api_key" for r in rows)
    code, text = _run(log, "report", "--format", "md", "--no-verify")
    assert text.startswith("# vaultui audit report")


def test_tail_follows_new_events(log) -> None:
    code, text = _run(log, "tail", "-n", "2", "--json")
    assert code == EXIT_OK
    assert [json.loads(x)["seq"] for x in text.splitlines()] == [2, 3]
    started = time.monotonic()
    done = threading.Event()

    def writer() -> None:
        time.sleep(0.3)
        log.log("reveal", "api_key")
        time.sleep(0.3)
        done.set()

    threading.Thread(target=writer).start()
    _code, text = _run(
        log,
        "tail",
        "-f",
        "-n",
        "0",
        "--json",
        "--interval",
        "0.05",
        stop=lambda: done.is_set() or time.monotonic() - started > 10,
    )
    assert [json.loads(x)["operation"] for x in text.splitlines()] == ["reveal"]


def test_alerts_command(make_log) -> None:
    from datetime import timedelta

    from core.audit import AlertRule

    log = make_log(alert_rules=[AlertRule("f1", "failures", 1, timedelta(hours=1))])
    code, text = _run(log, "alerts")
    assert text == "no alerts\n"
    log.log("read", "k", success=False)
    log.log("read", "k", success=False)
    code, text = _run(log, "alerts", "--json")
    assert code == EXIT_OK and [a["rule"] for a in json.loads(text)] == ["f1"]
