"""Benchmark: push 1,000 secrets to each local provider server and read them back.

    python -m tests.bench.bench_providers              # 1,000 secrets, no added latency
    python -m tests.bench.bench_providers --n 300 --latency-ms 20 --only aws,azure

Servers run as separate processes on 127.0.0.1 (OpenBao's dev server, moto, the Azure
and GCP emulators), so they do not share the benchmark's GIL. For each provider three
ways of pushing and reading are timed, each on fresh names:

- **seed loop**: what the seed did: per secret, an availability check then the SDK call
  (Vault ``is_authenticated()``; AWS ``list_secrets(MaxResults=1)``, then
  ``create_secret`` with a JSON body). The seed had no Azure or GCP code: there the seed
  loop is the plain loop.
- **plain loop**: one SDK call per secret (GCP: create + add version) with a client
  built the way the SDK's documentation shows, sequentially.
- **vaultui bulk**: ``Provider.put_many`` / ``Provider.get_many`` (a bounded thread pool,
  one listing to skip per-secret lookups, AWS ``BatchGetSecretValue`` for reads).

Besides secrets per second, every way is measured by what it costs per secret: HTTP
requests (counted on the client), client CPU (this process, all threads) and server
CPU (the server processes, from ``/proc``). On 127.0.0.1 nothing waits on a network, so
both sides are CPU-bound: no amount of concurrency can push a secret faster than
``2 cores / (client CPU + server CPU)``, printed as the *ceiling*.

Client-side rate limits are off (``RateLimits.unlimited()``): these local servers have no
quota. ``--latency-ms`` adds that delay to every response (built into moto and the
emulators; a proxy in front of OpenBao) to show the effect of a network round trip to a
cloud region.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import Settings
from core.providers import Provider, RateLimits, get_provider
from tests.servers.moto_server import ENV as AWS_ENV
from tests.servers.moto_server import MotoServer
from tests.servers.openbao import OpenBaoServer

PROVIDERS = (
    "hashicorp_vault",
    "aws_secrets_manager",
    "azure_key_vault",
    "gcp_secret_manager",
    "local",
)
SHORT = {
    "hashicorp_vault": "vault",
    "aws_secrets_manager": "aws",
    "azure_key_vault": "azure",
    "gcp_secret_manager": "gcp",
    "local": "local",
}
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Cost:
    """One way of pushing or reading N secrets: its rate and what each secret cost."""

    rate: float
    """Secrets per second."""
    requests: float
    """HTTP requests per secret."""
    client_ms: float
    """CPU milliseconds per secret in this process (all threads)."""
    server_ms: float
    """CPU milliseconds per secret in the server processes."""

    @property
    def ceiling(self) -> float:
        """Secrets per second if client and server kept both cores 100% busy."""
        total = self.client_ms + self.server_ms
        return (os.cpu_count() or 1) * 1000 / total if total > 0 else 0.0


@dataclass
class Row:
    """The measurements for one provider."""

    provider: str
    seed_push: Cost | None = None
    plain_push: Cost | None = None
    bulk_push: Cost | None = None
    seed_read: Cost | None = None
    plain_read: Cost | None = None
    bulk_read: Cost | None = None
    notes: list[str] = field(default_factory=list)


class _RequestCounter:
    """Counts HTTP requests sent by any SDK in this process (they all use http.client)."""

    def __init__(self) -> None:
        self.count = 0
        self._original = http.client.HTTPConnection.putrequest

    def __enter__(self) -> _RequestCounter:
        original = self._original

        def putrequest(conn: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1  # approximate under threads: only a few lost updates
            return original(conn, *args, **kwargs)

        http.client.HTTPConnection.putrequest = putrequest  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        http.client.HTTPConnection.putrequest = self._original  # type: ignore[method-assign]


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    return total


def _measure(n: int, fn: Callable[[], object], server_pids: list[int]) -> Cost:
    with _RequestCounter() as counter:
        server0 = _cpu_seconds(server_pids)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        fn()
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        server = _cpu_seconds(server_pids) - server0
    return Cost(n / wall, counter.count / n, 1000 * cpu / n, 1000 * server / n)


def _child(
    args: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().decode().strip()
    if not url:
        raise RuntimeError(f"{args[0]} did not start")
    return proc, url


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Target:
    """How to reach one provider: settings, provider keywords, server processes, reset."""

    settings: Settings
    kwargs: dict[str, Any]
    pids: list[int] = field(default_factory=list)
    reset: Callable[[], None] = lambda: None


@contextmanager
def servers(latency_ms: float, only: set[str], tmp: Path) -> Iterator[dict[str, Target]]:
    """Start every requested server as its own process; yield how to reach each."""
    children: list[subprocess.Popen[bytes]] = []
    stack: list[Callable[[], None]] = []
    targets: dict[str, Target] = {}
    base = {"VAULTUI_HOME": str(tmp / "home"), "VAULTUI_USER": "bench"}
    try:
        if "hashicorp_vault" in only:
            bao = OpenBaoServer().start()
            stack.append(bao.stop)
            assert bao.proc is not None
            pids = [bao.proc.pid]
            addr = bao.addr
            if latency_ms:  # OpenBao has no delay of its own: a proxy adds it
                proc, addr = _child(
                    [
                        "tests.servers.fault_proxy",
                        "--upstream",
                        bao.addr,
                        "--latency-ms",
                        str(latency_ms),
                    ]
                )
                children.append(proc)
                pids.append(proc.pid)
            settings = Settings.from_env({**base, "VAULT_ADDR": addr, "VAULT_TOKEN": bao.token})
            targets["hashicorp_vault"] = Target(settings, {}, pids)
        if "aws_secrets_manager" in only:
            moto = MotoServer(process=True, latency_ms=latency_ms).start()
            stack.append(moto.stop)
            settings = Settings.from_env(
                {**base, **AWS_ENV, "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.endpoint}
            )
            targets["aws_secrets_manager"] = Target(
                settings, {}, [moto.pid] if moto.pid else [], reset=moto.reset
            )
        if "azure_key_vault" in only:
            tls_dir = tmp / "azure-tls"
            proc, url = _child(
                [
                    "tests.servers.azure_emulator",
                    "--tls-dir",
                    str(tls_dir),
                    "--token",
                    "bench-token",
                    "--latency-ms",
                    str(latency_ms),
                ]
            )
            children.append(proc)
            from tests.servers.azure_emulator import _StaticCredential

            settings = Settings.from_env({**base, "AZURE_VAULT_URL": url})
            kwargs = {
                "credential": _StaticCredential("bench-token"),
                "connection_verify": str(tls_dir / "ca.pem"),
                "verify_challenge_resource": False,
            }
            targets["azure_key_vault"] = Target(settings, kwargs, [proc.pid])
        if "gcp_secret_manager" in only:
            proc, url = _child(["tests.servers.gcp_emulator", "--latency-ms", str(latency_ms)])
            children.append(proc)
            settings = Settings.from_env(
                {**base, "GOOGLE_CLOUD_PROJECT": "vaultui-test", "VAULTUI_GCP_ENDPOINT": url}
            )
            targets["gcp_secret_manager"] = Target(settings, {}, [proc.pid])
        if "local" in only:
            from core.vault import Argon2Params, KeySource, Vault

            (tmp / "home").mkdir(parents=True, exist_ok=True)
            vault = Vault.create(
                tmp / "home" / "vault.db", KeySource.passphrase("bench"), kdf=Argon2Params.fast()
            )
            stack.append(vault.close)
            targets["local"] = Target(Settings.from_env(base), {"vault": vault})
        yield targets
    finally:
        for proc in children:
            _kill(proc)
        for fn in reversed(stack):
            fn()


# ---------------------------------------------------------------------------- raw SDK loops


def raw_loops(kind: str, target: Target) -> tuple[Callable[..., None], Callable[..., None], bool]:
    """(push(items, seed), read(names, seed), has_seed) with plain SDK calls.

    Each client is built the way the SDK documents it (defaults, one client reused for
    every call); only the endpoint and test credentials are filled in.
    """
    s = target.settings
    if kind == "hashicorp_vault":
        import hvac

        client = hvac.Client(url=s.vault_addr, token=s.vault_token)
        kv = client.secrets.kv.v2

        def push(items: dict[str, str], seed: bool) -> None:
            for name, value in items.items():
                if seed and not client.is_authenticated():
                    raise RuntimeError("not available")
                kv.create_or_update_secret(path=name, secret={"value": value}, mount_point="secret")

        def read(names: list[str], seed: bool) -> None:
            for name in names:
                if seed and not client.is_authenticated():
                    raise RuntimeError("not available")
                kv.read_secret_version(
                    path=name, mount_point="secret", raise_on_deleted_version=True
                )

        return push, read, True
    if kind == "aws_secrets_manager":
        import boto3

        env = s.env
        client = boto3.client(
            "secretsmanager",
            region_name=s.aws_region,
            endpoint_url=env["AWS_ENDPOINT_URL_SECRETS_MANAGER"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

        def push(items: dict[str, str], seed: bool) -> None:
            for name, value in items.items():
                if seed:
                    client.list_secrets(MaxResults=1)
                    client.create_secret(
                        Name=name,
                        SecretString=json.dumps({"value": value}),
                        Tags=[{"Key": "managed_by", "Value": "fedzk"}],
                    )
                else:
                    client.create_secret(Name=name, SecretString=value)

        def read(names: list[str], seed: bool) -> None:
            for name in names:
                if seed:
                    client.list_secrets(MaxResults=1)
                    json.loads(client.get_secret_value(SecretId=name)["SecretString"])
                else:
                    client.get_secret_value(SecretId=name)

        return push, read, True
    if kind == "azure_key_vault":
        from azure.keyvault.secrets import SecretClient

        k = target.kwargs
        client = SecretClient(
            str(s.azure_vault_url),
            k["credential"],
            verify_challenge_resource=False,
            connection_verify=k["connection_verify"],
        )

        def push(items: dict[str, str], seed: bool) -> None:
            for name, value in items.items():
                client.set_secret(name.replace("/", "-"), value)

        def read(names: list[str], seed: bool) -> None:
            for name in names:
                client.get_secret(name.replace("/", "-"))

        return push, read, False
    if kind == "gcp_secret_manager":
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import secretmanager

        client = secretmanager.SecretManagerServiceClient(
            credentials=AnonymousCredentials(),
            transport="rest",
            client_options={"api_endpoint": s.gcp_endpoint},
        )
        parent = f"projects/{s.gcp_project}"

        def push(items: dict[str, str], seed: bool) -> None:
            for name, value in items.items():
                sid = name.replace("/", "-")
                client.create_secret(
                    request={
                        "parent": parent,
                        "secret_id": sid,
                        "secret": {"replication": {"automatic": {}}},
                    }
                )
                client.add_secret_version(
                    request={
                        "parent": f"{parent}/secrets/{sid}",
                        "payload": {"data": value.encode()},
                    }
                )

        def read(names: list[str], seed: bool) -> None:
            for name in names:
                sid = name.replace("/", "-")
                client.access_secret_version(name=f"{parent}/secrets/{sid}/versions/latest")

        return push, read, False
    vault = target.kwargs["vault"]

    def push(items: dict[str, str], seed: bool) -> None:
        for name, value in items.items():
            vault.put(name, value)

    def read(names: list[str], seed: bool) -> None:
        for name in names:
            vault.get(name)

    return push, read, False


def bench(kind: str, target: Target, n: int) -> Row:
    """Time the three ways for one provider (fresh names each)."""
    row = Row(kind)
    push, read, has_seed = raw_loops(kind, target)
    pids = target.pids

    def items(tag: str) -> dict[str, str]:
        return {f"bench-{tag}/s{i:05d}": secrets.token_urlsafe(24) for i in range(n)}

    warm = items("warm")  # open connections, answer Azure's auth challenge, fill caches
    push(dict(list(warm.items())[:5]), False)
    if has_seed:
        target.reset()
        seed_items = items("seed")
        row.seed_push = _measure(n, lambda: push(seed_items, True), pids)
        row.seed_read = _measure(n, lambda: read(list(seed_items), True), pids)
    target.reset()
    plain_items = items("plain")
    row.plain_push = _measure(n, lambda: push(plain_items, False), pids)
    row.plain_read = _measure(n, lambda: read(list(plain_items), False), pids)

    target.reset()
    provider: Provider = get_provider(
        kind, target.settings, rate_limits=RateLimits.unlimited(), **target.kwargs
    )
    provider.put_many(dict(list(warm.items())[5:10])).raise_for_errors()
    bulk_items = items("bulk")
    results: dict[str, Any] = {}

    def do_push() -> None:
        results["push"] = provider.put_many(bulk_items)

    def do_read() -> None:
        results["read"] = provider.get_many(list(bulk_items))

    row.bulk_push = _measure(n, do_push, pids)
    results["push"].raise_for_errors()
    row.bulk_read = _measure(n, do_read, pids)
    read_result = results["read"]
    read_result.raise_for_errors()
    wrong = [
        k
        for k, v in bulk_items.items()
        if read_result.done[k] is None or read_result.done[k].value != v
    ]
    if wrong:
        raise AssertionError(f"{kind}: {len(wrong)} secrets read back wrong")
    row.notes.append(
        f"threads: push {results['push'].workers}, read {read_result.workers} "
        f"(max {provider.max_workers})"
    )
    provider.close()
    return row


def _fmt(cost: Cost | None) -> str:
    return "-" if cost is None else f"{cost.rate:,.0f}"


def _ratio(a: Cost | None, b: Cost | None) -> str:
    return "-" if a is None or b is None or not b.rate else f"{a.rate / b.rate:.1f}x"


def _peer(r: Row, what: str) -> tuple[str, Cost | None]:
    seed, plain = getattr(r, f"seed_{what}"), getattr(r, f"plain_{what}")
    return ("seed loop", seed) if seed is not None else ("plain loop", plain)


def print_table(rows: list[Row], n: int, latency_ms: float) -> None:
    """The results as Markdown tables: rates and ratios, then costs per secret."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print()
    print(
        f"{n} secrets per provider, added latency {latency_ms:g} ms, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load}"
    )
    print()
    head = (
        "| provider | push: seed loop | push: plain loop | push: bulk | bulk vs seed "
        "| bulk vs plain | read: seed loop | read: plain loop | read: bulk | bulk vs seed "
        "| bulk vs plain |"
    )
    print(head)
    print("|" + "|".join(["---"] * 11) + "|")
    for r in rows:
        print(
            f"| {SHORT[r.provider]} | {_fmt(r.seed_push)} | {_fmt(r.plain_push)} "
            f"| {_fmt(r.bulk_push)} "
            f"| {_ratio(r.bulk_push, r.seed_push)} | {_ratio(r.bulk_push, r.plain_push)} "
            f"| {_fmt(r.seed_read)} | {_fmt(r.plain_read)} | {_fmt(r.bulk_read)} "
            f"| {_ratio(r.bulk_read, r.seed_read)} | {_ratio(r.bulk_read, r.plain_read)} |"
        )
    print()
    print("secrets/s; seed loop = availability check + SDK call per secret")
    print("(the seed had no Azure or GCP code: there it is the plain loop)")
    print()
    print(
        "| provider | way | requests/secret | client CPU ms/secret | server CPU ms/secret "
        "| secrets/s | CPU ceiling secrets/s | ceiling vs peer |"
    )
    print("|" + "|".join(["---"] * 8) + "|")
    for r in rows:
        if r.provider == "local":
            continue
        for what in ("push", "read"):
            peer_name, peer = _peer(r, what)
            for way in ("seed", "plain", "bulk"):
                c: Cost | None = getattr(r, f"{way}_{what}")
                if c is None:
                    continue
                vs = f"{c.ceiling / peer.rate:.1f}x {peer_name}" if way == "bulk" and peer else ""
                print(
                    f"| {SHORT[r.provider]} | {what}: {way} | {c.requests:.2f} "
                    f"| {c.client_ms:.2f} | {c.server_ms:.2f} | {c.rate:,.0f} "
                    f"| {c.ceiling:,.0f} | {vs} |"
                )
    print()
    print(
        "CPU ceiling = cores x 1000 / (client + server CPU ms per secret): the most any "
        "concurrency can reach while both sides run on this machine's cores."
    )
    for r in rows:
        if r.notes:
            print(f"{SHORT[r.provider]}: {'; '.join(r.notes)}")


