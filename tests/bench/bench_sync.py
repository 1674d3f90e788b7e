"""Benchmark: sync and merge against their speed targets.

    python -m tests.bench.bench_sync            # 10,000 secrets; merge of 100,000
    python -m tests.bench.bench_sync --quick    # 2,000 secrets; merge of 20,000

Against OpenBao's dev server (a separate process on 127.0.0.1):

- sealed sync of N secrets: the first push, a no-op sync (target < 1 s for 10,000),
  and pushing 1,000 changed secrets (target < 10 s);
- native sync: the same three (a native no-op has to list every secret with its
  version: KV v2 lists names only, so that is one metadata read per secret).

And merging two copies of a 100,000-secret vault file that differ in 1% (500 secrets
changed on each side; target < 3 s), then merging again (a no-op).
The 100,000-secret file is built once and cached under ``.bench/``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from core.config import Settings
from core.providers import RateLimits, get_provider
from core.sync.merge import merge_vaults
from core.sync.native import sync_native
from core.sync.sealed import sync_sealed
from core.vault import Argon2Params, KeySource, Vault, write_new_key_file
from tests.bench.common import Row, cache_dir, cli_main, log
from tests.servers.openbao import OpenBaoServer

CHANGED = 1000


def _fill(vault: Vault, n: int, prefix: str = "app") -> None:
    batch = 2000
    for start in range(0, n, batch):
        with vault.transaction():
            for i in range(start, min(n, start + batch)):
                vault.put(
                    f"{prefix}/service-{i // 100:04d}/secret-{i:06d}",
                    f"value-{i}-{'x' * 24}",
                    description="benchmark secret",
                    tags={"env": "bench"},
                )


def _provider(bao: OpenBaoServer, home: Path, mount: str) -> object:
    settings = Settings.from_env(
        {
            "VAULTUI_HOME": str(home),
            "VAULT_ADDR": bao.addr,
            "VAULT_TOKEN": bao.token,
            "VAULT_MOUNT_POINT": mount,
        }
    )
    return get_provider("hashicorp_vault", settings, rate_limits=RateLimits.unlimited())


def _mount(bao: OpenBaoServer, name: str) -> str:
    import hvac

    hvac.Client(url=bao.addr, token=bao.token).sys.enable_secrets_engine(
        "kv", path=name, options={"version": "2"}
    )
    return name


def _timed(fn: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()  # type: ignore[operator]
    return time.perf_counter() - t0, out


def bench_provider_sync(n: int, tmp: Path) -> list[Row]:
    """Sealed and native sync of ``n`` secrets against OpenBao."""
    rows: list[Row] = []
    key = KeySource.from_key_file(write_new_key_file(tmp / "k"))
    with OpenBaoServer() as bao:
        for mode, fn in (("sealed", sync_sealed), ("native", sync_native)):
            home = tmp / mode
            vault = Vault.create(home / "vault.db", key, kdf=Argon2Params.fast())
            log(f"sync: filling {n:,} secrets ({mode})")
            _fill(vault, n)
            provider = _provider(bao, home, _mount(bao, f"kv-{mode}"))
            first, report = _timed(
                lambda vault=vault, provider=provider, fn=fn: fn(vault, provider)
            )
            assert report.ok and len(report.pushed) == n, report.failed
            rows.append(
                Row(
                    "sync",
                    f"{mode}: first push, N={n:,}",
                    round(first, 2),
                    unit="s",
                    note=f"{report.remote_calls:,} provider calls",
                )
            )
            noop, report = _timed(lambda vault=vault, provider=provider, fn=fn: fn(vault, provider))
            assert report.pushed == [] and report.pulled == [] and report.values_read == 0
            target = "< 1 s" if mode == "sealed" else ""
            rows.append(
                Row(
                    "sync",
                    f"{mode}: no-op sync, N={n:,}",
                    round(noop, 3),
                    unit="s",
                    target=target,
                    ok=(noop < 1.0) if target else None,
                    note=f"{report.remote_calls:,} provider calls, 0 values read",
                )
            )
            names = vault.names()[:: max(1, n // CHANGED)][:CHANGED]
            with vault.transaction():
                for name in names:
                    vault.put(name, f"changed-{name}")
            push, report = _timed(lambda vault=vault, provider=provider, fn=fn: fn(vault, provider))
            assert report.ok and len(report.pushed) == len(names), report.failed
            rows.append(
                Row(
                    "sync",
                    f"{mode}: push {len(names):,} changed, N={n:,}",
                    round(push, 2),
                    unit="s",
                    target="< 10 s",
                    ok=push < 10.0,
                    note=f"{report.remote_calls:,} provider calls",
                )
            )
            vault.close()
    return rows


def _merge_fixture(n: int) -> Path:
    folder = cache_dir("sync-merge", n)
    path = folder / "vault.db"
    key_path = folder / "vault.key"
    if not path.exists() or not key_path.exists():
        for p in (path, key_path):
            p.unlink(missing_ok=True)
        write_new_key_file(key_path)
        log(f"merge: building the {n:,}-secret vault once (cached in {folder})")
        vault = Vault.create(path, KeySource.from_key_file(key_path), kdf=Argon2Params.fast())
        _fill(vault, n)
        vault.close()
    return folder


def bench_merge(n: int, tmp: Path) -> list[Row]:
    """Merge two copies of an ``n``-secret vault that differ in 1%."""
    folder = _merge_fixture(n)
    key = KeySource.from_key_file(folder / "vault.key")
    for side in ("a", "b"):
        (tmp / side).mkdir()
        shutil.copy(folder / "vault.db", tmp / side / "vault.db")
    a = Vault.open(tmp / "a" / "vault.db", key)
    b = Vault.open(tmp / "b" / "vault.db", key)
    names = a.names()
    step = 100  # 1%: every 100th secret, half changed on each side
    with a.transaction():
        for name in names[0 :: step * 2]:
            a.put(name, "changed-on-a")
    with b.transaction():
        for name in names[step :: step * 2]:
            b.put(name, "changed-on-b")
    differ = len(names[0 :: step * 2]) + len(names[step :: step * 2])
    plan, report = _timed(lambda: merge_vaults(a, b, dry_run=True))
    merge, report = _timed(lambda: merge_vaults(a, b))
    assert len(report.updated) == len(names[step :: step * 2]), report.to_dict()["updated"][:3]
    again, report2 = _timed(lambda: merge_vaults(a, b))
    assert report2.changed == 0
    a.verify()
    t0 = time.process_time()
    merge_vaults(a, b)
    cpu = time.process_time() - t0
    rows = [
        Row(
            "merge",
            f"merge two files of {n:,} differing in {differ:,} (1%)",
            round(merge, 2),
            unit="s",
            target="< 3 s",
            ok=merge < 3.0,
            note=f"{report.compared:,} records compared, {report.changed:,} written, "
            f"{report.versions_imported:,} versions imported",
        ),
        Row("merge", f"dry-run plan of the same merge, N={n:,}", round(plan, 2), unit="s"),
        Row(
            "merge",
            f"merge again (idempotent no-op), N={n:,}",
            round(again, 2),
            unit="s",
            note=f"CPU {cpu:.2f} s",
        ),
    ]
    a.close()
    b.close()
    return rows


def run(quick: bool) -> list[Row]:
    """All sync and merge rows."""
    n_sync = 2_000 if quick else 10_000
    n_merge = 20_000 if quick else 100_000
    with tempfile.TemporaryDirectory(prefix="vaultui-bench-sync-") as tmp:
        root = Path(tmp)
        (root / "sync").mkdir()
        (root / "merge").mkdir()
        rows = bench_provider_sync(n_sync, root / "sync")
        rows += bench_merge(n_merge, root / "merge")
    return rows


if __name__ == "__main__":
    raise SystemExit(cli_main(run))
