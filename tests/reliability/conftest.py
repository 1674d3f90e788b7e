"""Reliability suite settings: how many trials/examples to run (bounded in CI).

``VAULTUI_RELIABILITY_TRIALS=200`` (or ``pytest --reliability-trials 200``) runs the
long form: that many SIGKILL trials per operation and ten times as many fuzz examples
as the CI form.
"""

from __future__ import annotations

import os

import pytest

CI_TRIALS = 5


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--reliability-trials N``: SIGKILL trials per operation (default 5, or the env var)."""
    parser.addoption("--reliability-trials", type=int, default=None)


@pytest.fixture(scope="session")
def trials(pytestconfig: pytest.Config) -> int:
    """SIGKILL trials per operation."""
    opt = pytestconfig.getoption("--reliability-trials", default=None)
    if opt:
        return int(opt)
    return int(os.environ.get("VAULTUI_RELIABILITY_TRIALS", CI_TRIALS))


def fuzz_examples(ci: int) -> int:
    """Hypothesis examples for one fuzz target: ``ci`` in CI, 10x in the long form."""
    long_form = int(os.environ.get("VAULTUI_RELIABILITY_TRIALS", CI_TRIALS)) > CI_TRIALS
    return ci * 10 if long_form else ci


@pytest.fixture(scope="session")
def openbao():  # type: ignore[no-untyped-def]
    """OpenBao's dev server (a real Vault-API server, KV v2) for the session."""
    from tests.servers.openbao import OpenBaoServer

    with OpenBaoServer() as server:
        yield server


@pytest.fixture(scope="session")
def moto():  # type: ignore[no-untyped-def]
    """An AWS Secrets Manager test server (moto) for the session; yields its endpoint."""
    from tests.servers.moto_server import MotoServer

    server = MotoServer().start()
    try:
        yield server.endpoint
    finally:
        server.stop()
