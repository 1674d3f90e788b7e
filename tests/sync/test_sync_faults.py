"""Interrupted syncs resume with no duplicate and no loss: a ``vaultui --batch sync``
killed with SIGKILL part way, a network cut, a burst of 5xx answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.errors import ProviderError
from core.sync.native import sync_native
from core.sync.sealed import bootstrap, prefix_for, sync_sealed
from core.vault import Argon2Params, KeySource, Vault
from tests.servers.fault_proxy import FaultProxy
from tests.servers.moto_server import ENV as AWS_ENV
from tests.sync.conftest import ProviderFactory

N = 240
SIZES = {"hashicorp_vault": N, "aws_secrets_manager": 120}  # moto is slower per call


@pytest.fixture
def aws_proxy(moto_server: Any) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of moto."""
    p = FaultProxy(moto_server.endpoint, style="aws").start()
    yield p
    p.stop()


@pytest.fixture
def proxy(openbao: Any) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of OpenBao (the shared handler answers hvac's
    ``LIST`` method too)."""
    p = FaultProxy(openbao.addr, style="vault").start()
    yield p
    p.stop()


def _seeded(path: Path, n: int = N) -> Vault:
    vault = Vault.create(path, KeySource.passphrase("pw"), kdf=Argon2Params.fast())
    with vault.transaction():
        for i in range(n):
            vault.put(f"s{i:03d}", f"value-{i}")
    return vault


class Remote:
    """Counts what reached the server, bypassing the proxy."""

    def __init__(self, kind: str, server: Any, mount: str, prefix: str) -> None:
        self.kind, self.server, self.mount, self.prefix = kind, server, mount, prefix

    def count(self) -> int:
        if self.kind == "hashicorp_vault":
            import hvac

            kv = hvac.Client(url=self.server.addr, token=self.server.token).secrets.kv.v2
            try:
                return len(
                    kv.list_secrets(path=self.prefix, mount_point=self.mount)["data"]["keys"]
                )
            except hvac.exceptions.InvalidPath:
                return 0
        import boto3

        client = boto3.client(
            "secretsmanager",
            endpoint_url=self.server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        pages = client.get_paginator("list_secrets").paginate()
        return sum(1 for p in pages for e in p["SecretList"] if e["Name"].startswith(self.prefix))


def _kill_mid_sync(
    tmp_path: Path,
    factory: ProviderFactory,
    request: pytest.FixtureRequest,
    kind: str,
    sealed: bool,
) -> tuple[Vault, int]:
    home = tmp_path / "home"
    vault = _seeded(home / "vault.db", SIZES[kind])
    prefix = prefix_for(vault.vault_id_hex) + "/" if sealed else ""
    if sealed and kind == "aws_secrets_manager":
        prefix += "r-"
    vault.close()
    (tmp_path / "pass").write_text("pw")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VAULTUI_", "VAULT_", "FEDZK_", "AWS_"))
    }
    env.update(VAULTUI_HOME=str(home), VAULTUI_PASSPHRASE_FILE=str(tmp_path / "pass"))
    if kind == "hashicorp_vault":
        proxy = request.getfixturevalue("proxy")
        server = request.getfixturevalue("openbao")
        mount = factory.vault_mount()
        env.update(VAULT_ADDR=proxy.url, VAULT_TOKEN=server.token, VAULT_MOUNT_POINT=mount)
    else:
        proxy = request.getfixturevalue("aws_proxy")
        server = request.getfixturevalue("moto_server")
        server.reset()
        mount = ""
        env.update(AWS_ENV, AWS_ENDPOINT_URL_SECRETS_MANAGER=proxy.url)
    remote = Remote(kind, server, mount, prefix)
    proxy.faults.set_latency(0.03)
    argv = [sys.executable, "-m", "vaultui", "--batch", "sync", "--provider", kind]
    child = subprocess.Popen(
        [*argv, "--sealed"] if sealed else argv,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and remote.count() < 30:
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    proxy.faults.set_latency(0)
    landed = remote.count()
    assert 30 <= landed < SIZES[kind], "the kill did not land in the middle of the sync"
    vault = Vault.open(home / "vault.db", KeySource.passphrase("pw"))
    vault.verify()
    return vault, landed


KINDS = ["hashicorp_vault", "aws_secrets_manager"]


@pytest.mark.parametrize("kind", KINDS)
def test_native_sync_killed_midway_resumes_without_duplicates(
    factory: ProviderFactory, tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    vault, landed = _kill_mid_sync(tmp_path, factory, request, kind, sealed=False)
    provider = factory.make(kind, reset=False)
    report = sync_native(vault, provider)
    assert report.ok
    n = SIZES[kind]
    assert len(report.pushed) <= n - landed + 16  # what was in flight may be re-sent
    for name in (f"s{i:03d}" for i in range(n)):
        versions = provider.versions(name)
        assert len(versions) == 1, f"{name} was written {len(versions)} times"
        assert provider.get(name).value == f"value-{int(name[1:])}"
    again = sync_native(vault, provider)
    assert (again.pushed, again.pulled, again.values_read) == ([], [], 0)


@pytest.mark.parametrize("kind", KINDS)
def test_sealed_sync_killed_midway_resumes_and_a_new_machine_gets_everything(
    factory: ProviderFactory, tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    vault, landed = _kill_mid_sync(tmp_path, factory, request, kind, sealed=True)
    provider = factory.make(kind, reset=False)
    report = sync_sealed(vault, provider)
    n = SIZES[kind]
    assert report.ok and len(report.pushed) <= n - landed + 20
    assert sync_sealed(vault, provider).remote_calls == 1
    other = bootstrap(provider, tmp_path / "other" / "vault.db", KeySource.passphrase("pw"))
    pulled = sync_sealed(other, factory.make(kind, reset=False))
    assert len(pulled.pulled) == n
    assert {r.name: other.get(r.name).value for r in other.list()} == {
        f"s{i:03d}": f"value-{i}" for i in range(n)
    }


@pytest.mark.parametrize("sealed", [False, True], ids=["native", "sealed"])
def test_network_cut_then_resume_loses_nothing(
    factory: ProviderFactory, tmp_path: Path, proxy: FaultProxy, sealed: bool
) -> None:
    vault = _seeded(tmp_path / "a" / "vault.db")
    settings = factory.settings("hashicorp_vault", VAULT_ADDR=proxy.url)
    provider = factory.make("hashicorp_vault", settings=settings)
    fn = sync_sealed if sealed else sync_native
    proxy.faults.server_errors(3)  # a 5xx burst: retried
    proxy.faults.stop_after(60)  # then the network goes away
    try:
        report = fn(vault, provider)
        assert not report.ok  # some secrets did not make it
    except ProviderError:
        pass
    proxy.server.restart()
    proxy.faults.clear()
    done = fn(vault, provider)
    assert done.ok
    direct = factory.make("hashicorp_vault")
    if sealed:
        other = bootstrap(direct, tmp_path / "b" / "vault.db", KeySource.passphrase("pw"))
        assert len(sync_sealed(other, direct).pulled) == N
        assert other.get("s123").value == "value-123"
    else:
        for i in range(0, N, 7):
            assert len(direct.versions(f"s{i:03d}")) == 1
            assert direct.get(f"s{i:03d}").value == f"value-{i}"
    assert fn(vault, provider).pushed == []
