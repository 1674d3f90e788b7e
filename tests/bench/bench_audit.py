"""Audit trail benchmark: vaultui's indexed trail vs the FEDzk secrets manager's approach.

``python -m tests.bench.bench_audit [--quick]`` (or ``python -m tests.bench``).

A trail of N = 1,000,000 events (``--quick``: 50,000) spread over 60 days, 1,000 secrets,
5 users, ~2% failures, rotated every 64 MiB, is built once and cached under ``.bench/``.
In the same run, each query is timed two ways:

- vaultui: :class:`core.audit.AuditLog` with its SQLite sidecar index (warm: brought up
  to date before timing; its first build is timed on its own row);
- the seed's approach: open the log and ``json.loads`` every line of every file for
  every query, then filter in Python (what a JSON-lines logger without an index does).

Rows: stats for one secret (target < 200 ms), a filtered query (< 1 s), a single
append (< 1 ms; durable = fdatasync per event, and without fsync), the audit pane
opening on the trail (< 1 s, headless Textual), plus informative rows: first index
build, incremental refresh, full chain verification, a 30-day report.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.audit import AuditLog
from core.audit.report import build
from core.audit.sealing import AuditFieldSealer
from tests.bench.common import Row, cache_dir, cli_main, log, median_of

GROUP = "audit"
FIXTURE_VERSION = 3  # 3: secret names sealed in the lines
KEY = bytes(range(32))
SECRETS = [f"app{i}/secret{j}" for i in range(50) for j in range(20)]
OPS = ["read"] * 6 + ["write", "list", "rotate", "delete", "copy", "reveal"]
USERS = ["alice", "bob", "carol", "deploy", "ci"]
SEALER = AuditFieldSealer(KEY)
"""The trail holds names sealed: the unindexed reader compares tokens, as it would."""


def _fixture(n: int) -> tuple[Path, datetime]:
    """The cached trail (path of the live log) and the time of its newest event."""
    root = cache_dir("audit", n, FIXTURE_VERSION)
    path = root / "logs" / "secrets_audit.log"
    meta = root / "meta.json"
    if meta.exists() and path.exists():
        return path, datetime.fromisoformat(json.loads(meta.read_text())["end"])
    shutil.rmtree(root / "logs", ignore_errors=True)
    log(f"audit: building a trail of {n:,} events (once; cached in {root})")
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=60)
    step = (end - start) / n
    rnd = random.Random(4)
    trail = AuditLog(path, KEY, user="bench", host="bench", durable=False, alert_rules=[])
    batch = 20_000
    for b in range(0, n, batch):
        events = []
        for i in range(b, min(n, b + batch)):
            ok = rnd.random() > 0.02
            events.append(
                {
                    "operation": rnd.choice(OPS),
                    "secret_name": rnd.choice(SECRETS),
                    "user": rnd.choice(USERS),
                    "success": ok,
                    "error_message": None if ok else "secret not found",
                    "timestamp": start + step * i,
                    "version": rnd.randint(1, 9),
                    "source": "api",
                }
            )
        trail.log_many(events)
    trail.close()
    meta.write_text(json.dumps({"end": end.isoformat(), "n": n}))
    return path, end


# ---------------------------------------------------------------------- the seed's way


def _seed_events(path: Path) -> Any:
    """Every event of every file, parsed, oldest first (what an unindexed reader does)."""
    trail = AuditLog(path, None, alert_rules=[])
    for seg in trail.files.segments():
        with open(seg, encoding="utf-8") as fh:
            for line in fh:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def seed_query(
    path: Path,
    secret_name: str | None = None,
    operation: str | None = None,
    start: float | None = None,
    user: str | None = None,
    success: bool | None = None,
) -> list[dict[str, Any]]:
    """The seed's get_audit_events: parse everything, filter in Python."""
    out = []
    wanted = {secret_name, SEALER.seal_name(secret_name)} if secret_name is not None else None
    for e in _seed_events(path):
        if wanted is not None and e.get("secret_name") not in wanted:
            continue
        if operation is not None and e.get("operation") != operation:
            continue
        if user is not None and e.get("user") != user:
            continue
        if success is not None and e.get("success") is not success:
            continue
        if start is not None and datetime.fromisoformat(e["timestamp"]).timestamp() < start:
            continue
        out.append(e)
    return out


