"""The shared row format and timing helpers of vaultui's benchmarks.

Every benchmark module ``tests/bench/bench_<area>.py`` exposes::

    def run(quick: bool) -> list[Row]: ...

and ``python -m tests.bench`` prints the rows of all of them as ONE table (``--quick`` for
a short run, ``--only NAME`` for one module). A module may also be run alone with
``python -m tests.bench.bench_<area> [--quick]``: end it with ::

    if __name__ == "__main__":
        cli_main(run)

**Row** (one line of the table)::

    Row(group="vault", metric="durable store, N=10,000", vaultui=0.92, unit="ms",
        peer_name="seed design", peer_value=9.6, target=">= 10x seed", ok=True,
        note="own transaction, synchronous=EXTRA")

- ``group``: the area ("vault", "audit", "backup", ...); rows print in module order.
- ``metric``: what is measured, including N and the mode ("whole process", "in process").
- ``vaultui`` / ``peer_value``: a number, a short text ("skipped: 17 s/run") or None.
- ``unit``: ``ms``, ``s``, ``us``, ``MB``, ``x`` ... ; a unit ending in ``/s`` means
  higher is better, anything else lower is better (override with ``higher_is_better``).
- ``peer_name``: the peer measured in the same run ("keepassxc-cli 2.7.4", "seed design",
  "pass 1.7", "boto3 loop"); one row per peer when there are several.
- ``ratio`` (computed): how many times better vaultui is than the peer (> 1: vaultui is
  better; < 1: worse), from the two numbers and the direction of the unit.
- ``target``: the goal as text (empty when the row is informative only); ``ok`` is True
  (printed ``ok``), False (``FAIL``) or None (no target).
- ``note``: anything the reader needs (runs, parameters, why a figure is missing).

**Helpers**: :func:`faster` (a win needs a margin: a tie within :data:`TIE_BAND` is
not one), :func:`median_of` (median wall time of a callable over several runs),
:func:`median_wall_cpu` (wall and CPU time), :func:`time_runs`, :func:`median`,
:func:`rate` (seconds per call of a callable, time-bounded), :func:`run_process` (one
timed child process, output checked), :func:`child_env` (environment for timed
children), :func:`cache_dir` (``.bench/`` fixtures keyed by parameters), :func:`table`
(render rows), :func:`fmt`, :func:`busy_warning` (a line to print when the machine is
busy), :func:`cli_main` (``python -m tests.bench.bench_<area>``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.vault.gcpause import allow_gc_pause

# The in-process figures stand for vaultui's own processes, which allow bulk work to
# pause the garbage collector (an application embedding core gets stock behaviour).
allow_gc_pause()

REPO = Path(__file__).resolve().parents[2]
"""The project root (where ``core/`` lives); child processes run here."""

Value = float | int | str | None


@dataclass
class Row:
    """One line of the benchmark table (see the module docstring for each field)."""

    group: str
    metric: str
    vaultui: Value
    peer_name: str = ""
    peer_value: Value = None
    unit: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""
    higher_is_better: bool | None = None

    @property
    def better_when_higher(self) -> bool:
        """True when a larger number is better for this row (rates: unit ends in '/s')."""
        if self.higher_is_better is not None:
            return self.higher_is_better
        return self.unit.endswith("/s")

    @property
    def ratio(self) -> float | None:
        """How many times better vaultui is than the peer (None without two numbers)."""
        a, b = self.vaultui, self.peer_value
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return None
        if a <= 0 or b <= 0:
            return None
        return a / b if self.better_when_higher else b / a


TIE_BAND = 0.05
"""Two timings within 5% of each other are a tie: noise on this kind of machine, not a win."""


def faster(ours: float | None, theirs: float | None, factor: float = 1.0) -> bool | None:
    """Whether vaultui (``ours``, seconds or ms) beats the peer by ``factor`` with room to
    spare: a tie (within :data:`TIE_BAND`) is not a win. None when either is missing."""
    if not isinstance(ours, int | float) or not isinstance(theirs, int | float):
        return None
    return theirs >= factor * ours * (1 + TIE_BAND)


def tie_note(ours: float | None, theirs: float | None) -> str:
    """'tie (within 5%)' when the two timings are too close to call, else ''."""
    if not isinstance(ours, int | float) or not isinstance(theirs, int | float) or not ours:
        return ""
    return "tie (within 5%)" if abs(theirs / ours - 1) < TIE_BAND else ""


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (which must not be empty)."""
    return float(statistics.median(values))


def median_of(
    fn: Callable[[], Any],
    runs: int = 5,
    *,
    warmup: int = 0,
    setup: Callable[[], Any] | None = None,
) -> float:
    """Median wall time in seconds of ``fn()`` over ``runs`` runs.

    ``setup`` (untimed) runs before every run, ``warmup`` untimed runs come first.
    """
    for _ in range(warmup):
        if setup:
            setup()
        fn()
    times = []
    for _ in range(runs):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return median(times)


