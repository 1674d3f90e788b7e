"""GCP Secret Manager specifics, against the REST emulator with the real client: the
payloads and labels other tools see, ``latest``, disabled and destroyed versions,
secrets made by other tools, credentials, paging."""

from __future__ import annotations

import pytest

from core.config import Settings
from core.errors import ProviderAuthError
from core.providers import get_provider
from tests.providers.conftest import FAST_RETRY, ProviderFactory
from tests.servers.gcp_emulator import GcpSecretManagerEmulator

KIND = "gcp_secret_manager"


def test_layout_is_readable_by_other_tools(
    factory: ProviderFactory, gcp_emulator: GcpSecretManagerEmulator
) -> None:
    p = factory.make(KIND)
    p.put("prod/db_password", "s3cret")
    p.put("prod/key", b"\x00\xff")
    p.put("prod/config", {"port": 5432})
    assert gcp_emulator.names() == ["prod--sconfig", "prod--sdb_password", "prod--skey"]
    assert gcp_emulator.raw("prod--sdb_password") == {
        "data": b"s3cret",
        "labels": {"vaultui-type": "str", "managed-by": "vaultui"},
    }
    assert gcp_emulator.raw("prod--skey")["data"] == b"\x00\xff"  # type: ignore[index]
    assert gcp_emulator.raw("prod--sconfig")["data"] == b'{"port":5432}'  # type: ignore[index]


def test_latest_disabled_and_destroyed_versions(factory: ProviderFactory) -> None:
    p = factory.make(KIND)
    assert [p.put("v", f"value {i}") for i in range(3)] == ["1", "2", "3"]
    assert p.get("v", "latest").value == "value 2"  # type: ignore[union-attr]
    path = "projects/vaultui-test/secrets/v/versions"
    p._client.disable_secret_version(name=f"{path}/3")
    p._client.destroy_secret_version(name=f"{path}/1")
    assert p.get("v") is None  # latest is disabled
    assert p.get("v", "1") is None  # destroyed
    assert p.get("v", "2").value == "value 1"  # type: ignore[union-attr]
    assert {v.version: v.state for v in p.versions("v")} == {
        "1": "destroyed",
        "2": "enabled",
        "3": "disabled",
    }


def test_secrets_made_by_other_tools(factory: ProviderFactory) -> None:
    p = factory.make(KIND)
    parent = "projects/vaultui-test"
    for sid, data in (("plain-text", b"hello"), ("raw-bytes", b"\xff\x00")):
        p._client.create_secret(
            request={
                "parent": parent,
                "secret_id": sid,
                "secret": {"replication": {"automatic": {}}},
            }
        )
        p._client.add_secret_version(
            request={"parent": f"{parent}/secrets/{sid}", "payload": {"data": data}}
        )
    assert p.get("plain-text").value == "hello"  # type: ignore[union-attr]
    assert p.get("raw-bytes").value == b"\xff\x00"  # type: ignore[union-attr]


def test_bulk_push_needs_no_per_secret_lookups(
    factory: ProviderFactory, gcp_emulator: GcpSecretManagerEmulator
) -> None:
    p = factory.make(KIND)
    before = len(gcp_emulator.requests)
    assert p.put_many({f"bulk-{i}": {"i": i} for i in range(25)}).ok
    calls = gcp_emulator.requests[before:]
    gets = [c for c in calls if c[0] == "GET" and "/secrets/" in c[1]]
    assert gets == [] and len(calls) == 1 + 25 * 2  # one listing, create + addVersion each


def test_paging(factory: ProviderFactory, gcp_emulator: GcpSecretManagerEmulator) -> None:
    p = factory.make(KIND, page_size=4)
    assert p.put_many({f"page-{i}": "v" for i in range(10)}).ok
    before = len(gcp_emulator.requests)
    assert {e.name for e in p.list()} == {f"page-{i}" for i in range(10)}
    lists = [
        c
        for c in gcp_emulator.requests[before:]
        if c == ("GET", "/v1/projects/vaultui-test/secrets")
    ]
    assert len(lists) == 3


def test_credentials_are_sent_and_refused_without_leaking(tmp_path: object) -> None:
    from google.oauth2.credentials import Credentials

    emu = GcpSecretManagerEmulator(token="good-token").start()
    try:
        env = {
            "GOOGLE_CLOUD_PROJECT": "vaultui-test",
            "VAULTUI_GCP_ENDPOINT": emu.url,
            "VAULTUI_HOME": "/nonexistent",
        }
        settings = Settings.from_env(env)
        good = get_provider(KIND, settings, credentials=Credentials("good-token"), retry=FAST_RETRY)
        good.put("x", "y")
        assert good.get("x").value == "y"  # type: ignore[union-attr]
        bad = get_provider(
            KIND, settings, credentials=Credentials("bad-token-123"), retry=FAST_RETRY
        )
        with pytest.raises(ProviderAuthError) as err:
            bad.get("x")
        assert "GOOGLE_CLOUD_PROJECT" in str(err.value) and "bad-token-123" not in str(err.value)
    finally:
        emu.stop()


def test_missing_project_and_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from core.providers import provider_class

    cls = provider_class(KIND)
    ok, reason = cls.viable(Settings.from_env({"VAULTUI_HOME": "/nonexistent"}))
    assert not ok and "GOOGLE_CLOUD_PROJECT" in reason
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # do not probe a metadata server
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/adc.json")
    monkeypatch.setenv("CLOUDSDK_CONFIG", "/nonexistent/gcloud")
    ok, reason = cls.viable(Settings.from_env({"VAULTUI_HOME": "/x", "GOOGLE_CLOUD_PROJECT": "p"}))
    assert not ok and "application default credentials" in reason
