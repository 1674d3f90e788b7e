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
from core.backup import BackupManager
from core.vault import Argon2Params, KeySource, Vault, write_new_key_file
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


def moto_env(endpoint: str) -> dict[str, str]:
    """The environment that points boto3 (in this or a child process) at moto."""
    return {
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


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


FUZZ_VALUES = {
    "db/password": "s3cret-password-value",
    "api/token": b"\x00\x01binary-token\xff",
    "config": {"host": "db.internal", "port": 5432},
}
"""What the fuzzing seed vault holds (plus ``db/password`` version 1 and ``late``)."""


def build_fuzz_seed(root: Path) -> None:
    """In ``root``: ``vault.db`` (key ``k.key``) with :data:`FUZZ_VALUES`, two versions of
    ``db/password`` and ``late``; ``backups/full.vbak`` and ``backups/incr.vbak``;
    ``logs/audit.log`` with 30 lines. The starting point of every file fuzzer."""
    ks = KeySource.from_key_file(write_new_key_file(root / "k.key"))
    with Vault.create(root / "vault.db", ks, kdf=Argon2Params.fast()) as v:
        v.put("db/password", "old-password")
        for name, value in FUZZ_VALUES.items():
            v.put(name, value, description=f"about {name}", tags={"env": "prod"})
        manager = BackupManager(v, root / "backups")
        manager.create_backup("full")
        v.put("late", "added later")
        manager.create_backup("incr", incremental=True)
        with AuditLog(root / "logs" / "audit.log", v.derive_key("audit")) as audit:
            for i in range(30):
                audit.log("read" if i % 2 else "write", f"s/{i}", success=True, version=i)


def check_seed_vault(v: Vault) -> None:
    """Assert that ``v`` holds exactly the seed's data (see :func:`build_fuzz_seed`)."""
    for name, value in FUZZ_VALUES.items():
        got = v.get(name)
        assert got is not None and got.value == value, name
    assert v.get("db/password", version=1).value == "old-password"
    assert sorted(v.names()) == sorted([*FUZZ_VALUES, "late"])
    v.verify()
