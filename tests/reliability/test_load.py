"""Load: two ``--batch set`` writer processes, one in-process writer thread and a
merge + sealed-sync loop on one vault for a bounded time (10 s in CI, 60 s in the long
form): no lost update, no deadlock, the audit chain intact; throughput printed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.audit import AuditLog
from core.secrets_manager import SecretsManager
from core.vault import KeySource, Vault
from tests.reliability.conftest import CI_TRIALS
from tests.reliability.harness import ROOT, child_env

pytestmark = pytest.mark.slow

DURATION = (
    10.0 if int(os.environ.get("VAULTUI_RELIABILITY_TRIALS", CI_TRIALS)) <= CI_TRIALS else 60.0
)


def test_writers_merge_and_sync_at_once_lose_nothing(
    home: Path, tmp_path: Path, moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    SecretsManager(source="api").close()
    ks = KeySource.from_key_file(home / "vault.key")
    other_path = tmp_path / "other" / "vault.db"
    other_path.parent.mkdir()
    shutil.copy(home / "vault.db", other_path)

    stop = time.monotonic() + DURATION
    acked: dict[str, list[tuple[str, str]]] = {}
    errors: list[str] = []
    counts = {"merge": 0, "sync": 0}

    def batch_writer(ident: str) -> None:
        env = child_env(home)
        mine = acked.setdefault(ident, [])
        i = 0
        while time.monotonic() < stop:
            name = "shared" if i % 2 == 0 else f"{ident}/own"
            value = f"{ident}-{i}"
            proc = subprocess.run(
                [sys.executable, "-m", "vaultui", "--batch", "set", name],
                input=value.encode(),
                cwd=ROOT,
                env=env,
                capture_output=True,
                timeout=60,
            )
            if proc.returncode != 0:
                errors.append(f"{ident}: exit {proc.returncode}: {proc.stderr.decode()[-500:]}")
                return
            mine.append((name, value))
            i += 1

    def api_writer() -> None:
        mine = acked.setdefault("api", [])
        mgr = SecretsManager(source="api")
        try:
            i = 0
            while time.monotonic() < stop:
                name = "shared" if i % 2 == 0 else "api/own"
                mgr.store_secret(name, f"api-{i}")
                mine.append((name, f"api-{i}"))
                i += 1
        except Exception as exc:
            errors.append(f"api: {exc!r}")
        finally:
            mgr.close()

    def merge_and_sync() -> None:
        mine = acked.setdefault("merge", [])
        mgr = SecretsManager(source="api")
        other = Vault.open(other_path, ks)
        try:
            i = 0
            while time.monotonic() < stop:
                other.put(f"other/{i}", f"other-{i}")
                mgr.merge(str(other_path))
                mine.append((f"other/{i}", f"other-{i}"))
                counts["merge"] += 1
                if i % 3 == 0:
                    mgr.sync("aws_secrets_manager", sealed=True)
                    counts["sync"] += 1
                i += 1
        except Exception as exc:
            errors.append(f"merge/sync: {exc!r}")
        finally:
            other.close()
            mgr.close()

    threads = [
        threading.Thread(target=batch_writer, args=("b1",)),
        threading.Thread(target=batch_writer, args=("b2",)),
        threading.Thread(target=api_writer),
        threading.Thread(target=merge_and_sync),
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DURATION + 120)
        assert not t.is_alive(), "deadlock: a writer never finished"
    elapsed = time.monotonic() - started
    assert not errors, errors

    with Vault.open(home / "vault.db", ks) as v:
        v.verify()
        seen: dict[str, set[str]] = {}
        for ident, writes in acked.items():
            assert writes, f"{ident} acknowledged nothing"
            for name, value in writes:
                if name not in seen:
                    seen[name] = {v.get(name, version=h.version).value for h in v.history(name)}
                assert value in seen[name], f"lost update: {ident} {name} {value}"
        with AuditLog(home / "logs" / "secrets_audit.log", v.derive_key("audit")) as audit:
            report = audit.verify()
        assert report.ok, [str(i) for i in report.issues[:5]]
    total = sum(len(w) for w in acked.values())
    print(
        f"[reliability] load: {elapsed:.1f}s, {total} acknowledged writes "
        f"({total / elapsed:.1f}/s): "
        + ", ".join(f"{k}={len(w)}" for k, w in sorted(acked.items()))
        + f", merges={counts['merge']}, sealed syncs={counts['sync']}, "
        f"audit lines={report.lines}"
    )
