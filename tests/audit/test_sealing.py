"""Sealed names in the trail: what the bytes hold, what key holders and others read."""

from __future__ import annotations

import json
import os
from pathlib import Path

from core.audit.events import GENESIS, build_line, key_id
from core.audit.sealing import PLACEHOLDER
from tests.audit.conftest import KEY, OTHER_KEY, lines_of


def test_names_errors_and_details_are_sealed_and_read_back(make_log, log_path: Path) -> None:
    log = make_log()
    log.log("read", "db/password", version=3)
    log.log("read", "db/password", success=False, error_message="db/password is locked")
    log.log("sync_resolve", "db/replica", choice="db/replica@remote")
    data = log_path.read_bytes()
    for clear in (b"db/password", b"db/replica", b"is locked", b"choice", b"remote"):
        assert clear not in data
    events = log.get_audit_events()
    assert [e["secret_name"] for e in events] == ["db/password", "db/password", "db/replica"]
    assert events[1]["error_message"] == "db/password is locked"
    assert events[2]["choice"] == "db/replica@remote" and "sealed_extra" not in events[2]
    # one name, one token: the index still counts and filters per secret
    first, second = (json.loads(x) for x in lines_of(log_path)[:2])
    assert first["secret_name"] == second["secret_name"]
    assert log.stats("db/password")["total_accesses"] == 2
    assert len(log.get_audit_events(secret_name="db/*")) == 3
    assert log.access_summary()["db/replica"][0] == 1
    assert log.verify().ok


def test_the_view_filters_and_searches_by_clear_name(make_log) -> None:
    from core.audit import Filters

    log = make_log()
    for i in range(5):
        log.log("read", f"team{i}/api-token")
    view = log.view(Filters(secret="team3/*"))
    assert view.reload() == 1 and view.row(0).event["secret_name"] == "team3/api-token"
    everything = log.view()
    everything.reload()
    assert everything.search("TEAM2/API", -1) == 2
    assert sum(everything.activity("team4/api-token")) == 1


def test_without_the_key_names_read_as_a_placeholder_and_the_chain_verifies(
    make_log, log_path: Path
) -> None:
    make_log().log("read", "db/password", success=False, error_message="nope", extra_note="x")
    locked = make_log(None)
    event = locked.get_audit_events()[0]
    assert event["secret_name"] == PLACEHOLDER and event["error_message"] == PLACEHOLDER
    assert event["sealed_extra"] == PLACEHOLDER and "extra_note" not in event
    report = locked.verify()
    assert report.ok and report.unchecked == 1
    # another vault's key opens nothing
    other = make_log(OTHER_KEY).get_audit_events()[0]
    assert other["secret_name"] == PLACEHOLDER


def test_keyless_lines_carry_no_name(make_log, log_path: Path) -> None:
    """A line written while no key is known (say a failed unlock) cannot be sealed: the
    name is left out, and cut out of its texts."""
    log = make_log(None)
    log.log("read", "db/password", success=False, error_message="db/password: vault locked")
    raw = json.loads(lines_of(log_path)[0])
    assert raw["secret_name"] is None and raw["name_withheld"] is True
    assert raw["error_message"] == "<name>: vault locked"
    assert b"db/password" not in log_path.read_bytes()
    keyed = make_log()
    keyed.log("read", "db/password")
    assert keyed.verify().ok


def test_old_lines_with_clear_names_keep_reading_and_verifying(make_log, log_path: Path) -> None:
    """A trail written before names were sealed: its lines stay as they are, new lines
    are sealed, and queries by name find both."""
    log_path.parent.mkdir(parents=True)
    chain, lines = GENESIS, []
    for seq, name in enumerate(("db/password", "other"), start=1):
        body = {
            "timestamp": f"2024-01-0{seq}T10:00:00.000000+00:00",
            "operation": "read",
            "secret_name": name,
            "user": "alice",
            "success": True,
            "error_message": None,
            "ip_address": None,
            "source": "api",
            "pid": os.getpid(),
            "host": "old",
            "version": None,
        }
        line, chain = build_line(body, seq, key_id(KEY), KEY, chain)
        lines.append(line)
    log_path.write_bytes(b"".join(lines))
    log = make_log()
    log.log("write", "db/password")
    data = log_path.read_bytes()
    assert data.startswith(b"".join(lines))  # old lines untouched
    assert data.count(b'"secret_name": "db/password"') == 1  # only the old one
    assert log.verify().ok
    assert [e["operation"] for e in log.get_audit_events(secret_name="db/password")] == [
        "read",
        "write",
    ]
    assert log.stats("db/password")["total_accesses"] == 2
    assert log.access_summary()["db/password"][0] == 2
    assert make_log(None).get_audit_events()[0]["secret_name"] == "db/password"
