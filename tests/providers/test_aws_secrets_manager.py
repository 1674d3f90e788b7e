"""AWS Secrets Manager specifics, against moto's server mode: the layout other tools
see, staging labels, recovery of scheduled deletions, and the bulk paths (one
CreateSecret per new secret after a single listing; BatchGetSecretValue for reads)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from core.errors import ProviderAuthError, ProviderUnavailableError
from core.providers import get_provider, provider_class
from core.providers.aws_secrets_manager import DICT_PREFIX, PENDING_STAGE
from tests.providers.conftest import FAST_RETRY, ProviderFactory

KIND = "aws_secrets_manager"


def count_calls(provider: Any) -> Counter[str]:
    """Count the API operations the provider's boto3 client sends (botocore events)."""
    calls: Counter[str] = Counter()

    def before(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    provider._client.meta.events.register("before-call.secretsmanager.*", before)
    return calls


def test_layout_is_readable_by_other_tools(factory: ProviderFactory) -> None:
    p = factory.make(KIND)
    raw = p._client  # a plain boto3 client, as another tool would use
    p.put("app/password", "s3cret")
    p.put("app/key", b"\x00\xffbinary")
    p.put("app/db", {"user": "app", "port": 5432})
    assert raw.get_secret_value(SecretId="app/password")["SecretString"] == "s3cret"
    assert raw.get_secret_value(SecretId="app/key")["SecretBinary"] == b"\x00\xffbinary"
    db = raw.get_secret_value(SecretId="app/db")
    assert db["SecretString"] == '{"user":"app","port":5432}'
    assert db["VersionId"].startswith(DICT_PREFIX)
    tags = raw.describe_secret(SecretId="app/db")["Tags"]
    assert {"Key": "managed-by", "Value": "vaultui"} in tags


def test_json_written_by_another_tool_stays_a_string(factory: ProviderFactory) -> None:
    p = factory.make(KIND)
    p._client.create_secret(Name="other/json", SecretString='{"a": 1}')
    got = p.get("other/json")
    assert got is not None and got.value == '{"a": 1}' and got.type == "str"


def test_staging_labels(factory: ProviderFactory) -> None:
    p = factory.make(KIND)
    first = p.put("staged", "old")
    second = p.put("staged", "new")
    assert p.get("staged", "AWSPREVIOUS").value == "old"  # type: ignore[union-attr]
    assert p.get("staged", "AWSCURRENT").version == second  # type: ignore[union-attr]
    stages = {v.version: v.stages for v in p.versions("staged")}
    assert "AWSPREVIOUS" in stages[first] and "AWSCURRENT" in stages[second]


def test_lost_check_and_set_leaves_no_trace_on_the_current_version(
    factory: ProviderFactory,
) -> None:
    p = factory.make(KIND)
    v1 = p.put("cas", "one")
    v2 = p.put("cas", "two")
    with pytest.raises(Exception, match="changed since you read it"):
        p.put("cas", "late", expected_version=v1)
    current = [v for v in p.versions("cas") if v.current]
    assert [v.version for v in current] == [v2]
    assert all(PENDING_STAGE not in v.stages for v in p.versions("cas"))


def test_scheduled_deletion_is_restored_by_a_write(factory: ProviderFactory) -> None:
    p = factory.make(KIND)
    p.put("restorable", "v1")
    p.delete("restorable")
    assert "DeletedDate" in p._client.describe_secret(SecretId="restorable")
    p.put("restorable", "v2")
    assert "DeletedDate" not in p._client.describe_secret(SecretId="restorable")
    assert p.get("restorable").value == "v2"  # type: ignore[union-attr]
    assert len(p.versions("restorable")) == 2  # the history came back too


def test_bulk_push_lists_once_then_creates(factory: ProviderFactory) -> None:
    p = factory.make(KIND)
    p.put("bulk/existing", "old")
    calls = count_calls(p)
    items = {f"bulk/{i}": f"v{i}" for i in range(25)} | {"bulk/existing": "new"}
    assert p.put_many(items).ok
    assert calls["ListSecrets"] >= 1
    assert calls["CreateSecret"] == 25 and calls["PutSecretValue"] == 1


def test_bulk_read_uses_batch_get(factory: ProviderFactory) -> None:
    p = factory.make(KIND)
    items = {f"batch/{i}": f"v{i}" for i in range(45)}
    assert p.put_many(items).ok
    calls = count_calls(p)
    read = p.get_many([*items, "batch/missing"])
    assert read.ok and read.done["batch/missing"] is None
    assert all(read.done[n].value == v for n, v in items.items())  # type: ignore[union-attr]
    assert calls["BatchGetSecretValue"] == 3 and calls["GetSecretValue"] == 0


def test_unreachable_endpoint(factory: ProviderFactory) -> None:
    settings = factory.settings(KIND, AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:9")
    p = get_provider(KIND, settings, retry=FAST_RETRY, timeout=1)
    with pytest.raises(ProviderUnavailableError) as err:
        p.put("x", "y")
    assert str(err.value).startswith("AWS Secrets Manager connection failed")
    assert "AWS_REGION" in str(err.value)


def test_no_credentials_anywhere(factory: ProviderFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)
    settings = factory.settings(KIND, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    ok, reason = provider_class(KIND).viable(settings)
    assert not ok and reason.startswith("no AWS credentials")
    p = factory.make(KIND, settings=settings, reset=False)
    with pytest.raises(ProviderAuthError) as err:
        p.get("anything")
    assert "AWS_ACCESS_KEY_ID" in str(err.value)
