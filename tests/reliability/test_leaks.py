"""Leak check: store a canary value, run operations of every interface (API, ``--batch``,
rotation with a hook, backup, merge, sealed sync to moto, export, audit report), then
search every file written under the test's folders, captured stdout/stderr, the hook's
argv and what the provider server stores: zero occurrences.

Excluded on purpose (their job is to hand out the value): the output of ``get``, the
export file, the hook's stdin/environment."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.secrets_manager import SecretsManager
from tests.reliability.harness import ROOT, child_env, moto_env

pytestmark = pytest.mark.slow

CANARY = "CANARY-7f3a9c-do-not-leak-Zq81"


def _forms(value: str) -> list[bytes]:
    raw = value.encode()
    return [raw, base64.b64encode(raw), raw.hex().encode(), value.encode("utf-16-le")]


def _find(blob: bytes, values: list[str]) -> list[str]:
    return [v for v in values for form in _forms(v) if form in blob]


def test_no_operation_leaks_a_stored_value(
    home: Path, tmp_path: Path, moto: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws = moto_env(moto)
    for key, value in aws.items():
        monkeypatch.setenv(key, value)
    cmdlines = tmp_path / "hook-cmdlines"
    export_file = tmp_path / "export" / "out.json"
    export_file.parent.mkdir()
    outputs: list[tuple[str, bytes]] = []

    # ---- the API
    mgr = SecretsManager(source="api")
    mgr.store_secret("db/password", CANARY, description="leak test", tags={"env": "test"})
    mgr.store_secret("db/config", {"user": "app", "password": CANARY + "-dict"})
    assert mgr.retrieve_secret("db/password") == CANARY
    mgr.list_secrets()
    mgr.history("db/password")
    mgr.get_status()
    mgr.update_secret_metadata("db/password", description="still a leak test")
    hook = f'sh -c \'tr "\\000" " " < /proc/$$/cmdline >> {cmdlines}; echo >> {cmdlines}\''
    mgr.store_secret("rot/key", CANARY + "-rot")
    mgr.set_rotation_policy(
        "rot/key", "DAILY", generator="password:length=32", hooks={"apply": hook}
    )
    assert mgr.rotate_secret("rot/key")
    mgr.create_backup("leak-full")
    mgr.store_secret("db/late", CANARY + "-late")
    mgr.create_backup(incremental=True)
    mgr.verify_backup("leak-full")
    mgr.restore_backup("leak-full", dry_run=True)
    other = tmp_path / "copy" / "vault.db"
    other.parent.mkdir()
    shutil.copy(home / "vault.db", other)
    mgr.merge(str(other))
    mgr.sync("aws_secrets_manager", sealed=True)
    mgr.get_audit_stats("db/password")
    rotated = mgr.retrieve_secret("rot/key")
    mgr.close()
    values = [CANARY, CANARY + "-dict", CANARY + "-rot", CANARY + "-late", str(rotated)]

    # ---- --batch, each in its own process (stdout and stderr kept)
    env = child_env(home, **aws)
    batch = [
        ["list", "-l"],
        ["--json", "list"],
        ["history", "db/password"],
        ["status"],
        ["grep", "-F", CANARY],  # the pattern is a value: not logged
        ["tag", "db/password", "team=x"],
        ["rotate", "rot/key"],
        ["backup", "create"],
        ["backup", "list"],
        ["backup", "verify", "leak-full"],
        ["backup", "restore", "leak-full", "--dry-run"],
        ["merge", str(other)],
        ["sync", "--provider", "aws_secrets_manager", "--sealed"],
        ["export", "--format", "json", "-o", str(export_file)],
        ["audit", "verify"],
        ["audit", "list"],
        ["audit", "stats", "db/password"],
        ["audit", "report", "--format", "md"],
        ["audit", "report", "--format", "json"],
        ["get", "nope/missing"],
        ["run", "--env", "X=db/password", "--", "sh", "-c", 'echo "value is $X"'],
    ]
    for argv in batch:
        proc = subprocess.run(
            [sys.executable, "-m", "vaultui", "--batch", *argv],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode in (0, 3), (argv, proc.returncode, proc.stderr.decode()[-800:])
        outputs.append((f"stdout of {argv[:2]}", proc.stdout))
        outputs.append((f"stderr of {argv[:2]}", proc.stderr))
    # the search finds the value where it is meant to be (so a leak would be found too)
    assert _find(export_file.read_bytes(), [CANARY]) == [CANARY]
    assert cmdlines.read_text().count("\n") >= 2  # the hook ran (API and --batch rotations)
    rotated = subprocess.run(
        [sys.executable, "-m", "vaultui", "--batch", "get", "rot/key", "-n"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    ).stdout.decode()
    values.append(rotated)

    # ---- every file written, every output, what the provider stores
    files = [
        p for p in tmp_path.rglob("*") if p.is_file() and p != export_file and not p.is_symlink()
    ]
    for path in files:
        outputs.append((str(path.relative_to(tmp_path)), path.read_bytes()))
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=moto, region_name="us-east-1")
    stored = 0
    for page in client.get_paginator("list_secrets").paginate():
        for entry in page["SecretList"]:
            got = client.get_secret_value(SecretId=entry["ARN"])
            blob = (got.get("SecretString") or "").encode() + got.get("SecretBinary", b"")
            outputs.append((f"moto:{entry['Name']}", blob + repr(entry).encode()))
            stored += 1
    assert stored > 0, "the sealed sync stored nothing"

    print("[reliability] files searched:", sorted(str(p.relative_to(tmp_path)) for p in files))
    leaks = [(where, _find(blob, values)) for where, blob in outputs if _find(blob, values)]
    print(
        f"[reliability] leaks: {len(values)} values, {len(files)} files, "
        f"{len(batch)} --batch runs, {stored} provider objects searched: {len(leaks)} leaks"
    )
    assert leaks == [], leaks
