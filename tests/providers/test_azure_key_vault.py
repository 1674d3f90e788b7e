"""Azure Key Vault specifics, against the HTTPS emulator with the real SDK: the name
mapping and content types other tools see, soft delete / recover / purge, disabled
versions, the bearer challenge with a wrong token, an untrusted CA, paging."""

from __future__ import annotations

import base64
import time

import pytest

from core.errors import ProviderAuthError, ProviderLimitError, ProviderUnavailableError
from core.providers import RetryPolicy
from tests.providers.conftest import ProviderFactory
from tests.servers.azure_emulator import AzureKeyVaultEmulator

KIND = "azure_key_vault"


def test_layout_is_readable_by_other_tools(
    factory: ProviderFactory, azure_emulator: AzureKeyVaultEmulator
) -> None:
    p = factory.make(KIND)
    p.put("prod/db_password", "s3cret")
    p.put("prod/cert", b"\x00\xffDER")
    p.put("prod/config", {"port": 5432})
    assert azure_emulator.names() == ["prod--scert", "prod--sconfig", "prod--sdb--upassword"]
    assert azure_emulator.raw("prod--sdb--upassword") == {
        "value": "s3cret",
        "contentType": "text/plain; charset=utf-8",
        "tags": None,
    }
    cert = azure_emulator.raw("prod--scert")
    assert cert["contentType"] == "application/octet-stream; base64"  # type: ignore[index]
    assert base64.b64decode(cert["value"]) == b"\x00\xffDER"  # type: ignore[index]
    assert azure_emulator.raw("prod--sconfig")["contentType"] == "application/json"  # type: ignore[index]


def test_names_from_other_tools(factory: ProviderFactory) -> None:
    p = factory.make(KIND)
    p._client.set_secret("MySecret", "made in the portal")
    p._client.set_secret("Logging--LogLevel", ".NET style, not a vault name")
    names = {e.name for e in p.list()}
    assert "mysecret" in names and not any("ogging" in n for n in names)
    assert p.get("mysecret").value == "made in the portal"  # type: ignore[union-attr]


def test_soft_delete_recover_on_write_and_purge(
    factory: ProviderFactory, azure_emulator: AzureKeyVaultEmulator
) -> None:
    p = factory.make(KIND)
    p.put("rotating", "v1")
    p.put("rotating", "v2")
    assert p.delete("rotating") is True
    assert azure_emulator.names() == []
    p.put("rotating", "v3")  # Key Vault answers 409 for a soft-deleted name: recover, write
    assert p.get("rotating").value == "v3"  # type: ignore[union-attr]
    assert len(p.versions("rotating")) == 3
    assert p.delete("rotating", purge=True) is True
    deleted = [d.name for d in p._client.list_deleted_secrets()]
    assert "rotating" not in deleted and p.versions("rotating") == []


def test_disabled_version_reads_as_none(factory: ProviderFactory) -> None:
    p = factory.make(KIND)
    v1 = p.put("toggle", "one")
    v2 = p.put("toggle", "two")
    p._client.update_secret_properties("toggle", v2, enabled=False)
    assert p.get("toggle") is None
    assert p.get("toggle", v1).value == "one"  # type: ignore[union-attr]
    states = {v.version: v.state for v in p.versions("toggle")}
    assert states == {v1: "enabled", v2: "disabled"}


def test_bytes_limit_counts_base64(factory: ProviderFactory) -> None:
    p = factory.make(KIND)
    p.put("blob", b"\x01" * 19200)  # 25,600 bytes as base64
    with pytest.raises(ProviderLimitError) as err:
        p.put("blob", b"\x01" * 19201)
    assert "base64" in str(err.value)


def test_paging_follows_next_link(
    factory: ProviderFactory, azure_emulator: AzureKeyVaultEmulator
) -> None:
    p = factory.make(KIND, page_size=3)
    assert p.put_many({f"paged-{i}": "v" for i in range(10)}).ok
    before = len(azure_emulator.requests)
    assert {e.name for e in p.list()} == {f"paged-{i}" for i in range(10)}
    list_calls = [r for r in azure_emulator.requests[before:] if r == ("GET", "/secrets")]
    assert len(list_calls) == 4


def test_wrong_token_is_denied_without_showing_it(
    factory: ProviderFactory, azure_emulator: AzureKeyVaultEmulator
) -> None:
    token = "eyJ0eXAiOiJKV1Q" + "x" * 40
    p = factory.make(KIND, credential=azure_emulator.credential(token))
    with pytest.raises(ProviderAuthError) as err:
        p.put("x", "y")
    assert "AZURE_CLIENT_ID" in str(err.value) and token not in str(err.value)


def test_untrusted_certificate_fails_fast(factory: ProviderFactory) -> None:
    p = factory.make(KIND, connection_verify=True, retry=RetryPolicy(attempts=5, base_delay=0.5))
    started = time.monotonic()
    with pytest.raises(ProviderUnavailableError) as err:
        p.get("x")
    assert "TLS" in str(err.value) and time.monotonic() - started < 3  # not retried


def test_retry_after_is_honoured(
    factory: ProviderFactory, azure_emulator: AzureKeyVaultEmulator
) -> None:
    p = factory.make(KIND, retry=RetryPolicy(attempts=3, base_delay=0.001, max_delay=2))
    p.health()
    azure_emulator.faults.throttle(1, retry_after=0.4)
    started = time.monotonic()
    p.put("patient", "v")
    assert time.monotonic() - started >= 0.4
