"""No secret value and no credential in errors, logs or ``repr`` — across every provider,
through successes, conflicts, limit errors and failures."""

from __future__ import annotations

import logging
import uuid

import pytest

from core.errors import ConflictError, ValidationError, VaultError
from core.providers import Provider
from tests.providers.conftest import LOCAL_PROVIDERS, ProviderFactory


def with_credential(factory: ProviderFactory, kind: str) -> tuple[Provider, str]:
    """A provider whose credential is a unique, searchable string."""
    marker = "CRED" + uuid.uuid4().hex
    if kind == "hashicorp_vault":
        import hvac

        bao = factory.request.getfixturevalue("openbao")
        mount = factory.vault_mount()
        token = hvac.Client(url=bao.addr, token=bao.token).auth.token.create(
            id=marker, policies=["root"]
        )["auth"]["client_token"]
        assert token == marker
        return factory.make(
            kind, settings=factory.settings(kind, VAULT_TOKEN=token, VAULT_MOUNT_POINT=mount)
        ), marker
    if kind == "aws_secrets_manager":
        return factory.make(
            kind, settings=factory.settings(kind, AWS_SECRET_ACCESS_KEY=marker)
        ), marker
    if kind == "azure_key_vault":
        emu = factory.request.getfixturevalue("azure_emulator")
        emu.token = marker
        factory.cleanups.append(lambda: setattr(emu, "token", "emulator-token"))
        return factory.make(kind, credential=emu.credential(marker)), marker
    if kind == "gcp_secret_manager":
        from google.oauth2.credentials import Credentials

        emu = factory.request.getfixturevalue("gcp_emulator")
        emu.token = marker
        factory.cleanups.append(lambda: setattr(emu, "token", None))
        return factory.make(kind, credentials=Credentials(marker)), marker
    return factory.make(kind), marker  # local: the passphrase never leaves the vault


@pytest.mark.parametrize("kind", LOCAL_PROVIDERS)
def test_values_and_credentials_stay_out_of_errors_logs_and_repr(
    factory: ProviderFactory, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="core")
    provider, credential = with_credential(factory, kind)
    value = "VALUE" + uuid.uuid4().hex
    seen: list[str] = [repr(provider)]

    v1 = provider.put("leak/check", value)
    got = provider.get("leak/check")
    assert got is not None and got.value == value
    seen += [repr(got), repr(list(provider.list())), repr(provider.versions("leak/check"))]
    provider.put("leak/check", value + "2")
    with pytest.raises(ConflictError) as conflict:
        provider.put("leak/check", value + "3", expected_version=v1)
    seen.append(str(conflict.value))
    limit = provider.limits.max_value_bytes
    if limit is not None:
        with pytest.raises(ValidationError) as too_big:
            provider.put("leak/big", value * (limit // len(value) + 1))
        seen.append(str(too_big.value))
    bulk = provider.put_many({"leak/a": value, "leak/b": {"nested": value}})
    seen.append(repr(bulk))
    seen.append(repr(provider.get_many(["leak/a", "leak/b"])))
    if kind != "local":
        # make the next calls fail: unreachable server
        broken = factory.make(
            kind,
            reset=False,
            settings=_unreachable(factory, kind),
            **({"credential": provider._credential} if kind == "azure_key_vault" else {}),
        )
        with pytest.raises(VaultError) as failure:
            broken.put("leak/check", value)
        seen.append(str(failure.value))
        seen.append(broken.health().detail)
    text = "\n".join(seen) + caplog.text
    assert value not in text
    assert credential not in text


def _unreachable(factory: ProviderFactory, kind: str):  # type: ignore[no-untyped-def]
    dead = "http://127.0.0.1:9"
    env = {
        "hashicorp_vault": {"VAULT_ADDR": dead},
        "aws_secrets_manager": {"AWS_ENDPOINT_URL_SECRETS_MANAGER": dead},
        "azure_key_vault": {"AZURE_VAULT_URL": "https://127.0.0.1:9"},
        "gcp_secret_manager": {"VAULTUI_GCP_ENDPOINT": dead},
    }[kind]
    return factory.settings(kind, **env)
