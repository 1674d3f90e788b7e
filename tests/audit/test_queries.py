"""Queries, stats and the sidecar index."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.audit import Filters

from .conftest import Clock, lines_of, write_lines


def _fill(log, clock: Clock) -> None:
    plan = [
        ("read", "api_key", "alice", True),
        ("read", "api_key", "bob", False),
        ("write", "api_key", "alice", True),
        ("read", "db/password", "alice", True),
        ("read", "db/password", "carol", False),
        ("delete", "db/old", "bob", True),
        ("list", None, "alice", True),
        ("unlock", None, "alice", False),
    ]
    for op, name, user, ok in plan:
        log.log(op, name, user=user, success=ok, error_message=None if ok else "denied")
        clock.advance(hours=1)


def test_seed_query_with_naive_local_datetime(make_log, clock: Clock) -> None:
    log = make_log(clock=clock)
    clock.now = datetime.now(UTC) - timedelta(days=10)
    log.log("read", "api_key")  # older than the seed's 7-day window
    clock.now = datetime.now(UTC) - timedelta(hours=2)
    log.log("read", "api_key")
    log.log("write", "api_key")
    events = log.get_audit_events(
        secret_name="api_key", operation="read", start_time=datetime.now() - timedelta(days=7)
    )
    assert len(events) == 1 and events[0]["operation"] == "read"


def test_filters_combine(make_log, clock: Clock) -> None:
    log = make_log(clock=clock)
    _fill(log, clock)
    assert len(log.get_audit_events()) == 8
    assert [e["user"] for e in log.get_audit_events(secret_name="api_key")] == [
        "alice",
        "bob",
        "alice",
    ]
    assert len(log.get_audit_events(operation="read")) == 4
    assert len(log.get_audit_events(user="alice", success=True)) == 4
    failed = log.get_audit_events(success=False)
    assert [e["secret_name"] for e in failed] == ["api_key", "db/password", None]
    assert len(log.get_audit_events(secret_name="db/*")) == 3
    assert len(log.get_audit_events(operation=["write", "delete"])) == 2
    assert log.get_audit_events(secret_name="nope") == []
    start = datetime(2024, 1, 15, 12, 30, tzinfo=UTC)
    end = datetime(2024, 1, 15, 14, 30, tzinfo=UTC)
    window = log.get_audit_events(start_time=start, end_time=end)
    assert [e["operation"] for e in window] == ["write", "read", "read"]  # inclusive
    assert log.count(operation="read", success=False) == 2


def test_limit_returns_the_newest_in_order(make_log, clock: Clock) -> None:
    log = make_log(clock=clock)
    for i in range(20):
        log.log("read", "k", version=i)
    got = log.get_audit_events(limit=5)
    assert [e["version"] for e in got] == [15, 16, 17, 18, 19]
    assert log.get_audit_events(limit=0) == []


def test_stats_have_the_seed_keys(make_log, clock: Clock) -> None:
    log = make_log(clock=clock)
    _fill(log, clock)
    stats = log.stats("api_key")
    assert stats["total_accesses"] == 3
    assert stats["successful_accesses"] == 2
    assert stats["failed_accesses"] == 1
    assert stats["operations"] == {"read": 2, "write": 1}
    assert stats["last_access"] == "2024-01-15T12:30:00.000000+00:00"
    assert [e["user"] for e in stats["recent_accesses"]] == ["alice", "bob", "alice"]
    assert stats["recent_accesses"][0]["operation"] == "write"  # newest first
    overall = log.stats()
    assert overall["total_accesses"] == 8 and overall["failed_accesses"] == 3
    empty = log.stats("never-seen")
    assert empty["total_accesses"] == 0 and empty["last_access"] is None


def test_stats_recent_windows_follow_the_clock(make_log, clock: Clock) -> None:
    log = make_log(clock=clock)
    for _ in range(3):
        log.log("read", "k")
        clock.advance(minutes=30)
    clock.advance(hours=2)
    log.log("read", "k", success=False)
    s = log.stats("k")
    assert s["accesses_last_hour"] == 1 and s["failures_last_hour"] == 1
    assert s["accesses_last_24h"] == 4


def test_access_summary_counts_per_secret(make_log, clock: Clock) -> None:
    log = make_log(clock=clock)
    _fill(log, clock)
    summary = log.access_summary()
    assert set(summary) == {"api_key", "db/password", "db/old"}
    count, last = summary["db/password"]
    assert count == 2 and last == datetime(2024, 1, 15, 14, 30, tzinfo=UTC)


def test_index_follows_appends_and_is_rebuilt_when_deleted(make_log, log_path: Path) -> None:
    log = make_log()
    log.log("read", "a")
    assert log.count() == 1
    log.log("read", "b")
    assert log.count() == 2
    log.close()
    for p in log_path.parent.glob("secrets_audit.idx*"):
        p.unlink()
    fresh = make_log()
    assert [e["secret_name"] for e in fresh.get_audit_events()] == ["a", "b"]


def test_index_rebuilds_after_an_in_place_rewrite(make_log, log_path: Path) -> None:
    log = make_log()
    for name in ("a", "b", "c"):
        log.log("read", name)
    assert log.count() == 3
    lines = lines_of(log_path)
    # names are sealed on disk: swap b's token for the token of a longer name
    b, bbbbbb = (log.sealer.seal_name(n).encode() for n in ("b", "bbbbbb"))
    lines[1] = lines[1].replace(b'"secret_name": "' + b, b'"secret_name": "' + bbbbbb)
    write_lines(log_path, lines)
    assert [e["secret_name"] for e in log.get_audit_events()] == ["a", "bbbbbb", "c"]
    assert not log.verify().ok


def test_corrupt_index_file_is_discarded(make_log, log_path: Path) -> None:
    log = make_log()
    log.log("read", "a")
    log.close()
    for p in log_path.parent.glob("secrets_audit.idx*"):
        p.write_bytes(b"this is not sqlite" * 100)
    assert make_log().count() == 1


def test_index_holds_no_values(make_log, log_path: Path) -> None:
    log = make_log()
    log.log("write", "svc/key", value="hunter2-canary")
    log.count()
    idx = log_path.with_name("secrets_audit.idx")
    assert b"hunter2-canary" not in idx.read_bytes()


def test_view_pages_filters_and_finds_failures(make_log, clock: Clock) -> None:
    log = make_log(clock=clock)
    _fill(log, clock)
    view = log.view()
    assert view.reload() == 8
    assert view.row(0).event["operation"] == "read"
    assert view.row(8) is None
    assert view.next_failure(0) == 1
    assert view.next_failure(1) == 4
    assert view.next_failure(4) == 7
    assert view.next_failure(7) is None
    assert view.next_failure(7, -1) == 4
    assert view.search("db/old", 0) == 5
    assert view.search("db/old", 5) is None
    assert view.search("API_KEY", 7, -1) == 2
    reads = log.view(Filters(operation="read"))
    assert reads.reload() == 4
    assert [reads.row(i).event["user"] for i in range(4)] == ["alice", "bob", "alice", "carol"]
    assert reads.next_failure(-1) == 1
    log.log("read", "late")
    assert reads.grow() == 1 and len(reads) == 5
    assert reads.row(4).event["secret_name"] == "late"
    assert view.grow() == 1


def test_view_export_formats(make_log, clock: Clock, tmp_path: Path) -> None:
    import csv

    log = make_log(clock=clock)
    _fill(log, clock)
    view = log.view(Filters(success=False))
    view.reload()
    assert view.export(tmp_path / "f.csv") == 3
    with open(tmp_path / "f.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["user"] for r in rows] == ["bob", "carol", "alice"]
    assert view.export(tmp_path / "f.jsonl") == 3
    assert [json.loads(x)["success"] for x in (tmp_path / "f.jsonl").read_text().splitlines()] == [
        False,
        False,
        False,
    ]
    assert (
        len(
            json.loads(
                (tmp_path / "f.json").read_text() if view.export(tmp_path / "f.json") else "[]"
            )
        )
        == 3
    )


def test_filters_from_text(clock: Clock) -> None:
    now = datetime(2024, 1, 15, 12, tzinfo=UTC)
    f = Filters.from_text(secret="db/*", success="failed", since="24h", now=now)
    assert f.secret == "db/*" and f.success is False
    assert f.start == (now - timedelta(hours=24)).timestamp()
    g = Filters.from_text(until="2024-01-14", since="2024-01-10T00:00+00:00", now=now)
    assert g.start == datetime(2024, 1, 10, tzinfo=UTC).timestamp()
    assert g.end is not None and g.end > datetime(2024, 1, 14, 23, 0).astimezone().timestamp()
    assert "failures" in f.describe() and "secret=db/*" in f.describe()
    assert not Filters().active and f.active


def test_activity_buckets(make_log, clock: Clock) -> None:
    log = make_log(clock=clock)
    for day in range(5):
        for _ in range(day + 1):
            log.log("read", "k")
        clock.advance(days=1)
    view = log.view()
    view.reload()
    data = view.activity("k", buckets=7, now=clock.now)
    assert data == [0, 0, 1, 2, 3, 4, 5]
    assert view.activity("missing", buckets=3) == [0, 0, 0]


def test_index_stays_dense_when_a_middle_segment_vanishes(make_log, log_path: Path) -> None:
    log = make_log(max_bytes=2048)
    for i in range(60):
        log.log("read", f"k{i}")
    view = log.view()
    assert view.reload() == 60
    gone = log_path.with_name("secrets_audit.log.2")
    lost = len(lines_of(gone))
    gone.unlink()
    view = log.view()
    assert view.reload() == 60 - lost
    names = [view.row(i).event["secret_name"] for i in range(len(view))]
    assert names == [e["secret_name"] for e in log.get_audit_events()]
    assert len(set(names)) == len(names)


def test_default_group_commit_syncs_soon(make_log) -> None:
    import time

    log = make_log(durable=0.02)
    log.log("read", "a")
    deadline = time.monotonic() + 5
    while log._dirty and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not log._dirty  # the background fdatasync ran
    log.close()
    assert log.log("read", "b")["seq"] == 2  # usable again after close
