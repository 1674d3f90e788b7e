"""Disk full (RLIMIT_FSIZE in a child, SIGXFSZ ignored so writes fail with EFBIG): a
clear core error, never a raw sqlite3/OSError traceback; the vault intact; nothing
acknowledged lost."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

from core.secrets_manager import SecretsManager
from core.vault import KeySource
from tests.reliability.harness import ROOT, Tally, child_env, open_checked


def _limit_file_size(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_api_writes_on_a_full_disk_fail_cleanly_and_lose_nothing(home: Path) -> None:
    mgr = SecretsManager(source="api")
    for i in range(20):
        mgr.store_secret(f"before/{i}", f"kept-{i}")
    mgr.close()
    ks = KeySource.from_key_file(home / "vault.key")
    limit = (home / "vault.db").stat().st_size + 600_000
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability._child", "disk_full", str(limit)],
        cwd=ROOT,
        env=child_env(home),
        capture_output=True,
        timeout=120,
    )
    lines = proc.stdout.decode().split("\n")
    outcome = [x for x in lines if x.startswith(("error ", "raw ", "never-full"))]
    assert outcome, proc.stderr.decode()[-2000:]
    # a core error, never a raw OSError/sqlite3 exception
    assert outcome[0].startswith("error "), outcome[0]
    assert outcome[0].split()[1] in ("StorageError", "AuditError"), outcome[0]
    assert "Traceback" not in proc.stderr.decode()
    acked = [x.split()[1] for x in lines if x.startswith("ok ")]
    assert acked, "the limit left no room for even one write"
    tally = Tally("disk-full")
    with open_checked(home / "vault.db", home / "logs" / "secrets_audit.log", ks, tally) as v:
        for name in acked:
            assert v.get(name) is not None, name
        for i in range(20):
            assert v.get(f"before/{i}").value == f"kept-{i}"
    print(f"[reliability] disk-full/api: acked={len(acked)} then {outcome[0]}")
    # and once there is room again, writing works
    mgr = SecretsManager(source="api")
    mgr.store_secret("after/full", "room again")
    mgr.close()


def test_batch_set_on_a_full_disk_prints_an_error_not_a_traceback(home: Path) -> None:
    mgr = SecretsManager(source="api")
    mgr.store_secret("before/x", "kept")
    mgr.close()
    ks = KeySource.from_key_file(home / "vault.key")
    limit = (home / "vault.db").stat().st_size + 4096
    proc = subprocess.run(
        [sys.executable, "-m", "vaultui", "--batch", "set", "big/one"],
        input=b"z" * 300_000,
        cwd=ROOT,
        env=child_env(home),
        capture_output=True,
        timeout=60,
        preexec_fn=_limit_file_size(limit),
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1, (proc.returncode, err[-2000:])
    assert "Traceback" not in err and err.startswith("vaultui: "), err[-2000:]
    tally = Tally("disk-full")
    with open_checked(home / "vault.db", home / "logs" / "secrets_audit.log", ks, tally) as v:
        assert v.get("before/x").value == "kept"
        assert v.get("big/one") is None
    print(f"[reliability] disk-full/batch: exit {proc.returncode}: {err.strip()[:120]}")


def test_a_full_disk_under_the_audit_log_is_a_core_error_and_the_chain_survives(
    home: Path,
) -> None:
    mgr = SecretsManager(source="api")
    mgr.store_secret("before/x", "kept")
    for i in range(3000):  # an audit log much larger than the vault file
        mgr.audit_log.log("read", f"filler/{i}", success=True)
    mgr.close()
    ks = KeySource.from_key_file(home / "vault.key")
    audit_path = home / "logs" / "secrets_audit.log"
    assert audit_path.stat().st_size > 4 * (home / "vault.db").stat().st_size
    # room for a few more audit lines, the last one cut in the middle
    limit = audit_path.stat().st_size + 700
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability._child", "disk_full", str(limit), "small"],
        cwd=ROOT,
        env=child_env(home),
        capture_output=True,
        timeout=120,
    )
    lines = proc.stdout.decode().split("\n")
    outcome = [x for x in lines if x.startswith(("error ", "raw ", "never-full"))]
    assert outcome and outcome[0].startswith("error AuditError"), (
        outcome,
        proc.stderr.decode()[-2000:],
    )
    assert "Traceback" not in proc.stderr.decode()
    acked = [x.split()[1] for x in lines if x.startswith("ok ")]
    tally = Tally("disk-full")
    with open_checked(home / "vault.db", audit_path, ks, tally) as v:
        for name in acked:
            assert v.get(name) is not None, name
        assert v.get("before/x").value == "kept"
        # the write whose audit line failed is committed anyway (reported, not hidden)
        unacked = [n for n in v.names() if n.startswith("big/") and n not in acked]
    print(
        f"[reliability] disk-full/audit: acked={len(acked)} then {outcome[0]}, "
        f"committed though the call failed={len(unacked)}, "
        f"audit warnings={tally.audit_warnings}"
    )
