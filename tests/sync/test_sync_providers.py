"""Two and three vault homes on one machine syncing through OpenBao (a real Vault-API
server) and moto (AWS Secrets Manager), sealed and native: interleaved edits, deletes,
renames, concurrent syncs; every home ends with the same secrets and every value
written is in some history."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path
from typing import Any

import pytest

from core.errors import ConflictError
from core.sync.native import sync_native
from core.sync.sealed import bootstrap, sync_sealed
from core.vault import Argon2Params, KeySource, Vault
from tests.sync.conftest import ProviderFactory
from tests.sync.homes import typed

COMBOS = [
    ("hashicorp_vault", "sealed"),
    ("hashicorp_vault", "native"),
    ("aws_secrets_manager", "sealed"),
    ("aws_secrets_manager", "native"),
]


class Home:
    """One machine: its vault file and its own provider client."""

    def __init__(self, vault: Vault, provider: Any, mode: str) -> None:
        self.vault = vault
        self.provider = provider
        self.mode = mode

    def sync(self, **kwargs: Any) -> Any:
        fn = sync_sealed if self.mode == "sealed" else sync_native
        report = fn(self.vault, self.provider, **kwargs)
        assert report.ok, report.failed
        return report

    def live(self) -> dict[str, Any]:
        return {r.name: typed(self.vault.get(r.name).value) for r in self.vault.list()}

    def history(self) -> set[tuple[str, Any]]:
        out = set()
        for rec in self.vault.list(include_deleted=True):
            out.update((rec.name, typed(v)) for _, v in self.vault.history_values(rec.name))
        return out


def make_homes(
    factory: ProviderFactory, tmp_path: Path, kind: str, mode: str, n: int, seed: dict[str, Any]
) -> list[Home]:
    key = KeySource.passphrase("correct horse")
    first = Vault.create(tmp_path / "h0" / "vault.db", key, kdf=Argon2Params.fast())
    for name, value in seed.items():
        first.put(name, value)
    homes = [Home(first, factory.make(kind), mode)]
    homes[0].sync()
    for i in range(1, n):
        provider = factory.make(kind, reset=False)
        path = tmp_path / f"h{i}" / "vault.db"
        if mode == "sealed":
            vault = bootstrap(provider, path, key, kdf=Argon2Params.fast())
        else:
            vault = Vault.create(path, key, kdf=Argon2Params.fast())
        home = Home(vault, provider, mode)
        home.sync()
        homes.append(home)
    return homes


def converge(homes: list[Home]) -> None:
    for _ in range(2):
        for home in homes:
            home.sync()


@pytest.mark.parametrize(("kind", "mode"), COMBOS)
def test_three_homes_converge_after_interleaved_edits(
    factory: ProviderFactory, tmp_path: Path, kind: str, mode: str
) -> None:
    rnd = random.Random(f"{kind}-{mode}{os.environ.get('VAULTUI_SYNC_TEST_SEED', '')}")
    seed = {"db/password": "p0", "api/token": "t0", "cfg": {"host": "h", "port": 5432}}
    homes = make_homes(factory, tmp_path, kind, mode, 3, seed)
    written: set[tuple[str, Any]] = {(n, typed(v)) for n, v in seed.items()}
    names = ["db/password", "api/token", "cfg", "svc/new", "svc/renamed"]
    for step in range(36):
        home = rnd.choice(homes)
        roll = rnd.random()
        name = rnd.choice(names)
        current = home.vault.get(name)
        if roll < 0.40:
            value: Any = f"v{step}-{rnd.randrange(1000)}"
            if name == "cfg":
                base = dict(current.value) if current and isinstance(current.value, dict) else {}
                base[rnd.choice(["host", "port", "user"])] = value
                value = base
            home.vault.put(name, value)
            written.add((name, typed(value)))
        elif roll < 0.50 and current is not None:
            home.vault.delete(name)
        elif roll < 0.58 and current is not None and name != "svc/renamed":
            home.vault.put("svc/renamed", current.value)  # a rename: new name, old deleted
            home.vault.delete(name)
            written.add(("svc/renamed", typed(current.value)))
        elif roll < 0.80:
            home.sync()
        else:  # two homes syncing at the same moment
            a, b = rnd.sample(homes, 2)
            errors: list[BaseException] = []

            def run(h: Home, errors: list[BaseException] = errors) -> None:
                try:
                    h.sync()
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(h,)) for h in (a, b)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, errors
    converge(homes)
    first = homes[0].live()
    for home in homes[1:]:
        assert home.live() == first
    kept = set().union(*(h.history() for h in homes))
    assert written <= kept, f"lost edits: {written - kept}"
    if mode == "sealed":  # sealed sync carries every history to every home
        assert all(h.history() == homes[0].history() for h in homes[1:])
    for home in homes:
        home.vault.verify()
        assert home.sync().pushed == [] and home.sync().pulled == []


@pytest.mark.parametrize(("kind", "mode"), COMBOS)
def test_concurrent_edits_of_one_secret_lose_nothing(
    factory: ProviderFactory, tmp_path: Path, kind: str, mode: str
) -> None:
    a, b = make_homes(factory, tmp_path, kind, mode, 2, {"shared": "v0"})
    a.vault.put("shared", "from-a")
    b.vault.put("shared", "from-b")
    barrier = threading.Barrier(2)
    reports: dict[str, Any] = {}

    def run(name: str, home: Home) -> None:
        barrier.wait()
        reports[name] = home.sync()

    threads = [threading.Thread(target=run, args=(n, h)) for n, h in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    converge([a, b])
    assert a.vault.get("shared").value == b.vault.get("shared").value
    kept = a.history() | b.history()
    assert {("shared", typed("from-a")), ("shared", typed("from-b"))} <= kept
    assert (
        any(r.conflicts for r in reports.values())
        or any(h.sync().conflicts for h in (a, b))
        or len({v for n, v in kept if n == "shared"}) == 3
    )


@pytest.mark.parametrize(("kind", "mode"), COMBOS)
def test_dry_run_writes_nothing_anywhere(
    factory: ProviderFactory, tmp_path: Path, kind: str, mode: str
) -> None:
    a, b = make_homes(factory, tmp_path, kind, mode, 2, {"x": "1"})
    a.vault.put("x", "2")
    a.vault.put("y", "new")
    seq = a.vault.seq
    plan = a.sync(dry_run=True)
    assert sorted(plan.pushed) == ["x", "y"]
    assert a.vault.seq == seq
    assert b.sync().pulled == []  # nothing reached the provider
    done = a.sync()
    assert sorted(done.pushed) == ["x", "y"]
    assert sorted(b.sync().pulled) == ["x", "y"]


def test_native_pulls_a_console_edit_with_the_provider_as_source(
    factory: ProviderFactory, tmp_path: Path, moto_server: Any
) -> None:
    import boto3

    from core.audit import AuditLog

    (home,) = make_homes(factory, tmp_path, "aws_secrets_manager", "native", 1, {"app/key": "k1"})
    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.put_secret_value(SecretId="app/key", SecretString="edited-in-console")
    audit = AuditLog(tmp_path / "audit.log", home.vault.derive_key("audit"), user="tester")
    report = sync_native(home.vault, home.provider, audit=audit)
    assert report.pulled == ["app/key"]
    assert home.vault.get("app/key").value == "edited-in-console"
    last = home.vault.history("app/key")[-1]
    assert (last.source, last.device) == ("aws_secrets_manager", "provider:aws_secrets_manager")
    events = [e for e in audit.get_audit_events() if e["operation"] == "sync_pull"]
    assert [(e["secret_name"], e["source"]) for e in events] == [
        ("app/key", "provider:aws_secrets_manager")
    ]
    assert "edited-in-console" not in (tmp_path / "audit.log").read_text()
    assert sync_native(home.vault, home.provider).values_read == 0  # no-op reads no value


def test_native_cas_refuses_to_overwrite_a_newer_remote_version(
    factory: ProviderFactory, tmp_path: Path
) -> None:
    a, b = make_homes(factory, tmp_path, "hashicorp_vault", "native", 2, {"k": "v0"})
    b.vault.put("k", "b1")
    b.sync()
    # a's cursor still says version 1: a raw write with that expectation must fail
    with pytest.raises(ConflictError):
        a.provider.put("k", "stale", expected_version="1")
    a.vault.put("k", "a1")
    report = a.sync()
    assert report.conflicts and a.vault.get("k").value in ("a1", "b1")
    assert {"b1", "a1"} <= {v for _, v in a.vault.history_values("k")}
    # the conflict waits for review with both sides readable, and can be taken back
    from core.sync import conflicts

    [entry] = conflicts.list_conflicts(a.vault)
    assert {
        conflicts.side_value(a.vault, entry, "mine"),
        conflicts.side_value(a.vault, entry, "theirs"),
    } == {"a1", "b1"}
    loser = "b1" if a.vault.get("k").value == "a1" else "a1"
    side = "mine" if loser == "a1" else "theirs"
    conflicts.resolve(a.vault, entry["id"], side)
    assert a.vault.get("k").value == loser and conflicts.list_conflicts(a.vault) == []
    a.sync()
    b.sync()
    assert b.vault.get("k").value == loser


@pytest.mark.parametrize("kind", ["azure_key_vault", "gcp_secret_manager"])
@pytest.mark.parametrize("mode", ["sealed", "native"])
def test_azure_and_gcp_emulators_sync_both_ways(
    factory: ProviderFactory, tmp_path: Path, kind: str, mode: str
) -> None:
    big = os.urandom(30_000)  # over Azure's 25 KB: sealed splits it into parts
    seed = {"App_Key": "k0", "cfg/db.main": {"host": "h"}}
    if mode == "sealed":
        seed["certs/big"] = big
    a, b = make_homes(factory, tmp_path, kind, mode, 2, seed)
    b.vault.put("App_Key", "k1")
    b.vault.delete("cfg/db.main")
    b.sync()
    a.vault.put("new/one", "n1")
    converge([a, b])
    assert a.live() == b.live()
    assert a.vault.get("App_Key").value == "k1" and a.vault.get("cfg/db.main") is None
    if mode == "sealed":
        assert b.vault.get("certs/big").value == big
