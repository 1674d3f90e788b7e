"""Which HTTP statuses a provider retries, counted at a real local HTTP server.

Only what can succeed on another attempt is retried (429, 500, 502, 503, 504,
connection errors); 501 Not Implemented or 505 fail the same way every time, so they
cost exactly one request. Each provider's real SDK talks to a tiny ``http.server``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.config import Settings
from core.errors import ProviderError
from core.providers import RateLimits, RetryPolicy
from core.providers.registry import get_provider
from tests.servers.moto_server import ENV as AWS_ENV

ATTEMPTS = 4


class CountingServer:
    """Answers every request with ``status`` and a body each SDK reads as an error."""

    def __init__(self) -> None:
        self.status = 501
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.requests += 1
                body = json.dumps(
                    {
                        "__type": "NotImplemented",
                        "message": "not here",
                        "errors": ["not here"],
                        "error": {"code": outer.status, "message": "not here", "status": "X"},
                    }
                ).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[CountingServer]:
    s = CountingServer()
    yield s
    s.close()


def _settings(kind: str, url: str, tmp_path) -> Settings:
    env = {"VAULTUI_HOME": str(tmp_path / "home"), "FEDZK_SECRETS_PROVIDER": kind}
    if kind == "aws_secrets_manager":
        env.update(AWS_ENV, AWS_ENDPOINT_URL_SECRETS_MANAGER=url)
    elif kind == "gcp_secret_manager":
        env.update(GOOGLE_CLOUD_PROJECT="p1", VAULTUI_GCP_ENDPOINT=url)
    else:
        env.update(VAULT_ADDR=url, VAULT_TOKEN="t0ken")
    return Settings.from_env(env)


KINDS = ["aws_secrets_manager", "gcp_secret_manager", "hashicorp_vault"]


def _get(kind: str, server: CountingServer, tmp_path) -> None:
    provider = get_provider(
        kind,
        _settings(kind, server.url, tmp_path),
        retry=RetryPolicy(attempts=ATTEMPTS, base_delay=0.01, max_delay=0.02, deadline=20),
        rate_limits=RateLimits.unlimited(),
        timeout=5,
    )
    try:
        provider.get("some-secret")
    finally:
        provider.close()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [501, 505])
def test_a_status_that_cannot_change_is_asked_once(server, tmp_path, kind, status):
    server.status = status
    with pytest.raises(ProviderError) as err:
        _get(kind, server, tmp_path)
    assert server.requests == 1
    assert "gave up after" not in str(err.value)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [500, 503])
def test_a_transient_status_is_still_retried(server, tmp_path, kind, status):
    server.status = status
    with pytest.raises(ProviderError):
        _get(kind, server, tmp_path)
    assert server.requests == ATTEMPTS
