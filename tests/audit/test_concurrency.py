"""Several processes append at once; rotation carries the chain; crashes are survivable."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.audit import AuditLog

from .conftest import KEY, lines_of

WRITERS = 4
PER_WRITER = 300


def _writer(path: str, worker: int, count: int, max_bytes: int, go) -> None:
    log = AuditLog(
        Path(path),
        KEY,
        source="worker",
        user=f"w{worker}",
        durable=False,
        max_bytes=max_bytes,
        alert_rules=[],
    )
    go.wait()
    for i in range(count):
        # vary the line length so interleaving would show as broken JSON
        log.log("read", f"svc/{worker}/{i}", version=i, note="x" * (i % 37))
    log.close()


def _run_writers(path: Path, max_bytes: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    procs = [
        ctx.Process(target=_writer, args=(str(path), w, PER_WRITER, max_bytes, go))
        for w in range(WRITERS)
    ]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0


def _all_lines(path: Path) -> list[bytes]:
    log = AuditLog(path, KEY, durable=False, alert_rules=[])
    out: list[bytes] = []
    for seg in log.files.segments():
        out.extend(lines_of(seg))
    return out


def test_four_processes_append_without_interleaving(log_path: Path) -> None:
    _run_writers(log_path, max_bytes=64 << 20)
    raw = _all_lines(log_path)
    assert len(raw) == WRITERS * PER_WRITER
    events = [json.loads(line) for line in raw]  # every line is one whole object
    assert [e["seq"] for e in events] == list(range(1, WRITERS * PER_WRITER + 1))
    for w in range(WRITERS):
        mine = [e for e in events if e["user"] == f"w{w}"]
        assert [e["version"] for e in mine] == list(range(PER_WRITER))
    log = AuditLog(log_path, KEY)
    report = log.verify()
    assert report.ok, report.summary()
    assert report.events == WRITERS * PER_WRITER
    assert log.stats()["total_accesses"] == WRITERS * PER_WRITER


def test_concurrent_writers_with_rotation_keep_one_chain(log_path: Path) -> None:
    _run_writers(log_path, max_bytes=16 * 1024)
    log = AuditLog(log_path, KEY)
    segments = log.files.segments()
    assert len(segments) > 5
    report = log.verify()
    assert report.ok, report.summary()
    assert report.events == WRITERS * PER_WRITER
    assert len(report.files) == len(segments)
    assert log.count(user="w2") == PER_WRITER


def test_rotation_carries_the_chain(make_log, log_path: Path) -> None:
    log = make_log(max_bytes=4096)
    for i in range(100):
        log.log("write" if i % 2 else "read", f"app/{i % 7}")
    names = [p.name for p in log.files.segments()]
    assert names[-1] == "secrets_audit.log" and "secrets_audit.log.1" in names
    assert all(p.stat().st_size < 4096 + 600 for p in log.files.segments())
    # the first line of each newer segment chains to the last line of the older one
    first_of_live = json.loads(lines_of(log_path)[0]) if log_path.stat().st_size else None
    last_of_prev = json.loads(lines_of(log_path.with_name("secrets_audit.log.1"))[-1])
    if first_of_live:
        assert first_of_live["seq"] == last_of_prev["seq"] + 1
    report = log.verify()
    assert report.ok and report.events == 100
    assert len(log.get_audit_events()) == 100
    assert log.stats("app/3")["total_accesses"] == len(range(3, 100, 7))


def test_removing_a_middle_segment_is_a_deletion(make_log, log_path: Path) -> None:
    log = make_log(max_bytes=2048)
    for i in range(60):
        log.log("read", f"k{i}")
    log_path.with_name("secrets_audit.log.2").unlink()
    report = log.verify()
    assert not report.ok
    assert report.first_break.kind == "deleted"
    assert report.first_break.file == "secrets_audit.log.1"


def test_keep_limits_segments_and_anchors_the_chain(make_log, log_path: Path) -> None:
    log = make_log(max_bytes=2048, keep=2)
    for i in range(80):
        log.log("read", f"k{i}")
    rotated = [p.name for p in log.files.segments()[:-1]]
    assert rotated == ["secrets_audit.log.2", "secrets_audit.log.1"]
    report = log.verify()
    assert report.ok, report.summary()  # the removed past is anchored, not a break
    # ...but dropping the oldest kept file by hand is
    log_path.with_name("secrets_audit.log.2").unlink()
    assert log.verify().first_break.kind == "deleted"


def test_kill_9_mid_stream_leaves_a_verifiable_trail(log_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from core.audit import AuditLog\n"
        f"log = AuditLog(Path({str(log_path)!r}), {KEY!r}, durable=False, alert_rules=[])\n"
        "i = 0\n"
        "while True:\n"
        "    log.log('read', f's{i}')\n"
        "    i += 1\n"
        "    if i == 50: print('go', flush=True)\n"
    )
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"go"
    time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    log = AuditLog(log_path, KEY, durable=False, alert_rules=[])
    report = log.verify()
    assert report.ok, report.summary()
    assert report.events >= 50
    after = log.log("read", "after")
    assert after["seq"] == report.last_seq + 1
    assert log.verify().ok