def time_runs(
    fn: Callable[[], Any], runs: int = 5, *, warmup: int = 0
) -> tuple[list[float], list[float]]:
    """Wall times and CPU times (this process, all threads) of ``runs`` calls of ``fn()``."""
    for _ in range(warmup):
        fn()
    walls, cpus = [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return walls, cpus


def median_wall_cpu(
    fn: Callable[[], Any], runs: int = 5, *, warmup: int = 0
) -> tuple[float, float]:
    """Median wall time and median CPU time (this process, all threads) of ``fn()``.

    On a busy shared machine the CPU time shows what the code costs when the wall time
    is inflated by waiting for a core.
    """
    walls, cpus = time_runs(fn, runs, warmup=warmup)
    return median(walls), median(cpus)


def rate(
    op: Callable[[int], Any],
    *,
    max_ops: int,
    min_ops: int = 1,
    budget_s: float = 1.0,
) -> tuple[float, int]:
    """Run ``op(i)`` for i = 0, 1, ... until ``max_ops`` calls or ``budget_s`` seconds.

    At least ``min_ops`` calls are made. Returns (mean seconds per call, calls made).
    """
    count = 0
    t0 = time.perf_counter()
    while count < max_ops:
        op(count)
        count += 1
        if count >= min_ops and time.perf_counter() - t0 >= budget_s:
            break
    return (time.perf_counter() - t0) / count, count


def run_process(
    argv: Sequence[str],
    *,
    stdin: bytes = b"",
    expect: bytes | None = None,
    cwd: Path = REPO,
    env: dict[str, str] | None = None,
    timeout: float = 300.0,
) -> float:
    """Run one child process to completion; return its wall time in seconds.

    ``env`` defaults to :func:`child_env` (bytecode caching on, as on a user's machine).

    Raises RuntimeError (with the tail of stderr) if it fails or if ``expect`` is given
    and its stdout does not contain it: a benchmark must never time a failed command.
    """
    t0 = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env if env is not None else child_env(),
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(
            f"{Path(argv[0]).name} exited {proc.returncode}: "
            + proc.stderr.decode(errors="replace")[-400:]
        )
    if expect is not None and expect not in proc.stdout:
        raise RuntimeError(f"{Path(argv[0]).name} did not print the expected output")
    return elapsed


def child_env(**extra: str) -> dict[str, str]:
    """The environment for timed child processes: this one, with bytecode caching on.

    A user's Python reads compiled ``.pyc`` files; PYTHONDONTWRITEBYTECODE (set in some
    sandboxes) would make every child recompile every module. The cache goes to
    ``.bench/pycache`` so the source tree stays clean.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(REPO / ".bench" / "pycache")
    env.update(extra)
    return env


def cache_dir(*parts: object) -> Path:
    """A fixture directory under ``.bench/`` (gitignored) named by ``parts``; created."""
    name = "-".join(str(p) for p in parts)
    path = REPO / ".bench" / name
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def machine() -> str:
    """One line describing the machine (CPU count and model, Python, OS, load now)."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        one, five, fifteen = os.getloadavg()
        load = f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
    except OSError:
        load = ""
    return (
        f"{os.cpu_count()} cores {model}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, {load}"
    )


def busy_warning() -> str:
    """A warning line when other work is using the CPUs (load average above the core count).

    Wall times are then inflated; the notes' CPU figures show the cost of the code itself.
    """
    try:
        load = os.getloadavg()[0]
    except OSError:
        return ""
    cores = os.cpu_count() or 1
    if load <= cores:
        return ""
    return (
        f"WARNING: the machine is busy (load {load:.1f} on {cores} cores): wall times are "
        "inflated; CPU times in the notes show the cost of the code itself."
    )


def fmt(value: Value) -> str:
    """A number with a sensible precision and thousands separators; text as is."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    v = float(value)
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    if a == 0:
        return "0"
    return f"{v:.3g}"


def _ratio_text(row: Row) -> str:
    r = row.ratio
    if r is None:
        return ""
    return f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def table(rows: Sequence[Row]) -> str:
    """Render rows as a Markdown table (so it pastes into docs as is)."""
    head = [
        "group",
        "metric",
        "vaultui",
        "unit",
        "peer",
        "peer value",
        "ratio",
        "target",
        "ok",
        "note",
    ]
    body = []
    for r in rows:
        ok = "" if r.ok is None else ("ok" if r.ok else "FAIL")
        body.append(
            [
                r.group,
                r.metric,
                fmt(r.vaultui),
                r.unit,
                r.peer_name,
                fmt(r.peer_value),
                _ratio_text(r),
                r.target,
                ok,
                r.note,
            ]
        )
    widths = [max([len(h)] + [len(b[i]) for b in body]) for i, h in enumerate(head)]
    right = {2, 5, 6}

    def line(cells: list[str]) -> str:
        out = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ]
        return "| " + " | ".join(out) + " |"

    sep = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(head), sep, *(line(b) for b in body)])


def summary(rows: Sequence[Row]) -> str:
    """'targets: 5 ok, 1 FAIL' (or 'no targets')."""
    checked = [r for r in rows if r.ok is not None]
    if not checked:
        return "no targets"
    bad = [r for r in checked if not r.ok]
    return f"targets: {len(checked) - len(bad)} ok, {len(bad)} FAIL"


def cli_main(run: Callable[[bool], list[Row]], argv: Sequence[str] | None = None) -> int:
    """``python -m tests.bench.bench_<area> [--quick]``: run one module, print its table."""
    parser = argparse.ArgumentParser(description="Run one vaultui benchmark module.")
    parser.add_argument("--quick", action="store_true", help="smaller N, fewer runs")
    args = parser.parse_args(argv)
    print(machine(), flush=True)
    t0 = time.perf_counter()
    rows = run(args.quick)
    warning = busy_warning()
    if warning:
        print(warning)
    print(table(rows))
    print(f"{summary(rows)}; {time.perf_counter() - t0:.0f} s")
    return 0


def log(message: str) -> None:
    """Progress text on stderr (the table goes to stdout)."""
    print(message, file=sys.stderr, flush=True)
