"""HashiCorp Vault specifics, against OpenBao's dev server: the KV layout other tools
see, AppRole (and its renewal), namespaces, and the seed's troubleshooting text."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import pytest

from core.errors import ConfigError, ProviderAuthError, ProviderUnavailableError
from core.providers import get_provider, provider_class
from tests.providers.conftest import FAST_RETRY, ProviderFactory
from tests.servers.openbao import OpenBaoServer

KIND = "hashicorp_vault"


def root_client(bao: OpenBaoServer, namespace: str | None = None) -> Any:
    import hvac

    return hvac.Client(url=bao.addr, token=bao.token, namespace=namespace)


def raw_data(bao: OpenBaoServer, mount: str, path: str) -> dict[str, Any]:
    resp = root_client(bao).secrets.kv.v2.read_secret_version(
        path=path, mount_point=mount, raise_on_deleted_version=False
    )
    return resp["data"]["data"]


def test_layout_is_readable_by_other_tools(
    factory: ProviderFactory, openbao: OpenBaoServer
) -> None:
    p = factory.make(KIND)
    mount = factory.vault_mount()
    p.put("app/db", {"user": "app", "port": 5432})
    p.put("app/password", "s3cret")
    p.put("app/key", b"\x00\x01binary")
    assert raw_data(openbao, mount, "app/db") == {"user": "app", "port": 5432}
    assert raw_data(openbao, mount, "app/password") == {"value": "s3cret", "vaultui_type": "str"}
    key = raw_data(openbao, mount, "app/key")
    assert key["vaultui_type"] == "bytes"
    assert base64.b64decode(key["value"]) == b"\x00\x01binary"


def test_secret_written_by_another_tool_reads_as_a_dict(
    factory: ProviderFactory, openbao: OpenBaoServer
) -> None:
    p = factory.make(KIND)
    root_client(openbao).secrets.kv.v2.create_or_update_secret(
        path="other/tool", secret={"value": "x"}, mount_point=factory.vault_mount()
    )
    got = p.get("other/tool")
    assert got is not None and got.value == {"value": "x"} and got.type == "dict"


def test_soft_delete_is_recoverable_with_vault_undelete(
    factory: ProviderFactory, openbao: OpenBaoServer
) -> None:
    p = factory.make(KIND)
    version = p.put("keep/me", "v1")
    p.delete("keep/me")
    assert p.get("keep/me") is None
    root_client(openbao).secrets.kv.v2.undelete_secret_versions(
        path="keep/me", versions=[int(version)], mount_point=factory.vault_mount()
    )
    assert p.get("keep/me").value == "v1"  # type: ignore[union-attr]


def _approle(bao: OpenBaoServer, mount: str, ttl: str = "1h") -> tuple[str, str]:
    root = root_client(bao)
    if "approle/" not in root.sys.list_auth_methods()["data"]:
        root.sys.enable_auth_method("approle")
    policy = f"p{uuid.uuid4().hex[:8]}"
    root.sys.create_or_update_policy(
        policy, f'path "{mount}/*" {{ capabilities = ["create","read","update","delete","list"] }}'
    )
    role = f"r{uuid.uuid4().hex[:8]}"
    root.auth.approle.create_or_update_approle(
        role, token_policies=[policy], token_ttl=ttl, token_max_ttl=ttl
    )
    role_id = root.auth.approle.read_role_id(role)["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id(role)["data"]["secret_id"]
    return role_id, secret_id


def test_approle_login_and_renewal(factory: ProviderFactory, openbao: OpenBaoServer) -> None:
    mount = factory.vault_mount()
    role_id, secret_id = _approle(openbao, mount, ttl="2s")
    settings = factory.settings(
        KIND, VAULT_TOKEN="", VAULT_ROLE_ID=role_id, VAULT_SECRET_ID=secret_id
    )
    p = factory.make(KIND, settings=settings)
    assert "approle" in repr(p) and secret_id not in repr(p) and role_id not in repr(p)
    p.put("via/approle", "ok")
    assert p.get("via/approle").value == "ok"  # type: ignore[union-attr]
    time.sleep(2.2)  # the AppRole token expires; the provider logs in again by itself
    assert p.get("via/approle").value == "ok"  # type: ignore[union-attr]


def test_namespace_isolates_secrets(factory: ProviderFactory, openbao: OpenBaoServer) -> None:
    ns = f"team{uuid.uuid4().hex[:6]}"
    root = root_client(openbao)
    root.sys.create_namespace(ns)
    root_client(openbao, ns).sys.enable_secrets_engine(
        "kv", path="secret", options={"version": "2"}
    )
    settings = factory.settings(KIND, VAULT_NAMESPACE=ns, VAULT_MOUNT_POINT="secret")
    p = factory.make(KIND, settings=settings)
    p.put("only/in/namespace", "v")
    assert p.get("only/in/namespace").value == "v"  # type: ignore[union-attr]
    outside = factory.make(KIND, settings=factory.settings(KIND, VAULT_MOUNT_POINT="secret"))
    assert outside.get("only/in/namespace") is None


def test_wrong_token_is_denied_with_hint_and_without_the_token(factory: ProviderFactory) -> None:
    token = "s." + uuid.uuid4().hex
    p = factory.make(KIND, settings=factory.settings(KIND, VAULT_TOKEN=token))
    with pytest.raises(ProviderAuthError) as err:
        p.put("x", "y")
    assert "check VAULT_TOKEN" in str(err.value) and token not in str(err.value)
    assert token not in repr(p)


def test_unreachable_server_gives_the_seed_troubleshooting_text(factory: ProviderFactory) -> None:
    settings = factory.settings(KIND, VAULT_ADDR="http://127.0.0.1:9")
    p = get_provider(KIND, settings, retry=FAST_RETRY, timeout=1)
    with pytest.raises(ProviderUnavailableError) as err:
        p.get("anything")
    text = str(err.value)
    assert text.startswith("HashiCorp Vault connection failed")
    assert text.endswith(": check VAULT_ADDR and VAULT_TOKEN")
    health = p.health()
    assert not health.ok and "check VAULT_ADDR and VAULT_TOKEN" in health.detail


def test_missing_configuration_is_a_config_error(factory: ProviderFactory) -> None:
    settings = factory.settings(KIND, VAULT_ADDR="", VAULT_TOKEN="")
    ok, reason = provider_class(KIND).viable(settings)
    assert not ok and "VAULT_ADDR" in reason
    with pytest.raises(ConfigError):
        get_provider(KIND, settings)
