"""``python -m tests.bench [--quick] [--only NAME] [--strict]``: every benchmark, one table.

Runs each ``tests/bench/bench_*.py`` module's ``run(quick) -> list[Row]`` (vault first,
then by name) and prints all rows as one table (see :mod:`tests.bench.common`). A module
that only has ``main()`` is called with ``--quick`` in ``sys.argv`` when asked; its own
output is printed after the table. A module that crashes gets an error row and the
others still run.

Exit status: 0; 1 if a module crashed; with ``--strict`` also 1 if a target FAILs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import pkgutil
import sys
import time
import traceback

import tests.bench as bench_pkg
from tests.bench.common import Row, busy_warning, log, machine, summary, table


def discover() -> list[str]:
    """Names of the benchmark modules ('vault', 'audit', ...), vault first."""
    names = sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules(bench_pkg.__path__)
        if m.name.startswith("bench_")
    )
    return sorted(names, key=lambda n: (n != "vault", n))


def _run_main(module: object, quick: bool) -> str:
    """Call a module's ``main()`` with a matching argv; return what it printed."""
    buf = io.StringIO()
    saved = sys.argv
    sys.argv = [module.__name__] + (["--quick"] if quick else [])  # type: ignore[attr-defined]
    try:
        with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):
            module.main()  # type: ignore[attr-defined]
    finally:
        sys.argv = saved
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmark modules and print one table."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller N, fewer runs (~1 min)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only bench_NAME (repeatable, or comma-separated)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if any target FAILs")
    args = parser.parse_args(argv)

    available = discover()
    wanted = available
    if args.only:
        asked = [
            n.strip().removeprefix("bench_").removesuffix(".py")
            for item in args.only
            for n in item.split(",")
            if n.strip()
        ]
        unknown = [n for n in asked if n not in available]
        if unknown:
            parser.error(f"no benchmark {', '.join(unknown)}; available: {', '.join(available)}")
        wanted = asked

    rows: list[Row] = []
    extra: list[tuple[str, str]] = []
    crashed = False
    timings: list[str] = []
    t_all = time.perf_counter()
    for name in wanted:
        log(f"== bench_{name}{' (quick)' if args.quick else ''}")
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"tests.bench.bench_{name}")
            if hasattr(module, "run"):
                rows += module.run(args.quick)
            elif hasattr(module, "main"):
                extra.append((name, _run_main(module, args.quick)))
            else:
                raise RuntimeError("module has neither run(quick) nor main()")
        except Exception as exc:
            crashed = True
            traceback.print_exc()
            rows.append(
                Row(name, "benchmark crashed", "error", note=f"{type(exc).__name__}: {exc}"[:120])
            )
        timings.append(f"{name} {time.perf_counter() - t0:.0f} s")

    mode = "quick" if args.quick else "full"
    print(f"vaultui benchmarks ({mode}): {machine()}")
    warning = busy_warning()
    if warning:
        print(warning)
    print()
    print(table(rows))
    print()
    print(f"{summary(rows)}; {', '.join(timings)}; total {time.perf_counter() - t_all:.0f} s")
    for name, text in extra:
        print(f"\n-- bench_{name} (main() output) --\n{text.rstrip()}")
    if crashed:
        return 1
    if args.strict and any(r.ok is False for r in rows):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
