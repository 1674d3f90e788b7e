"""Benchmark of the app on a 100,000-secret vault: launch to interactive, filter keystrokes.

``python -m tests.bench.bench_app [--quick]`` (quick: 20,000 secrets, fewer runs).

- **launch → interactive browser**: wall time from spawning ``python`` (a child running
  the app headless, key file supplied, so the KDF is HKDF, ~0 ms) until the browser shows
  the names with the table focused; also until every row's metadata is loaded (that part
  runs in a worker while the browser is already usable). Target: < 1 s plus the KDF.
  Measured with the app's sealed name cache (the usual case) and without it (the first
  start, when every name is decrypted); the process CPU time is reported too, since the
  wall time on a shared 2-core machine depends on what else runs.
  The passphrase KDF (Argon2id at the default 64 MiB, t=3, p=4) is measured apart.
- **filter keystroke**: typing a query one character at a time into the filter box of the
  100,000-secret browser; per keystroke, the time from the input's change until the frame
  showing the new rows has been composed (filter, table update and paint included):
  median, 95th percentile and worst. Target: < 50 ms. Also the event-loop time per
  keystroke (what blocks typing).
- **machine noise**: a fixed ~3-4 ms piece of pure Python, run once in each pause between
  the keystrokes. On a shared VM the same work sometimes takes several times as long
  (up to ~10x measured here, with CPU time equal to wall time); the slowest keystroke is
  best read against this probe's worst-to-median ratio from the same run.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.common import REPO, Row, cache_dir, child_env, cli_main, log, median

QUERIES = ["prod/db/pass", "stripe", "pgwd", "zzzz"]


def _names(n: int) -> list[str]:
    rnd = random.Random(7)
    envs = ["prod", "staging", "dev", "ci"]
    apps = ["orders", "billing", "search", "auth", "users", "cart", "mail", "reports", "api"]
    kinds = ["db/password", "db/config", "stripe/api_key", "aws/deploy", "redis/url", "jwt_key"]
    return [f"{rnd.choice(envs)}/{rnd.choice(apps)}-{i:06d}/{rnd.choice(kinds)}" for i in range(n)]


def make_home(n: int) -> Path:
    """A home with ``n`` secrets and a key file (cached under .bench/)."""
    from core.config import Settings, ensure_home
    from core.vault import KeySource, Vault, write_new_key_file

    home = cache_dir("app", f"n{n}", "1") / "home"
    done = home / "complete"
    if done.exists():
        return home
    log(f"building a {n:,}-secret vault (once, cached in {home})…")
    settings = Settings.from_env({"VAULTUI_HOME": str(home)})
    ensure_home(settings)
    for leftover in (settings.vault_path, settings.default_key_file):
        leftover.unlink(missing_ok=True)
    key = write_new_key_file(settings.default_key_file)
    vault = Vault.create(settings.vault_path, KeySource.from_key_file(key))
    names = _names(n)
    rnd = random.Random(3)
    for start in range(0, n, 5000):
        with vault.transaction():
            for name in names[start : start + 5000]:
                vault.put(
                    name,
                    "bench-value-" + name,
                    description=f"{name.split('/')[-1]} for {name.split('/')[1]}",
                    tags={"env": name.split("/")[0], "team": rnd.choice(["a", "b", "c"])},
                    rotation={"policy": rnd.choice(["never", "daily", "monthly"])},
                )
    vault.close()
    done.write_text("ok")
    return home


def _fixed_work() -> int:
    """A fixed piece of pure Python (~3-4 ms here): the machine-noise probe.

    Run between keystrokes, under the same conditions, it shows how much slower the
    machine itself sometimes runs the same work (a shared VM: up to ~10x, measured).
    """
    table: dict[int, int] = {}
    total = 0
    for i in range(20_000):
        table[i % 997] = total
        total += i * 3 % 7
    return total


# ---------------------------------------------------------------------- the child


async def _child(home: str, spawned_at: float, out: str) -> None:
    t_import = time.time()
    from core.config import Settings
    from vaultui.app import create_app

    settings = Settings.from_env({"VAULTUI_HOME": home, "VAULTUI_IDLE_LOCK": "0"})
    app = create_app(settings)
    result: dict[str, object] = {"python_start": t_import - spawned_at}
    async with app.run_test(size=(120, 40)) as pilot:
        # interactive: the names are in the table and it has the keyboard focus
        while not (app.browser_ready and app.browser().table.has_focus):
            await asyncio.sleep(0.002)
        result["interactive"] = time.time() - spawned_at
        result["interactive_cpu"] = time.process_time()  # all threads, since process start
        browser = app.browser()
        result["rows"] = len(browser.table.rows)
        result["focused"] = browser.table.has_focus
        while not browser.loaded:
            await asyncio.sleep(0.005)
        result["metadata"] = time.time() - spawned_at
        # steady state: the load worker then prepares the filter's first-keystroke masks
        # (~0.2 s in the background); keystrokes typed meanwhile cost up to ~60 ms
        while not browser.index.warmed:
            await asyncio.sleep(0.005)
        result["warmed"] = time.time() - spawned_at
        await pilot.pause(0.2)
        # keystrokes: set the input's value one more character at a time, as typing does
        inp = browser.query_one("#filter")
        inp.focus()
        labels: list[str] = []  # the filter text after each keystroke
        per_key: list[float] = []  # keystroke -> the frame showing the new rows painted
        per_key_cpu: list[float] = []
        per_key_full: list[float] = []  # keystroke -> the frame with every match painted
        per_key_set: list[float] = []  # keystroke -> rows handed to the table (no paint)
        per_key_gc: list[float] = []
        per_key_rusage: list[tuple[int, int]] = []  # page faults, involuntary switches
        handler: list[float] = []
        probe: list[float] = []  # the fixed work's time, once between each two keys
        # Timestamps are taken inside the app's own steps (rows handed to the table, a
        # frame composed), not when the waiting task resumes: an asyncio wake-up after
        # the fact would count whatever else the loop ran meanwhile.
        marks: dict[str, float] = {}
        painted = asyncio.Event()
        complete = asyncio.Event()  # the frame with the whole result, not a first screen
        original_show = browser._show_rows
        original_refresh = browser._compositor_refresh

        def show_and_mark(*args: object, **kwargs: object) -> None:
            original_show(*args, **kwargs)
            marks.setdefault("shown", time.perf_counter())
            if not browser._partial:
                marks["whole"] = time.perf_counter()

        def refresh_and_mark() -> None:
            original_refresh()
            now = time.perf_counter()
            if "shown" in marks and "painted" not in marks:
                marks["painted"] = now
                marks["painted_cpu"] = time.process_time()
                painted.set()
            if "whole" in marks and "whole_painted" not in marks:
                marks["whole_painted"] = now
                complete.set()

        browser._show_rows = show_and_mark
        browser._compositor_refresh = refresh_and_mark
        gc_ms = [0.0]  # time in Python's garbage collector, to tell its pauses apart
        gc_started = [0.0]

        def gc_probe(phase: str, info: dict) -> None:
            if phase == "start":
                gc_started[0] = time.perf_counter()
            else:
                gc_ms[0] += (time.perf_counter() - gc_started[0]) * 1000

        gc.callbacks.append(gc_probe)
        for query in QUERIES:
            for i in range(1, len(query) + 1):
                marks.clear()
                painted.clear()
                complete.clear()
                r0 = resource.getrusage(resource.RUSAGE_SELF)
                t0, c0 = time.perf_counter(), time.process_time()
                gc_ms[0] = 0.0
                inp.value = query[:i]
                handler.append(browser.last_filter_cpu_ms)
                await asyncio.wait_for(painted.wait(), timeout=10)
                per_key.append((marks["painted"] - t0) * 1000)
                labels.append(query[:i])
                per_key_cpu.append((marks["painted_cpu"] - c0) * 1000)
                per_key_set.append((marks["shown"] - t0) * 1000)
                per_key_gc.append(gc_ms[0])
                r1 = resource.getrusage(resource.RUSAGE_SELF)
                per_key_rusage.append((r1.ru_minflt - r0.ru_minflt, r1.ru_nivcsw - r0.ru_nivcsw))
                await asyncio.wait_for(complete.wait(), timeout=10)
                per_key_full.append((marks["whole_painted"] - t0) * 1000)
                handler[-1] = browser.last_filter_cpu_ms
                t_probe = time.perf_counter()
                _fixed_work()
                probe.append((time.perf_counter() - t_probe) * 1000)
                await asyncio.sleep(0.1)  # a typist's pause between keys
            result.setdefault("matches", []).append(len(browser.table.rows))  # type: ignore[union-attr]
            inp.value = ""
            await pilot.pause(0.1)
        # event-loop time spent handling one keystroke (the Input.Changed handler)
        blocked: list[float] = []
        for ch in "prod":
            t0 = time.perf_counter()
            browser._filter_value(browser._query_raw + ch)
            blocked.append((time.perf_counter() - t0) * 1000)
        result["keys"] = per_key
        result["keys_cpu"] = per_key_cpu
        result["keys_full"] = per_key_full
        result["keys_gc"] = per_key_gc
        result["keys_set"] = per_key_set
        result["labels"] = labels
        result["keys_rusage"] = per_key_rusage
        result["probe"] = probe
        gc.callbacks.remove(gc_probe)
        result["worker_ms"] = handler
        result["blocked_ms"] = blocked
    app.cleanup()
    Path(out).write_text(json.dumps(result))


def _spawn(home: Path) -> dict:
    out = home.parent / "result.json"
    out.unlink(missing_ok=True)
    spawned = time.time()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench.bench_app",
            "--child",
            str(home),
            repr(spawned),
            str(out),
        ],
        cwd=REPO,
        env=child_env(),
        check=True,
        timeout=300,
    )
    return json.loads(out.read_text())


def _clear_name_cache(home: Path) -> None:
    from core.vault import KeySource, Vault
    from vaultui.name_cache import KEY

    vault = Vault.open(home / "vault.db", KeySource.from_key_file(home / "vault.key"))
    try:
        vault.set_local(KEY, None)
    finally:
        vault.close()


def _argon2_default_ms() -> float:
    from core.vault.keys import Argon2Params, argon2id

    t0 = time.perf_counter()
    argon2id(b"benchmark passphrase", os.urandom(16), Argon2Params())
    return (time.perf_counter() - t0) * 1000


def run(quick: bool) -> list[Row]:
    """Rows: launch → interactive, → metadata, keystroke latency (median, worst)."""
    n = 20_000 if quick else 100_000
    runs = 2 if quick else 3
    home = make_home(n)
    _spawn(home)  # warm the page cache and .pyc files (and write the name cache)
    results = [_spawn(home) for _ in range(runs)]
    _clear_name_cache(home)
    cold = _spawn(home)  # first start after the vault changed a lot: no name cache
    interactive = median([r["interactive"] for r in results]) * 1000
    interactive_cpu = median([r["interactive_cpu"] for r in results]) * 1000
    metadata = median([r["metadata"] for r in results]) * 1000
    warmed = median([r["warmed"] for r in results]) * 1000
    python_start = median([r["python_start"] for r in results]) * 1000
    keys = sorted(k for r in results for k in r["keys"])
    keys_cpu = sorted(k for r in results for k in r["keys_cpu"])
    keys_full = sorted(k for r in results for k in r["keys_full"])
    keys_set = sorted(k for r in results for k in r["keys_set"])
    worker = sorted(k for r in results for k in r["worker_ms"])
    probe = sorted(k for r in results for k in r["probe"])
    blocked = max(k for r in results for k in r["blocked_ms"])
    kdf = _argon2_default_ms()
    assert all(r["rows"] == n and r["focused"] for r in results)
    key_median = median(keys)
    key_worst = keys[-1]
    key_p95 = keys[int(len(keys) * 0.95)]
    noise = (
        f"the same run's noise probe (below) was {probe[-1] / median(probe):.1f}x its median "
        f"at worst; this keystroke was {key_worst / key_median:.1f}x"
    )
    # which keystroke was the slowest, and where its time went
    _, run_i, key_i = max(
        (ms, r, k) for r, res in enumerate(results) for k, ms in enumerate(res["keys"])
    )
    slow = results[run_i]
    slowest = (
        f"slowest: {slow['labels'][key_i]!r} (rows to the table {slow['keys_set'][key_i]:.1f} ms, "
        f"GC {slow['keys_gc'][key_i]:.1f} ms, CPU {slow['keys_cpu'][key_i]:.1f} ms, "
        f"{slow['keys_rusage'][key_i][0]} page faults, "
        f"{slow['keys_rusage'][key_i][1]} involuntary context switches)"
    )
    return [
        Row(
            "app",
            f"launch → interactive browser, N={n:,}",
            round(interactive),
            unit="ms",
            target="< 1000 ms + KDF",
            ok=interactive < 1000,
            note=f"whole process, key file (KDF ~0), sealed name cache; python+imports "
            f"{python_start:.0f} ms",
        ),
        Row(
            "app",
            f"launch → interactive browser, N={n:,}, CPU time",
            round(interactive_cpu),
            unit="ms",
            target="< 1000 ms + KDF",
            ok=interactive_cpu < 1000,
            note="process CPU (all threads) until interactive: the cost without other load",
        ),
        Row(
            "app",
            f"launch → interactive browser, N={n:,}, no name cache",
            round(cold["interactive"] * 1000),
            unit="ms",
            note=f"first start (every name decrypted); CPU {cold['interactive_cpu'] * 1000:.0f} ms",
        ),
        Row(
            "app",
            f"launch → all metadata loaded, N={n:,}",
            round(metadata),
            unit="ms",
            note="Vault.list() in a worker; the browser is usable meanwhile; filter masks "
            f"ready at {warmed:,.0f} ms (keystrokes are measured after that)",
        ),
        Row(
            "app",
            "passphrase KDF (Argon2id 64 MiB, t=3, p=4)",
            round(kdf),
            unit="ms",
            note="added to launch when unlocking with a passphrase",
        ),
        Row(
            "app",
            f"filter keystroke → new rows painted, N={n:,} (median)",
            round(key_median, 1),
            unit="ms",
            target="< 50 ms",
            ok=key_median < 50,
            note=f"{len(keys)} keystrokes, queries {', '.join(QUERIES)}, 0.1 s apart; until the "
            f"frame with the rows is composed (rows handed to the table: median "
            f"{median(keys_set):.1f} ms, worst {keys_set[-1]:.1f} ms)",
        ),
        Row(
            "app",
            f"filter keystroke → new rows painted, N={n:,} (worst)",
            round(key_worst, 1),
            unit="ms",
            target="< 50 ms",
            ok=key_worst < 50,
            note=f"{slowest}; {noise}",
        ),
        Row(
            "app",
            f"filter keystroke → new rows painted, N={n:,} (95th percentile)",
            round(key_p95, 1),
            unit="ms",
            target="< 50 ms",
            ok=key_p95 < 50,
            note=f"{len(keys)} keystrokes; 99th percentile {keys[int(len(keys) * 0.99)]:.1f} ms",
        ),
        Row(
            "app",
            "machine noise: a fixed piece of Python between keystrokes (median / worst)",
            round(median(probe), 2),
            unit="ms",
            note=f"worst {probe[-1]:.1f} ms ({probe[-1] / median(probe):.1f}x), 95th percentile "
            f"{probe[int(len(probe) * 0.95)]:.1f} ms; the same work, run once in each pause "
            "between keystrokes: how much slower this machine sometimes runs any code",
        ),
        Row(
            "app",
            f"filter keystroke → every match in the table, painted, N={n:,} (median / worst)",
            round(median(keys_full), 1),
            unit="ms",
            note=f"worst {keys_full[-1]:.1f} ms; a large search first shows a screen of "
            "matches (rows shown), then the whole result after that paint",
        ),
        Row(
            "app",
            f"filter keystroke → new rows painted, N={n:,}, process CPU (median / worst)",
            round(median(keys_cpu), 1),
            unit="ms",
            target="< 50 ms",
            ok=keys_cpu[-1] < 50,
            note=f"worst {keys_cpu[-1]:.1f} ms; all the app's threads, so what a keystroke "
            "costs on an idle core (the wall rows above include waiting for other processes)",
        ),
        Row(
            "app",
            "filter CPU per keystroke (median)",
            round(median(worker), 1),
            unit="ms",
            target="< 50 ms",
            ok=median(worker) < 50,
            note="incremental subsequence match over the last result (inline up to 120,000 "
            "candidates, a worker thread above)",
        ),
        Row(
            "app",
            "filter CPU for a whole result (worst)",
            round(worker[-1], 1),
            unit="ms",
            note="a second character over most names; after the first screen is painted, "
            "in slices of ~8 ms per turn of the event loop (keys typed meanwhile go first)",
        ),
        Row(
            "app",
            "event loop blocked per keystroke (worst)",
            round(blocked, 2),
            unit="ms",
            note="the Input.Changed handler: the whole filter when it runs inline",
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        asyncio.run(_child(sys.argv[2], float(sys.argv[3]), sys.argv[4]))
    else:
        sys.exit(cli_main(run))
