"""Benchmark of backups: ``python -m tests.bench.bench_backup [--quick]`` (or as part of
``python -m tests.bench``).

On a vault of N secrets (100,000; 10,000 with ``--quick``; the filled vault is cached
under ``.bench/``) it measures:

- a full backup (target < 2 s) and its size;
- verify of that backup;
- restore of the full backup when nothing changed (read, check, compare: no writes);
- an incremental backup after changing 1% of the secrets (target < 10% of the full
  backup's time and size);
- restore of the full backup over those 1% changes (target < 3 s);
- restore when EVERY secret changed, and disaster recovery into a new vault file:
  these write N new versions (N records with their history), through the fast paths
  (``bulk.put_encoded`` with the records the restore plan already read; a bulk load
  of the new vault) and, for comparison, through the generic ``Vault.put_many``.

Wall times are medians of 3 runs where a run leaves the vault as it was; on a busy
machine (load above the core count) the targets are judged on CPU time, shown in the
notes. Nothing here is a pytest test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.backup import BackupManager, restore_backup_file
from core.backup import recovery as recovery_mod
from core.backup import restore as restore_mod
from core.vault import Argon2Params, KeySource, Vault, decode_value
from tests.backup.reference import replay_reference
from tests.bench.common import Row, busy_warning, cache_dir, cli_main, log, median_wall_cpu

GROUP = "backup"
FIXTURE_VERSION = 1

PASSPHRASE = "bench passphrase"


def _generic_paths() -> dict[tuple[Any, str], Callable[..., Any]]:
    """Patches that send restores and recovery through ``Vault.put_many`` (decoded
    values, every record looked up and decrypted again): the paths before
    ``put_encoded`` and the bulk load, for comparison."""

    def via_put_many(vault: Vault, items: list[Any], current: Any = None, **_kw: Any) -> int:
        return vault.put_many([(n, decode_value(e), o) for n, e, o in items])

    return {
        (restore_mod, "put_encoded"): via_put_many,
        (recovery_mod, "load_into_new"): replay_reference,
    }


# ---------------------------------------------------------------------------------------


def _fill(vault: Vault, n: int) -> None:
    with vault.transaction():
        for i in range(n):
            vault.put(
                f"app/service{i:06d}/password",
                os.urandom(16).hex(),
                description=f"password of service {i}",
                tags={"env": "prod"},
            )


def _fixture(n: int) -> Path:
    """A vault file holding ``n`` secrets (built once, cached under .bench/)."""
    path = cache_dir("backup", f"n{n}", FIXTURE_VERSION) / "vault.db"
    if not path.exists():
        log(f"backup: building a vault of {n:,} secrets (cached for later runs)")
        tmp = path.with_name(f"building-{os.getpid()}.db")  # concurrent runs do not clash
        with Vault.create(tmp, KeySource.passphrase(PASSPHRASE), kdf=Argon2Params.fast()) as v:
            _fill(v, n)
        tmp.rename(path)
    return path


def _change(vault: Vault, names: list[str], value: Callable[[int], str]) -> None:
    with vault.transaction():
        for i, name in enumerate(names):
            vault.put(name, value(i))


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall time, CPU time and result of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, time.process_time() - c0, result


def _judge(wall: float, cpu: float, limit: float) -> bool:
    return (cpu if busy_warning() else wall) < limit


def run(quick: bool) -> list[Row]:
    """Measure backup, incremental, verify, restore and recovery; see the docstring."""
    n = 10_000 if quick else 100_000
    label = f"N={n:,}"
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="vaultui-bench-backup-"))
    ks = KeySource.passphrase(PASSPHRASE)
    try:
        shutil.copy(_fixture(n), work / "vault.db")
        vault = Vault.open(work / "vault.db", ks)
        backups = BackupManager(vault, work / "backups")
        counter = itertools.count()
        made: list[Path] = []

        def full() -> None:
            made.append(backups.create_backup(f"full{next(counter)}"))

        full_s, full_cpu = median_wall_cpu(full, 3)
        path = made[0]
        full_size = path.stat().st_size
        for extra in made[1:]:
            extra.unlink()
        rows.append(
            Row(
                GROUP,
                f"full backup, {label}",
                full_s,
                unit="s",
                target="< 2 s",
                ok=_judge(full_s, full_cpu, 2.0),
                note=f"CPU {full_cpu:.2f} s; {full_size / 1e6:.1f} MB file",
            )
        )
        verify_s, verify_cpu = median_wall_cpu(lambda: backups.verify_backup(path.stem), 3)
        rows.append(
            Row(
                GROUP,
                f"verify full backup, {label}",
                verify_s,
                unit="s",
                note=f"CPU {verify_cpu:.2f} s; MAC, decrypt, parse",
            )
        )
        noop_s, noop_cpu = median_wall_cpu(lambda: backups.restore_backup(path.stem), 3)
        rows.append(
            Row(
                GROUP,
                f"restore full backup, nothing changed, {label}",
                noop_s,
                unit="s",
                target="< 3 s",
                ok=_judge(noop_s, noop_cpu, 3.0),
                note=f"CPU {noop_cpu:.2f} s; read, verify, compare; no writes",
            )
        )

        names = vault.names()
        changed = names[::100]
        _change(vault, changed, lambda i: f"changed-{i}")
        inc_s, inc_cpu, inc = _timed(lambda: backups.create_backup("inc", incremental=True))
        inc_size = inc.stat().st_size
        time_ratio = (inc_cpu / full_cpu) if busy_warning() else (inc_s / full_s)
        rows.append(
            Row(
                GROUP,
                f"incremental after 1% changed, {label}",
                inc_s,
                unit="s",
                target="< 10% of full",
                ok=time_ratio < 0.10,
                note=f"{time_ratio:.1%} of the full backup's time",
            )
        )
        rows.append(
            Row(
                GROUP,
                f"incremental size after 1% changed, {label}",
                inc_size / 1e6,
                unit="MB",
                target="< 10% of full",
                ok=inc_size < full_size / 10,
                note=f"{inc_size / full_size:.1%} of {full_size / 1e6:.1f} MB",
            )
        )
        one_s, one_cpu, result = _timed(lambda: backups.restore_backup(path.stem))
        assert result["counts"]["changed"] == len(changed)
        rows.append(
            Row(
                GROUP,
                f"restore full over 1% changes, {label}",
                one_s,
                unit="s",
                target="< 3 s",
                ok=_judge(one_s, one_cpu, 3.0),
                note=f"CPU {one_cpu:.2f} s; {len(changed):,} new versions",
            )
        )

        # every secret changed: the restore's fast path (records handed from the plan to
        # put_encoded) and recovery's bulk load, then for comparison both through the
        # generic Vault.put_many, as before these fast paths
        for mode, patches in (("fast path", {}), ("via Vault.put_many", _generic_paths())):
            saved = {(mod, name): getattr(mod, name) for mod, name in patches}
            for (mod, name), fn in patches.items():
                setattr(mod, name, fn)
            try:
                vault.put_many([(name, f"all-changed-{mode}") for name in names])
                all_s, all_cpu, result = _timed(lambda: backups.restore_backup(path.stem))
                assert result["counts"]["changed"] == n
                vault.verify()
                rows.append(
                    Row(
                        GROUP,
                        f"restore, every secret changed ({mode}), {label}",
                        all_s,
                        unit="s",
                        target="< 3 s",
                        ok=_judge(all_s, all_cpu, 3.0),
                        note=f"CPU {all_cpu:.1f} s; {n:,} new versions",
                    )
                )
                target = work / f"recovered-{len(rows)}.db"
                rec_s, rec_cpu, _ = _timed(lambda t=target: restore_backup_file(path, t, ks))
                with Vault.open(target, ks) as copy:
                    copy.verify()
                    assert copy.count() == n
                rows.append(
                    Row(
                        GROUP,
                        f"recovery into a new vault ({mode}), {label}",
                        rec_s,
                        unit="s",
                        target="< 3 s",
                        ok=_judge(rec_s, rec_cpu, 3.0),
                        note=f"CPU {rec_cpu:.1f} s; every record and its "
                        "history; includes one Argon2id",
                    )
                )
            finally:
                for (mod, name), fn in saved.items():
                    setattr(mod, name, fn)
        vault.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    raise SystemExit(cli_main(run))
