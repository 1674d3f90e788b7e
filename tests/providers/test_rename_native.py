"""``mv``/``cp`` (operations ``rename``/``copy``) with a native provider: the provider
secret follows the rename, and a copy is a provider secret of its own."""

from __future__ import annotations

import hvac
import pytest

from core.agent.ops import dispatch
from core.errors import ConflictError
from core.secrets_manager import SecretsManager


def test_rename_and_copy_reach_hashicorp_vault(factory, openbao) -> None:
    settings = factory.settings("hashicorp_vault")
    mgr = SecretsManager(settings)
    client = hvac.Client(url=openbao.addr, token=openbao.token)
    mount = settings.vault_mount_point

    def provider_value(name: str):
        try:
            return client.secrets.kv.v2.read_secret_version(
                path=name, mount_point=mount, raise_on_deleted_version=True
            )["data"]["data"]
        except hvac.exceptions.InvalidPath:
            return None

    try:
        mgr.store_secret("svc_old", "v1")
        mgr.store_secret("svc_old", "v2")
        dispatch(mgr, "rename", {"name": "svc_old", "new_name": "svc_new"})
        assert provider_value("svc_new") is not None
        assert provider_value("svc_old") is None
        assert mgr.retrieve_secret("svc_new") == "v2"
        assert mgr.retrieve_secret("svc_old") is None
        assert [v.version for v in mgr.history("svc_new")] == [1, 2]

        dispatch(mgr, "copy", {"name": "svc_new", "new_name": "svc_copy"})
        assert provider_value("svc_copy") is not None
        assert mgr.retrieve_secret("svc_copy") == "v2"
        with pytest.raises(ConflictError):
            dispatch(mgr, "copy", {"name": "svc_new", "new_name": "svc_copy"})
    finally:
        mgr.close()
