"""Servers and providers for the provider tests.

Session-scoped servers (started once, stopped at the end): OpenBao's dev server, moto in
server mode, and the Azure and GCP emulators. Each test gets fresh state: its own KV v2
mount on OpenBao, a moto reset, an emulator reset, a new local vault file.

``provider`` is parametrized over every provider, so a test that takes it runs against
all of them; with ``VAULTUI_CLOUD_TESTS=1`` the ``*-cloud`` parameters run the same
tests against real cloud accounts whose credentials are present, and are skipped with
the reason otherwise (test_cloud.py says why when they do not run). ``ns`` is a unique
name prefix per test (needed on real accounts, harmless elsewhere).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from core.providers import RetryPolicy, get_provider
from core.providers.base import Provider
from core.providers.retry import RateLimits
from tests.servers.azure_emulator import AzureKeyVaultEmulator
from tests.servers.gcp_emulator import GcpSecretManagerEmulator
from tests.servers.moto_server import ENV as AWS_ENV
from tests.servers.moto_server import MotoServer
from tests.servers.openbao import OpenBaoServer

FAST_RETRY = RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.05, deadline=10.0)
"""Retries for tests: same logic, millisecond waits."""

LOCAL_PROVIDERS = (
    "local",
    "hashicorp_vault",
    "aws_secrets_manager",
    "azure_key_vault",
    "gcp_secret_manager",
)
CLOUD_PROVIDERS = (
    "hashicorp_vault",
    "aws_secrets_manager",
    "azure_key_vault",
    "gcp_secret_manager",
)


@pytest.fixture(scope="session", autouse=True)
def _quiet_servers() -> None:
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)


_PROVIDER_ENV = ("VAULT_", "AWS_", "AZURE_", "GOOGLE_", "GCP_", "VAULTUI_GCP_", "CLOUDSDK_")


@pytest.fixture(autouse=True)
def _no_real_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's cloud settings away from SDK credential chains, and keep the
    chains from probing instance metadata servers (slow off-cloud) — unless a real-cloud
    run was asked for with VAULTUI_CLOUD_TESTS=1."""
    if os.environ.get("VAULTUI_CLOUD_TESTS") == "1":
        return
    for key in list(os.environ):
        if key.startswith(_PROVIDER_ENV):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/adc.json")


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBaoServer]:
    """OpenBao's dev server (a real Vault-API server) for the whole session."""
    with OpenBaoServer() as server:
        yield server


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's server mode (AWS Secrets Manager) for the whole session."""
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def azure_emulator() -> Iterator[AzureKeyVaultEmulator]:
    """The Azure Key Vault emulator (HTTPS, test CA) for the whole session."""
    emu = AzureKeyVaultEmulator().start()
    yield emu
    emu.close()


@pytest.fixture(scope="session")
def gcp_emulator() -> Iterator[GcpSecretManagerEmulator]:
    """The GCP Secret Manager emulator for the whole session."""
    emu = GcpSecretManagerEmulator().start()
    yield emu
    emu.stop()


@pytest.fixture
def ns() -> str:
    """A unique name prefix for this test."""
    return "t" + uuid.uuid4().hex[:10]


def base_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no provider settings inherited from the developer's shell."""
    return {"VAULTUI_HOME": str(tmp_path / "home"), "VAULTUI_USER": "tester"}