def measure(n: int, latency_ms: float, wanted: set[str]) -> list[Row]:
    """Start the servers, benchmark every wanted provider, stop the servers."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="vaultui-bench-") as tmp,
        servers(latency_ms, wanted, Path(tmp)) as targets,
    ):
        for kind in PROVIDERS:
            if kind in targets:
                print(f"{SHORT[kind]}...", file=sys.stderr, flush=True)
                rows.append(bench(kind, targets[kind], n))
    return rows


def _cost_note(c: Cost) -> str:
    return f"{c.requests:.2f} req, client {c.client_ms:.2f} + server {c.server_ms:.2f} ms CPU"


def run(quick: bool) -> list[Any]:
    """Rows for ``python -m tests.bench`` (see tests/bench/common.py).

    N=1,000 on the local servers (200 with ``quick``) plus N=200 (100 with ``quick``) with
    a 20 ms round trip added to every request. The ">= 5x" push target is judged with the
    added round trip, where batching has something to save; on loopback the client and the
    server share this machine's two cores, so that figure is information only.
    """
    from tests.bench.common import Row as BenchRow

    out: list[BenchRow] = []
    runs = [(200 if quick else 1000, 0.0), (100 if quick else 200, 20.0)]
    for n, latency in runs:
        where = "127.0.0.1" if not latency else f"+{latency:g} ms round trip"
        for r in measure(n, latency, set(PROVIDERS)):
            assert r.bulk_push is not None and r.bulk_read is not None
            for what, bulk in (("push", r.bulk_push), ("read", r.bulk_read)):
                peer_name, peer = _peer(r, what)
                assert peer is not None
                checked = what == "push" and bool(latency) and r.provider != "local"
                ratio = round(bulk.rate) / round(peer.rate) if peer.rate else 0.0
                plain = getattr(r, f"plain_{what}")
                notes = [f"plain loop {plain.rate:,.0f}/s"] if peer is not plain else []
                if r.provider != "local":
                    notes.append(f"per secret: bulk {_cost_note(bulk)}")
                    notes.append(f"{peer_name} {_cost_note(peer)}")
                    notes.append(f"CPU ceiling {bulk.ceiling:,.0f}/s")
                if what == "push":
                    notes += r.notes
                out.append(
                    BenchRow(
                        group="providers",
                        metric=f"{SHORT[r.provider]} bulk {what}, N={n}, {where}",
                        vaultui=round(bulk.rate),
                        unit="secrets/s",
                        peer_name=peer_name if r.seed_push is not None else "plain SDK loop",
                        peer_value=round(peer.rate),
                        target=f">= 5x {peer_name}" if checked else "",
                        ok=(ratio >= 5) if checked else None,
                        note="; ".join(notes),
                    )
                )
    return out


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="secrets per provider (default 1000)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added to every response"
    )
    parser.add_argument("--only", default="", help="comma-separated: vault,aws,azure,gcp,local")
    args = parser.parse_args()
    wanted = {k for k, v in SHORT.items() if not args.only or v in args.only.split(",")}
    rows = measure(args.n, args.latency_ms, wanted)
    print_table(rows, args.n, args.latency_ms)


if __name__ == "__main__":
    main()
