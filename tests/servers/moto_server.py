"""moto's server mode (AWS Secrets Manager on 127.0.0.1) for tests and benchmarks.

    with MotoServer() as aws:
        aws.endpoint          # http://127.0.0.1:<port>, for AWS_ENDPOINT_URL_SECRETS_MANAGER
        aws.reset()           # POST /moto-api/reset: forget every secret

``MotoServer()`` runs ``ThreadedMotoServer`` in this process; ``MotoServer(process=True)``
runs ``python -m moto.server`` as a child process (the benchmark uses that, so the
server does not share this process's GIL).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from types import TracebackType
from typing import Any

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


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoServer:
    """moto in server mode; state persists across :meth:`stop`/:meth:`start` in-process."""

    def __init__(self, *, process: bool = False, port: int = 0) -> None:
        self.process = process
        self.port = port
        self._server: Any = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The server's URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        """Start (or restart, on the same port) the server."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        if self.process:
            self.port = self.port or free_port()
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **ENV},
            )
            self._wait()
            return self
        from moto.server import ThreadedMotoServer

        align_moto_with_aws()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.port = int(self._server.get_host_and_port()[1])
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
            self._server.stop()
            self._server = None
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
