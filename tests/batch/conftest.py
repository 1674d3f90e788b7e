"""Fixtures for the ``--batch`` tests: in-process ``main()`` calls with captured output,
subprocess runs with a clean environment, and agents that are always stopped."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import clean_env

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


@dataclass
class Result:
    """What one vaultui run produced."""

    code: int
    outb: bytes
    errb: bytes

    @property
    def out(self) -> str:
        return self.outb.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.errb.decode("utf-8", "replace")


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs never see a terminal (no passphrase prompt), even when pytest
    itself runs in one. Tests of prompting patch ``prompt_secret`` and this back."""
    monkeypatch.setattr("vaultui.batch.context.has_terminal", lambda: False)


class Cli:
    """Run ``vaultui.cli.main`` in this process: ``cli("--batch", "get", "x", stdin=b"")``."""

    def __init__(self, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch):
        self._cap = capsysbinary
        self._mp = monkeypatch

    def __call__(self, *argv: str, stdin: bytes = b"") -> Result:
        from vaultui.cli import main

        self._cap.readouterr()
        self._mp.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        code = main(list(argv))
        out, err = self._cap.readouterr()
        return Result(code, out, err)


@pytest.fixture
def cli(
    home: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    """In-process vaultui on the test's ``home``."""
    return Cli(capsysbinary, monkeypatch)


def run_vaultui(
    home: Path,
    *argv: str,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Result:
    """``python -m vaultui ARGV`` in a fresh process with no terminal."""
    proc = subprocess.run(
        [sys.executable, "-m", "vaultui", *argv],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=env if env is not None else clean_env(home),
        timeout=timeout,
        start_new_session=True,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def stop_agent_at(socket_path: Path) -> None:
    """Lock whatever agent listens at ``socket_path`` (test cleanup)."""
    from core.agent.client import AgentClient

    try:
        client = AgentClient.connect(str(socket_path), timeout=5)
    except Exception:
        return
    if client is None:
        return
    with client:
        try:
            client.lock()
        except Exception:
            return
    deadline = time.monotonic() + 5
    while socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def agents() -> Iterator[list[Path]]:
    """Sockets of agents a test starts; every one is locked afterwards."""
    sockets: list[Path] = []
    yield sockets
    for path in sockets:
        stop_agent_at(path)


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"
