"""Rekey benchmark: a new data key for a whole vault, in one transaction.

``python -m tests.bench.bench_rekey [--quick]`` (or ``python -m tests.bench``).

The vault is :func:`tests.bench.bench_vault.vault_fast_kdf`'s fixture (N secrets with
description and tags, a key-file slot and a passphrase slot at the near-free KDF, so
the figure is the re-encryption, not Argon2), plus a second version of every tenth
secret, copied fresh for each run. One run = :func:`core.vault.rekey.rekey` with both
keys present (both slots rewrapped), committed durably: decrypt and check every row,
re-encrypt every record and version, rewrite the tables. N = 100,000 (10,000 with
``--quick``). Target: at most 15 s at 100,000.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from core.vault import KeySource, Vault
from core.vault.rekey import rekey
from tests.bench.bench_vault import PASSPHRASE, entry_name, vault_fast_kdf, work_dir
from tests.bench.common import Row, cli_main, log, median

GROUP = "rekey"
TARGET_S = 15.0
TARGET_N = 100_000


def _fixture(n: int, work: Path) -> tuple[Path, Path]:
    """(vault with history, its key file) under ``work``."""
    src = vault_fast_kdf(n)
    key_file = src.parent / "vault.key"
    base = work / f"rekey-base-{n}.db"
    shutil.copyfile(src, base)
    with Vault.open(base, KeySource.from_key_file(key_file)) as v:
        v.put_many((entry_name(i), f"second-{i}") for i in range(0, n, 10))
    return base, key_file


def _one_run(base: Path, key_file: Path, scratch: Path) -> tuple[float, int, int]:
    shutil.copyfile(base, scratch)
    sources = [KeySource.from_key_file(key_file), KeySource.passphrase(PASSPHRASE)]
    with Vault.open(scratch, sources[0]) as v:
        start = time.perf_counter()
        result = rekey(v, sources)
        took = time.perf_counter() - start
    with Vault.open(scratch, sources[1]) as v:  # the rewrapped passphrase slot opens it
        assert v.get(entry_name(0)) is not None
    return took, result.records, result.versions


def run(quick: bool) -> list[Row]:
    """The rekey rows (see the module docs)."""
    n = 10_000 if quick else TARGET_N
    runs = 2 if quick else 3
    work = work_dir()
    try:
        log(f"  rekey fixture N={n:,} ...")
        base, key_file = _fixture(n, work)
        times = []
        for r in range(runs):
            took, records, versions = _one_run(base, key_file, work / f"run-{r}.db")
            times.append(took)
            log(f"  rekey run {r + 1}/{runs}: {took:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = median(times)
    at_target = n == TARGET_N
    return [
        Row(
            GROUP,
            f"rekey {records:,} secrets + {versions:,} versions, 2 slots",
            round(seconds, 2),
            unit="s",
            target=f"<= {TARGET_S:.0f} s at {TARGET_N:,}" if at_target else "",
            ok=(seconds <= TARGET_S) if at_target else None,
            note=f"median of {runs}; {1e6 * seconds / (records + versions):.1f} µs per row",
        )
    ]


def main() -> int:
    """Entry point of ``python -m tests.bench.bench_rekey``."""
    return cli_main(run)


if __name__ == "__main__":
    raise SystemExit(main())