def seed_stats(path: Path, name: str) -> dict[str, Any]:
    """The seed's get_audit_stats: parse everything, count one secret's events."""
    wanted = {name, SEALER.seal_name(name)}
    events = [e for e in _seed_events(path) if e.get("secret_name") in wanted]
    ok = sum(1 for e in events if e.get("success"))
    return {
        "total_accesses": len(events),
        "successful_accesses": ok,
        "failed_accesses": len(events) - ok,
    }


# ---------------------------------------------------------------------- the pane


def _pane_open_seconds(path: Path) -> float:
    """Seconds from pushing the pane in a running (headless) app until the table has
    rendered its rows (the newest events), as when a user presses the pane's key."""
    from textual.app import App

    from vaultui.screens.audit import AuditScreen
    from vaultui.widgets.audit_table import AuditTable

    trail = AuditLog(path, KEY, alert_rules=[])
    seen: list[float] = []

    original = AuditTable._render_row

    def timed(self: AuditTable, *args: Any, **kw: Any) -> Any:
        if not seen:
            seen.append(time.perf_counter())
        return original(self, *args, **kw)

    async def go() -> float:
        app: App[None] = App()
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause(0.2)
            t0 = time.perf_counter()
            await app.push_screen(AuditScreen(trail))
            while not seen:
                await pilot.pause(0.005)
            assert app.screen.table.current is not None
            app.screen.workers.cancel_all()
        return seen[0] - t0

    AuditTable._render_row = timed  # type: ignore[method-assign]
    try:
        return asyncio.run(go())
    finally:
        AuditTable._render_row = original  # type: ignore[method-assign]
        trail.close()


# ---------------------------------------------------------------------- run


