"""vaultui's benchmarks: ``python -m tests.bench [--quick] [--only NAME]``.

Each ``bench_<area>.py`` module exposes ``run(quick: bool) -> list[Row]`` (see
:mod:`tests.bench.common` for the row format); ``__main__`` runs them all and prints one
table. Benchmarks are not pytest tests. Fixtures are cached under ``.bench/``.
"""