class ProviderFactory:
    """Builds providers against this session's servers with fresh per-test state."""

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.request = request
        self.tmp_path = tmp_path
        self.cleanups: list[Callable[[], None]] = []
        self._vault_mount: str | None = None

    def settings(self, kind: str, **env: str) -> Settings:
        """Settings (from an environment mapping) pointing ``kind`` at its local server."""
        base = base_env(self.tmp_path)
        base["FEDZK_SECRETS_PROVIDER"] = kind
        if kind == "hashicorp_vault":
            bao: OpenBaoServer = self.request.getfixturevalue("openbao")
            base.update(
                VAULT_ADDR=bao.addr, VAULT_TOKEN=bao.token, VAULT_MOUNT_POINT=self.vault_mount()
            )
        elif kind == "aws_secrets_manager":
            aws: MotoServer = self.request.getfixturevalue("moto_server")
            base.update(AWS_ENV, AWS_ENDPOINT_URL_SECRETS_MANAGER=aws.endpoint)
        elif kind == "azure_key_vault":
            emu: AzureKeyVaultEmulator = self.request.getfixturevalue("azure_emulator")
            base.update(AZURE_VAULT_URL=emu.url)
        elif kind == "gcp_secret_manager":
            gcp: GcpSecretManagerEmulator = self.request.getfixturevalue("gcp_emulator")
            base.update(GOOGLE_CLOUD_PROJECT=gcp.project, VAULTUI_GCP_ENDPOINT=gcp.url)
        base.update(env)
        return Settings.from_env(base)

    def vault_mount(self) -> str:
        """A fresh KV v2 mount on OpenBao for this test (removed afterwards)."""
        if self._vault_mount is None:
            import hvac

            bao: OpenBaoServer = self.request.getfixturevalue("openbao")
            root = hvac.Client(url=bao.addr, token=bao.token)
            mount = "kv" + uuid.uuid4().hex[:10]
            root.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
            self.cleanups.append(lambda: root.sys.disable_secrets_engine(mount))
            self._vault_mount = mount
        return self._vault_mount

    def reset(self, kind: str) -> None:
        """Clear the server's state for ``kind`` (moto reset, emulator reset)."""
        if kind == "aws_secrets_manager":
            self.request.getfixturevalue("moto_server").reset()
        elif kind == "azure_key_vault":
            self.request.getfixturevalue("azure_emulator").reset()
        elif kind == "gcp_secret_manager":
            self.request.getfixturevalue("gcp_emulator").reset()

    def extra_kwargs(self, kind: str) -> dict[str, Any]:
        """Constructor keywords a test client needs (injected credential, test CA)."""
        if kind == "azure_key_vault":
            emu: AzureKeyVaultEmulator = self.request.getfixturevalue("azure_emulator")
            return {
                "credential": emu.credential(),
                "connection_verify": emu.ca_file,
                "verify_challenge_resource": False,
            }
        if kind == "local":
            from core.vault import Argon2Params, KeySource, Vault

            home = self.tmp_path / "home"
            home.mkdir(parents=True, exist_ok=True)
            vault = Vault.create(
                home / "vault.db", KeySource.passphrase("test"), kdf=Argon2Params.fast()
            )
            self.cleanups.append(vault.close)
            return {"vault": vault}
        return {}

    def make(
        self, kind: str, *, reset: bool = True, settings: Settings | None = None, **overrides: Any
    ) -> Provider:
        """A provider of ``kind`` with fast retries and no client-side rate limit."""
        if reset:
            self.reset(kind)
        kwargs: dict[str, Any] = {
            "retry": FAST_RETRY,
            "rate_limits": RateLimits.unlimited(),
            "timeout": 5.0,
            **self.extra_kwargs(kind),
        }
        kwargs.update(overrides)
        provider = get_provider(kind, settings or self.settings(kind), **kwargs)
        self.cleanups.append(provider.close)
        return provider

    def close(self) -> None:
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:  # teardown must not hide the test's own result
                logging.getLogger(__name__).debug("cleanup failed", exc_info=True)


@pytest.fixture
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProviderFactory]:
    """Builds providers wired to this session's servers (see :class:`ProviderFactory`)."""
    f = ProviderFactory(request, tmp_path)
    yield f
    f.close()


# ---------------------------------------------------------------------------- cloud


def cloud_reason(kind: str) -> str | None:
    """Why the real-cloud run of ``kind`` is skipped, or None when it can run."""
    env = os.environ
    if env.get("VAULTUI_CLOUD_TESTS") != "1":
        return (
            "real-cloud tests are opt-in: set VAULTUI_CLOUD_TESTS=1 and the provider's credentials"
        )
    if kind == "hashicorp_vault" and not (env.get("VAULT_ADDR") and env.get("VAULT_TOKEN")):
        return "set VAULT_ADDR and VAULT_TOKEN to test a real HashiCorp Vault"
    if kind == "aws_secrets_manager" and not (
        env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE") or env.get("AWS_ROLE_ARN")
    ):
        return "set AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
    if kind == "azure_key_vault" and not env.get("AZURE_VAULT_URL"):
        return "set AZURE_VAULT_URL and AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/AZURE_TENANT_ID"
    if kind == "gcp_secret_manager" and not env.get("GOOGLE_CLOUD_PROJECT"):
        return "set GOOGLE_CLOUD_PROJECT and application default credentials"
    return None


class CloudCleanup:
    """Purges every secret a real-cloud test created under its prefix."""

    def __init__(self, provider: Provider, prefix: str) -> None:
        self.provider = provider
        self.prefix = prefix

    def __call__(self) -> None:
        for entry in list(self.provider.list()):
            if entry.name.startswith(self.prefix):
                self.provider.delete(entry.name, purge=True)


def _provider_params() -> list[str]:
    params = list(LOCAL_PROVIDERS)
    if os.environ.get("VAULTUI_CLOUD_TESTS") == "1":  # see tests/providers/test_cloud.py
        params += [f"{k}-cloud" for k in CLOUD_PROVIDERS]
    return params


@pytest.fixture(params=_provider_params())
def provider(request: pytest.FixtureRequest, factory: ProviderFactory, ns: str) -> Provider:
    """Every provider in turn (local servers; real clouds when configured)."""
    kind: str = request.param
    if kind.endswith("-cloud"):
        kind = kind[: -len("-cloud")]
        reason = cloud_reason(kind)
        if reason:
            pytest.skip(reason)
        request.applymarker(pytest.mark.cloud)
        p = get_provider(kind, Settings.from_env(), retry=FAST_RETRY)
        factory.cleanups.append(p.close)
        factory.cleanups.append(CloudCleanup(p, ns))
        return p
    return factory.make(kind)