def run(quick: bool) -> list[Row]:
    n = 50_000 if quick else 1_000_000
    path, end = _fixture(n)
    rows: list[Row] = []
    trail = AuditLog(path, KEY, durable=True, alert_rules=[])
    label = f"N={n:,}"

    # first index build (derived data: delete it and time the rebuild)
    for p in path.parent.glob("secrets_audit.idx*"):
        p.unlink()
    t0 = time.perf_counter()
    trail.refresh_index()
    build_s = time.perf_counter() - t0
    rows.append(
        Row(
            GROUP,
            f"index: first build, {label}",
            build_s,
            unit="s",
            note="one-time; later queries index only new lines",
        )
    )

    rnd = random.Random(7)
    names = rnd.sample(SECRETS, 20)

    # stats for one secret
    stats_s = median_of(lambda: trail.stats(names[rnd.randrange(20)]), runs=21, warmup=2)
    t0 = time.perf_counter()
    seed = seed_stats(path, names[0])
    seed_stats_s = time.perf_counter() - t0
    assert seed["total_accesses"] == trail.stats(names[0])["total_accesses"]
    rows.append(
        Row(
            GROUP,
            f"stats for one secret, {label}",
            stats_s * 1000,
            unit="ms",
            peer_name="seed: parse whole log",
            peer_value=seed_stats_s * 1000,
            target="< 200 ms",
            ok=stats_s < 0.2,
        )
    )

    # a filtered query (the seed's example: one secret's reads over the last 7 days)
    since = end - timedelta(days=7)
    q = {"secret_name": names[1], "operation": "read"}
    query_s = median_of(lambda: trail.get_audit_events(**q, start_time=since), runs=11, warmup=1)
    t0 = time.perf_counter()
    seed_rows = seed_query(path, **q, start=since.timestamp())
    seed_query_s = time.perf_counter() - t0
    got = trail.get_audit_events(**q, start_time=since)
    assert len(got) == len(seed_rows)
    rows.append(
        Row(
            GROUP,
            f"filtered query (secret+op+7 days: {len(got)} rows), {label}",
            query_s * 1000,
            unit="ms",
            peer_name="seed: parse whole log",
            peer_value=seed_query_s * 1000,
            target="< 1 s",
            ok=query_s < 1.0,
        )
    )

    # a broad filtered query: one user's failures, all time
    broad_s = median_of(
        lambda: trail.get_audit_events(user="alice", success=False), runs=5, warmup=1
    )
    n_broad = len(trail.get_audit_events(user="alice", success=False))
    rows.append(
        Row(
            GROUP,
            f"filtered query (user+failures: {n_broad:,} rows), {label}",
            broad_s * 1000,
            unit="ms",
            target="< 1 s",
            ok=broad_s < 1.0,
        )
    )

    # the pane opening on the trail
    pane_s = statistics.median(_pane_open_seconds(path) for _ in range(3))
    rows.append(
        Row(
            GROUP,
            f"audit pane opens (push to first frame with rows), {label}",
            pane_s * 1000,
            unit="ms",
            target="< 1 s",
            ok=pane_s < 1.0,
            note="median of 3, headless Textual; until the table renders its rows",
        )
    )

    # full verification and a report
    t0 = time.perf_counter()
    rep = trail.verify()
    verify_s = time.perf_counter() - t0
    assert rep.ok, rep.summary()
    rows.append(
        Row(
            GROUP,
            f"verify the whole chain, {label}",
            verify_s,
            unit="s",
            note=f"{rep.events / verify_s:,.0f} lines/s, {len(rep.files)} files",
        )
    )
    report_s = median_of(lambda: build(trail, "30d", "md", verify=False), runs=3)
    rows.append(
        Row(
            GROUP,
            f"compliance report, 30 days, md, {label}",
            report_s,
            unit="s",
            note="without the chain check",
        )
    )

    # appends; the trail is put back afterwards
    state = path.with_name("secrets_audit.state")
    saved_state = state.read_bytes()
    saved_size = path.stat().st_size
    saved_segments = len(trail.files.segments())

    def timed_appends(audit: AuditLog, count: int) -> list[float]:
        audit.log("read", names[0])  # open files, seed the alert windows
        out = []
        for i in range(count):
            t0 = time.perf_counter()
            audit.log("read", names[i % 20], version=1)
            out.append(time.perf_counter() - t0)
        audit.close()
        return sorted(out)

    try:
        default_times = timed_appends(AuditLog(path, KEY), 2000)
        strict_times = timed_appends(AuditLog(path, KEY, durable=True, alert_rules=[]), 500)
        refresh0 = time.perf_counter()
        added = trail.refresh_index()
        refresh_s = time.perf_counter() - refresh0
    finally:
        if len(trail.files.segments()) == saved_segments:
            with open(path, "r+b") as fh:
                fh.truncate(saved_size)
            state.write_bytes(saved_state)
            trail.index.close()
            for p in path.parent.glob("secrets_audit.idx*"):
                p.unlink()  # rebuilt next run (its lines were cut)
    seed_line = json.dumps(
        {
            "secret_name": "x",
            "operation": "read",
            "timestamp": "t",
            "user": "u",
            "success": True,
            "error_message": None,
        }
    )
    seed_file = path.parent.parent / "seed_append.log"
    with open(seed_file, "a", encoding="utf-8") as fh:
        seed_times = []
        for _ in range(2000):
            t0 = time.perf_counter()
            fh.write(json.dumps(json.loads(seed_line)) + "\n")
            fh.flush()
            seed_times.append(time.perf_counter() - t0)
    seed_file.unlink()
    seed_times.sort()

    def p50(ts: list[float]) -> float:
        return statistics.median(ts) * 1000

    def p99(ts: list[float]) -> float:
        return ts[int(len(ts) * 0.99)] * 1000

    rows.append(
        Row(
            GROUP,
            f"append one event, default settings, p50, {label}",
            p50(default_times),
            unit="ms",
            peer_name="seed: json + write + flush",
            peer_value=p50(seed_times),
            target="< 1 ms",
            ok=p50(default_times) < 1.0,
            note=f"p99 {p99(default_times):.2f} ms; flock, chain HMAC, one O_APPEND "
            "write, head record, 2 alert rules, fdatasync within 50 ms",
        )
    )
    rows.append(
        Row(
            GROUP,
            f"append one event, durable=True (fdatasync each), p50, {label}",
            p50(strict_times),
            unit="ms",
            note=f"p99 {p99(strict_times):.2f} ms; this disk's fdatasync cost",
        )
    )
    rows.append(
        Row(
            GROUP,
            f"index: catch up {added:,} new events",
            refresh_s * 1000,
            unit="ms",
            note="what the first query after a burst of writes pays",
        )
    )
    trail.close()
    return rows


if __name__ == "__main__":
    cli_main(run)
