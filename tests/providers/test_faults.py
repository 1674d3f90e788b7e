"""Faults: throttling, 5xx bursts, a server that stops in the middle of a bulk push, a
server that never answers. Run against every remote provider: OpenBao and moto behind a
fault-injecting proxy, the Azure and GCP emulators with their own fault plans.

What must hold: throttling and 5xx are retried (bounded); when retries run out the error
is the core one with its troubleshooting hint; a bulk push that loses its server reports
exactly which secrets were written and which were not, loses nothing, and a retry of the
failed ones completes; every call gives up after its timeout.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from core.errors import ProviderAuthError, ProviderThrottledError, ProviderUnavailableError
from core.providers import Provider, RetryPolicy
from tests.providers.conftest import ProviderFactory
from tests.servers.fault_proxy import FaultProxy
from tests.servers.http_base import Faults, HttpServer

REMOTE = ("hashicorp_vault", "aws_secrets_manager", "azure_key_vault", "gcp_secret_manager")


@dataclass
class Faulty:
    """A provider whose server we can throttle, break and stop."""

    provider: Provider
    faults: Faults
    server: HttpServer


@pytest.fixture(params=REMOTE)
def faulty(request: pytest.FixtureRequest, factory: ProviderFactory) -> Iterator[Faulty]:
    kind: str = request.param
    if kind in ("hashicorp_vault", "aws_secrets_manager"):
        if kind == "hashicorp_vault":
            upstream = request.getfixturevalue("openbao").addr
            proxy = FaultProxy(upstream, style="vault").start()
            settings = factory.settings(kind, VAULT_ADDR=proxy.url)
        else:
            upstream = request.getfixturevalue("moto_server").endpoint
            proxy = FaultProxy(upstream, style="aws").start()
            settings = factory.settings(kind, AWS_ENDPOINT_URL_SECRETS_MANAGER=proxy.url)
        provider = factory.make(kind, settings=settings)
        proxy.faults.clear()
        yield Faulty(provider, proxy.faults, proxy.server)
        proxy.stop()
        return
    emulator = request.getfixturevalue(
        "azure_emulator" if kind == "azure_key_vault" else "gcp_emulator"
    )
    provider = factory.make(kind)
    provider.health()  # Azure: the bearer challenge is answered before faults start
    emulator.faults.clear()
    yield Faulty(provider, emulator.faults, emulator.server)
    emulator.faults.clear()
    emulator.server.start()  # in case a test crashed it


def test_throttling_is_retried(faulty: Faulty) -> None:
    faulty.faults.throttle(3)
    version = faulty.provider.put("throttled/secret", "value")
    assert faulty.faults.injected == 3
    got = faulty.provider.get("throttled/secret")
    assert got is not None and (got.value, got.version) == ("value", version)


def test_persistent_throttling_is_a_clear_error(faulty: Faulty) -> None:
    faulty.faults.throttle(1000)
    with pytest.raises(ProviderThrottledError) as err:
        faulty.provider.put("throttled/forever", "value")
    attempts = faulty.provider.retry.attempts
    assert f"after {attempts} attempts" in str(err.value)
    assert faulty.provider.display_name in str(err.value)
    assert err.value.hint and err.value.hint in str(err.value)
    faulty.faults.clear()
    faulty.provider.put("throttled/forever", "value")
    assert faulty.provider.get("throttled/forever").value == "value"  # type: ignore[union-attr]


def test_a_5xx_burst_is_retried(faulty: Faulty) -> None:
    faulty.faults.server_errors(3, status=503)
    faulty.provider.put("burst/secret", {"ok": True})
    assert faulty.faults.injected == 3
    faulty.faults.server_errors(2, status=500)
    assert faulty.provider.get("burst/secret").value == {"ok": True}  # type: ignore[union-attr]


def test_persistent_5xx_is_unavailable_with_hint(faulty: Faulty) -> None:
    faulty.faults.server_errors(1000, status=500)
    with pytest.raises(ProviderUnavailableError) as err:
        faulty.provider.get("burst/any")
    assert "gave up after" in str(err.value) and err.value.hint
    health = faulty.provider.health()
    assert health.ok is False and faulty.provider.display_name in health.detail


def test_denied_access_is_not_retried_and_stops_a_bulk_push(faulty: Faulty) -> None:
    faulty.faults.deny(1)
    with pytest.raises(ProviderAuthError) as err:
        faulty.provider.put("denied/one", "value")
    assert faulty.faults.injected == 1  # no retry: it would only be denied again
    assert err.value.hint and err.value.hint in str(err.value)
    faulty.faults.deny(1000)
    result = faulty.provider.put_many({f"denied/{i}": "v" for i in range(40)})
    assert len(result.failed) == 40 and result.not_attempted
    assert all(isinstance(e, ProviderAuthError) for e in result.failed.values())


def test_server_stopped_mid_bulk_push_loses_nothing(faulty: Faulty) -> None:
    provider = faulty.provider
    items: dict[str, object] = {}
    for i in range(60):
        items[f"push/item-{i:02d}"] = [f"text {i}", f"bytes {i}".encode(), {"n": i}][i % 3]
    faulty.faults.stop_after(25)
    result = provider.put_many(items)

    assert not result.ok
    assert set(result.done) | set(result.failed) == set(items)
    assert not set(result.done) & set(result.failed)
    assert result.not_attempted, "the push should stop early once the server is gone"
    for err in result.failed.values():
        assert isinstance(err, ProviderUnavailableError)
        assert "connection failed" in str(err) or "server error" in str(err)
    with pytest.raises(ProviderUnavailableError) as summary:
        result.raise_for_errors()
    assert f"of {len(items)} secrets failed" in str(summary.value)
    assert summary.value.hint and summary.value.hint in str(summary.value)

    faulty.server.start()  # the server comes back
    retry = provider.put_many({name: items[name] for name in result.failed})
    assert retry.ok, retry.failed
    read = provider.get_many(list(items))
    assert read.ok
    for name, value in items.items():
        assert read.done[name] is not None, name
        assert read.done[name].value == value, name  # type: ignore[union-attr]


class BlackHole:
    """A TCP port that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("kind", REMOTE)
def test_every_call_has_a_timeout(factory: ProviderFactory, kind: str) -> None:
    hole = BlackHole()
    try:
        url = f"http://127.0.0.1:{hole.port}"
        env = {
            "hashicorp_vault": {"VAULT_ADDR": url},
            "aws_secrets_manager": {"AWS_ENDPOINT_URL_SECRETS_MANAGER": url},
            "azure_key_vault": {"AZURE_VAULT_URL": f"https://127.0.0.1:{hole.port}"},
            "gcp_secret_manager": {"VAULTUI_GCP_ENDPOINT": url},
        }[kind]
        provider = factory.make(
            kind,
            reset=False,
            settings=factory.settings(kind, **env),
            timeout=0.4,
            retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.01, deadline=5),
        )
        started = time.monotonic()
        with pytest.raises(ProviderUnavailableError) as err:
            provider.put("slow/secret", "value")
        assert time.monotonic() - started < 5
        assert provider.display_name in str(err.value)
    finally:
        hole.close()
