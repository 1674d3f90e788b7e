"""The rotation commands: rotate NAME / --due / --daemon, policy, rotation status."""

from __future__ import annotations

import argparse
import io
import json
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import NotFoundError, RotationError, ValidationError
from vaultui.batch.commands import rotation as commands_rotation

from .conftest import START

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vaultui --batch")
    parser.add_argument("--json", action="store_true")  # the CLI's global flag
    commands_rotation.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def run(manager, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    args = parse(*argv)
    code = args.rotation_handler(args, manager, out)
    return code, out.getvalue()


def test_policy_sets_and_shows(vault, manager):
    vault.put("deploy_key", "abc", at=START)
    code, text = run(
        manager,
        "policy",
        "deploy_key",
        "DAILY",
        "--generator",
        "token:hex:16",
        "--verify",
        "true",
        "--timeout",
        "5",
    )
    assert code == 0
    assert "policy DAILY" in text and "token:hex:16" in text and "verify     true" in text
    code, text = run(manager, "policy", "deploy_key", "--apply", "true")  # keeps DAILY
    info = manager.info("deploy_key")
    assert (info.policy_str, info.hooks.apply, info.hooks.verify) == ("daily", "true", "true")
    code, text = run(manager, "--json", "policy", "deploy_key")
    shown = json.loads(text)
    assert (
        shown["policy"] == "DAILY" and shown["next_due"] == (START + timedelta(days=1)).isoformat()
    )
    code, text = run(manager, "policy", "deploy_key", "--generator", "", "--json")
    assert json.loads(text)["generator_guessed"] is True


def test_policy_errors(vault, manager):
    vault.put("k", "v")
    with pytest.raises(ValidationError):
        run(manager, "policy", "k", "sometimes")
    with pytest.raises(NotFoundError):
        run(manager, "policy", "missing", "DAILY")


def test_rotate_name_and_due(vault, manager, clock):
    vault.put("a", "v", at=START)
    vault.put("b", "v", at=START)
    manager.set_policy("a", "DAILY")
    manager.set_policy("b", "WEEKLY", hooks={"verify": "false"})
    code, text = run(manager, "rotate", "a")
    assert code == 0 and "version 1 -> 2" in text
    assert vault.get("a", stage="PREVIOUS").value == "v"
    code, text = run(manager, "rotate", "--due")
    assert (code, text) == (0, "Nothing is due.\n")
    clock.advance(days=8)
    code, text = run(manager, "rotate", "--due", "--json")
    results = {r["name"]: r for r in json.loads(text)["results"]}
    assert code == 1  # one failed
    assert results["a"]["rotated"] and results["a"]["version"] == 3
    assert results["b"]["error"].startswith("verify hook exited with status 1")
    with pytest.raises(RotationError):
        run(manager, "rotate", "b")
    with pytest.raises(ValidationError):
        run(manager, "rotate")
    with pytest.raises(ValidationError):
        run(manager, "rotate", "a", "--due")


def test_rotation_status(vault, manager, clock):
    vault.put("a", "v", at=START)
    vault.put("b", "v", at=START)
    vault.put("plain", "v", at=START)
    manager.set_policy("a", "HOURLY")
    manager.set_policy("b", "DAILY", hooks={"apply": "false"})
    manager.rotate("b", raise_errors=False)
    clock.advance(minutes=90)
    code, text = run(manager, "rotation", "status")
    assert code == 0
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "POLICY", "LAST", "ROTATED", "NEXT", "DUE", "STATE"]
    assert lines[1].startswith("a ") and lines[1].endswith("due")
    assert "(-30m 00s)" in lines[1]
    assert lines[2].startswith("b ") and lines[2].endswith("failed")
    assert "plain" not in text
    assert "worker: not running" in text
    assert "last failure of b: apply hook exited with status 1" in text
    code, text = run(manager, "rotation", "status", "--json")
    data = json.loads(text)
    assert data["due"] == ["a"] and data["rotation_active"] is False
    assert [s["state"] for s in data["secrets"]] == ["due", "failed"]


def test_rotate_daemon_runs_until_sigterm(vault_and_key, manager):
    vault, key = vault_and_key
    vault.put("hourly", "initial")  # created now: with an 1s policy it is due at once
    manager.set_policy("hourly", "1s")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.rotation.cli_proc",
            str(vault.path),
            str(key),
            "rotate",
            "--daemon",
            "--interval",
            "0.2",
            "--json",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while vault.record("hourly").version < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert vault.record("hourly").version >= 3  # rotated on several checks
        assert manager.workers()  # visible to other processes while it runs
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["rotated"] >= 2 and summary["failed"] == 0
    assert summary["rotation_active"] is False
    assert "rotation worker" in err
    assert manager.workers() == {}  # the heartbeat is withdrawn on exit


def test_cli_process_exit_code_for_a_failed_rotation(vault_and_key, manager):
    vault, key = vault_and_key
    vault.put("k", "current-value")
    manager.set_policy("k", "DAILY", hooks={"verify": "false"})
    proc = subprocess.run(
        [sys.executable, "-m", "tests.rotation.cli_proc", str(vault.path), str(key), "rotate", "k"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert "Secret rotation failed" in proc.stderr
    assert "check rotation policy and secret permissions" in proc.stderr  # the seed's hint
    assert "current-value" not in proc.stderr + proc.stdout
