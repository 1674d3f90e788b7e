"""``FEDZK_LOG_LEVEL=DEBUG`` never logs a secret value: the SDKs' wire logs (botocore's
request bodies, azure-core's network trace, urllib3, google/grpc) stay at WARNING unless
``VAULTUI_SDK_WIRE_LOG=1`` asks for them, and that switch warns."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from core.config import SDK_LOGGERS, configure_logging
from tests.batch.conftest import ROOT
from tests.providers.conftest import CLOUD_PROVIDERS, ProviderFactory
from tests.servers.moto_server import ENV as AWS_ENV


@pytest.fixture
def keep_log_levels() -> Iterator[None]:
    """configure_logging changes process-wide loggers: put them back afterwards."""
    names = (*SDK_LOGGERS, "core", "vaultui", "")
    saved = {n: logging.getLogger(n).level for n in names}
    yield
    for n, level in saved.items():
        logging.getLogger(n).setLevel(level)


def _store_and_read(factory: ProviderFactory, kind: str, value: str, **env: str) -> None:
    settings = factory.settings(kind, FEDZK_LOG_LEVEL="DEBUG", **env)
    configure_logging(settings)
    logging.getLogger().setLevel(logging.DEBUG)  # an application logging everything
    provider = factory.make(kind, settings=settings)
    provider.put("wire/check", value)
    assert provider.get("wire/check").value == value
    provider.put("wire/dict", {"user": "app", "password": value + "-field"})
    assert provider.get("wire/dict").value["password"] == value + "-field"


@pytest.mark.parametrize("kind", CLOUD_PROVIDERS)
def test_debug_logging_shows_no_value(
    factory: ProviderFactory, kind: str, caplog: pytest.LogCaptureFixture, keep_log_levels
) -> None:
    value = "WIRE" + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG)
    _store_and_read(factory, kind, value)
    assert value not in caplog.text
    assert all(value not in str(r.args) for r in caplog.records)


def test_the_wire_log_switch_logs_values_and_warns(
    factory: ProviderFactory, caplog: pytest.LogCaptureFixture, keep_log_levels
) -> None:
    # the same capture does see a value once the SDK's wire log is asked for: the test
    # above would catch one
    value = "WIRE" + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG)
    _store_and_read(factory, "aws_secrets_manager", value, VAULTUI_SDK_WIRE_LOG="1")
    assert value in caplog.text
    assert "VAULTUI_SDK_WIRE_LOG=1" in caplog.text and "secret values" in caplog.text


def test_batch_debug_run_prints_no_value_on_stderr(moto_server, tmp_path) -> None:
    value = "WIRE" + uuid.uuid4().hex
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "VAULTUI_HOME": str(tmp_path / "home"),
        "VAULTUI_ARGON2": "t=1,m=1024,p=1",
        "FEDZK_SECRETS_PROVIDER": "aws_secrets_manager",
        "FEDZK_LOG_LEVEL": "DEBUG",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_server.endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        **AWS_ENV,
    }

    def vaultui(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "vaultui", "--batch", *argv],
            input=stdin,
            capture_output=True,
            env={**env, "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
            timeout=120,
        )

    stored = vaultui("set", "wire/batch", stdin=value.encode())
    assert stored.returncode == 0, stored.stderr.decode()
    got = vaultui("get", "wire/batch", "--json")
    assert got.returncode == 0 and value in got.stdout.decode()
    for proc in (stored, got):
        assert value.encode() not in proc.stderr
    json.loads(got.stdout)
