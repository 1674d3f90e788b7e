"""Shared helpers of the reliability suite: kill a child at a random moment, then check
that the vault home it was writing is whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.audit import AuditLog
from core.vault import KeySource, Vault
from tests.conftest import clean_env

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Tally:
    """Figures for one operation, printed at the end of its test."""

    op: str
    trials: int = 0
    killed: int = 0
    acked: int = 0
    survived: int = 0
    audit_warnings: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One summary line (shown with ``pytest -s`` and in docs/reliability.md)."""
        return (
            f"[reliability] kill/{self.op}: trials={self.trials} killed={self.killed} "
            f"acked_ops={self.acked} survived={self.survived} "
            f"torn_audit_warnings={self.audit_warnings}"
        )


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a child writing ``home`` (PYTHONPATH at the project)."""
    return clean_env(home, PYTHONPATH=str(ROOT), **extra)


def kill_at_random(
    args: list[str], env: dict[str, str], rng: random.Random, max_delay: float
) -> tuple[list[str], bool, str]:
    """Run ``python -m tests.reliability._child ARGS``; once it printed ``ready``, wait a
    random 0..max_delay seconds and SIGKILL it.

    Returns (["ready", acknowledged lines...], killed, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability._child", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().decode().strip()
    if first != "ready":
        _, err = proc.communicate(timeout=30)
        raise AssertionError(f"child did not start: {first!r} {err.decode()[-2000:]}")
    time.sleep(rng.random() * max_delay)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    lines = ["ready", *(x for x in out.decode().splitlines() if x)]
    return lines, killed and proc.returncode == -signal.SIGKILL, err.decode()


def open_checked(vault_path: Path, audit_path: Path, ks: KeySource, tally: Tally) -> Vault:
    """Open the vault, verify the file and the audit chain; return the open vault.

    A line torn by the kill may be reported as a warning, never as an error."""
    vault = Vault.open(vault_path, ks)
    vault.verify()
    with AuditLog(audit_path, vault.derive_key("audit")) as audit:
        report = audit.verify()
    assert report.ok, [str(i) for i in report.issues[:5]]
    tally.audit_warnings += len(report.warnings)
    return vault
