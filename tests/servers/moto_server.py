"""moto's server mode (AWS Secrets Manager on 127.0.0.1) for tests and benchmarks.

    with MotoServer() as aws:
        aws.endpoint          # http://127.0.0.1:<port>, for AWS_ENDPOINT_URL_SECRETS_MANAGER
        aws.reset()           # POST /moto-api/reset: forget every secret

``MotoServer()`` serves moto's own WSGI application (``DomainDispatcherApplication``,
what ``moto.server`` and ``ThreadedMotoServer`` serve) in this process;
``MotoServer(process=True)`` serves it from a child process (``python -m
tests.servers.moto_server``; the benchmark uses that, so the server does not share this
process's GIL).

moto's own servers run werkzeug's development server, which answers every request with
``Connection: close``: each call then costs a TCP connection on both sides and a new
server thread. Here the application is served by :mod:`tests.servers.http_base`
instead (HTTP/1.1 keep-alive, one thread per connection, TCP_NODELAY), and two of
moto's per-request lookups that never change while it runs are cached (the list of
its service packages, read from disk twice per request, and the method names of each
response class). The requests and answers are moto's, unchanged.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from tests.servers.fault_proxy import aws_fault
from tests.servers.http_base import Faults, HttpServer, Request, Response

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
}
"""Dummy credentials moto accepts (never real ones)."""


def align_moto_with_aws() -> None:
    """Make the in-process moto server behave as AWS does where moto 5.2 differs.

    1. ``UpdateSecretVersionStage`` moving AWSCURRENT: moto moves the label but leaves its
       internal "default version" on the old one, so the next ``PutSecretValue`` gives
       AWSCURRENT to two versions and reads return the wrong one (PROVIDER_TESTING.md
       notes the first half). AWS keeps exactly one AWSCURRENT.
    2. ``PutSecretValue`` on a secret scheduled for deletion: AWS refuses it with
       ``InvalidRequestException``; moto accepts it.
    3. ``ListSecretVersionIds`` on a missing secret: AWS answers
       ``ResourceNotFoundException``; moto fails with a 500 (a KeyError).

    Only moto's server-side backend is patched; boto3 and vaultui's code are untouched.
    """
    from moto.secretsmanager.exceptions import InvalidRequestException, SecretNotFoundException
    from moto.secretsmanager.models import SecretsManagerBackend

    original = SecretsManagerBackend.update_secret_version_stage
    if getattr(original, "_vaultui_fixed", False):
        return

    def update_secret_version_stage(
        self, secret_id, version_stage, remove_from_version_id, move_to_version_id
    ):  # type: ignore[no-untyped-def]
        result = original(
            self, secret_id, version_stage, remove_from_version_id, move_to_version_id
        )
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].default_version_id = move_to_version_id
        return result

    update_secret_version_stage._vaultui_fixed = True  # type: ignore[attr-defined]
    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage  # type: ignore[method-assign]

    # AWS refuses PutSecretValue on a secret scheduled for deletion; moto 5.2 accepts it.
    original_put = SecretsManagerBackend.put_secret_value

    def put_secret_value(self, secret_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        secret = self.secrets.get(secret_id)
        if secret is not None and secret.is_deleted():
            raise InvalidRequestException(
                "You can't perform this operation on the secret because it was marked for deletion."
            )
        return original_put(self, secret_id, *args, **kwargs)

    SecretsManagerBackend.put_secret_value = put_secret_value  # type: ignore[method-assign]

    original_versions = SecretsManagerBackend.list_secret_version_ids

    def list_secret_version_ids(self, secret_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        if secret_id not in self.secrets:
            raise SecretNotFoundException()
        return original_versions(self, secret_id, *args, **kwargs)

    SecretsManagerBackend.list_secret_version_ids = list_secret_version_ids  # type: ignore[method-assign]


_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


def speed_up_moto() -> None:
    """Cache two of moto's per-request lookups whose answers never change while it runs.

    ``moto.backends.list_of_moto_modules`` lists moto's package directory (a ``listdir``
    and ~180 ``stat`` calls, twice per request) and
    ``moto.core.responses.method_names_from_class`` runs ``inspect.getmembers`` on the
    response class once per request. Both are pure while the process runs.
    """
    from moto import backends
    from moto.core import responses

    if getattr(backends.list_of_moto_modules, "_vaultui_cached", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> Iterable[str]:
        return modules

    list_of_moto_modules._vaultui_cached = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules  # type: ignore[assignment]

    original = responses.method_names_from_class
    names: dict[type, list[str]] = {}

    def method_names_from_class(clazz: Any) -> list[str]:
        found = names.get(clazz)
        if found is None:
            found = names[clazz] = original(clazz)
        return list(found)

    responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]


class WsgiApp:
    """Serves a WSGI application (moto's) as an :mod:`tests.servers.http_base` app.

    ``faults`` answers with AWS's JSON-protocol bodies (throttling, 5xx, access denied).
    """

    def __init__(self, wsgi: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi = wsgi
        self.faults = Faults()

    def handle(self, req: Request) -> Response:
        """Run one request through the WSGI application."""
        split = urlsplit(req.target or req.path)
        host = req.headers.get("host", "127.0.0.1")
        hostname, _, port = host.partition(":")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": req.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(split.path).decode("latin-1"),
            "QUERY_STRING": split.query,
            "RAW_URI": req.target or req.path,
            "REQUEST_URI": req.target or req.path,
            "SERVER_NAME": hostname,
            "SERVER_PORT": port or "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(req.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(req.body)),
        }
        for key, value in req.headers.items():
            if key == "content-type":
                environ["CONTENT_TYPE"] = value
            elif key != "content-length":
                environ["HTTP_" + key.upper().replace("-", "_")] = value
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [status, headers]
            return lambda data: None  # moto never uses the write() callable

        result = self.wsgi(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started
        out = {k: v for k, v in headers if k.lower() not in _HOP}
        return Response(int(status.split(" ", 1)[0]), body, out)

    def fault_response(self, kind: str, status: int, retry_after: float | None) -> Response:
        """AWS's JSON-protocol error bodies."""
        return aws_fault(kind, status, retry_after)


def moto_app() -> WsgiApp:
    """moto's WSGI application, aligned with AWS and with its lookups cached."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    align_moto_with_aws()
    speed_up_moto()
    return WsgiApp(DomainDispatcherApplication(create_backend_app))


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoServer:
    """moto in server mode; state persists across :meth:`stop`/:meth:`start` in-process.

    ``latency_ms`` delays every answer (a network round trip to a region).
    """

    def __init__(self, *, process: bool = False, port: int = 0, latency_ms: float = 0.0) -> None:
        self.process = process
        self.port = port
        self.latency_ms = latency_ms
        self._server: HttpServer | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The server's URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The child process's id (``process=True``), else None."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> MotoServer:
        """Start (or restart, on the same port) the server."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        if self.process:
            self.port = self.port or free_port()
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.servers.moto_server",
                    "--port",
                    str(self.port),
                    "--latency-ms",
                    str(self.latency_ms),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **ENV},
                cwd=_REPO,
            )
            self._wait()
            return self
        if self._server is None:
            self._server = HttpServer(moto_app(), port=self.port)
            self._server.app.faults.set_latency(self.latency_ms / 1000)
        self._server.start()
        self.port = self._server.port
        self._wait()
        return self

    def _wait(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):  # noqa: S310 - our own http URL
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("moto server did not start")

    def reset(self) -> None:
        """Forget every secret (moto's reset API)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310 - http URL
        with urllib.request.urlopen(req, timeout=10):  # noqa: S310 - http URL
            pass

    def stop(self) -> None:
        """Stop the server (in-process: the data stays for a restart)."""
        if self._server is not None:
            self._server.stop()  # moto's state stays in this process for a restart
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
                self._proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=10)
            self._proc = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    """Serve moto until killed (``MotoServer(process=True)`` runs this)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every response")
    args = parser.parse_args()
    os.environ.update({k: v for k, v in ENV.items() if k not in os.environ})
    server = HttpServer(moto_app(), port=args.port).start()
    server.app.faults.set_latency(args.latency_ms / 1000)
    print(server.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
