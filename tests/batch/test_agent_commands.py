"""Backup, rotation and sync commands served by the unlock agent: after one ``unlock``
they run with no passphrase configured and no terminal, and print what the same
command prints when it opens the vault itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.errors import EXIT_USAGE
from tests.batch.conftest import run_vaultui
from tests.batch.test_agent import PASS, _audit_events, unlock


@pytest.fixture
def pw_home(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> Path:
    """A home whose vault opens only with a passphrase, holding 'db/password'; no key
    is configured afterwards."""
    pw = tmp_path / "pw.txt"
    pw.write_text(PASS + "\n")
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw))
    assert cli("--batch", "set", "db/password", stdin=b"agent-held-value").code == 0
    monkeypatch.delenv("VAULTUI_PASSPHRASE_FILE")
    assert not (home / "vault.key").exists()
    return home


def _with_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Configure the passphrase, so commands open the vault in their own process."""
    pw = tmp_path / "local-pw.txt"
    pw.write_text(PASS)
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw))


def _agent_sourced(home: Path, before: int, operation: str) -> list[dict]:
    return [
        e
        for e in _audit_events(home)[before:]
        if e["operation"] == operation and e["source"] == "agent"
    ]


def test_backup_create_list_verify_through_the_agent(cli, pw_home, monkeypatch, tmp_path, agents):
    _with_key(monkeypatch, tmp_path)
    assert cli("--batch", "backup", "create", "--name", "first").code == 0
    local = {
        argv: cli("--batch", *argv)
        for argv in (
            ("backup", "verify", "first"),
            ("backup", "verify", "first", "--json"),
            ("backup", "list", "--json"),
        )
    }
    monkeypatch.delenv("VAULTUI_PASSPHRASE_FILE")
    assert cli("--batch", "backup", "list").code != 0  # locked: no key, no agent

    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    for argv, expected in local.items():
        got = cli("--batch", *argv)
        assert (got.code, got.out) == (expected.code, expected.out), (argv, got.err)
    # a fresh process with no terminal: the same table, no passphrase asked
    r = run_vaultui(pw_home, "--batch", "backup", "list")
    assert r.code == 0 and "Passphrase" not in r.err
    assert re.search(r"^first\s+full\s", r.out, re.M), r.out

    before = len(_audit_events(pw_home))
    r = cli("--batch", "backup", "create", "--incremental", "--name", "second")
    assert r.code == 0, r.err
    assert r.out == f"{pw_home / 'backups' / 'second.vbak'}\n"
    assert "Created incremental backup second" in r.err
    assert len(_agent_sourced(pw_home, before, "backup_create")) == 1
    r = cli("--batch", "backup", "verify", "second")
    assert r.code == 0 and r.out == "OK: second and its chain (first <- second) are intact\n"
    listed = json.loads(cli("--batch", "backup", "list", "--json").out)
    assert [(b["name"], b["type"]) for b in listed] == [
        ("first", "full"),
        ("second", "incremental"),
    ]
    assert cli("--batch", "backup", "verify", "nope").code == 3  # not found, as in-process


def _schedule(r) -> tuple[int, str]:
    """``rotation status`` output without what moves with the clock."""
    if r.out.startswith("{"):
        data = json.loads(r.out)
        data.pop("now")
        return r.code, json.dumps(data)
    return r.code, re.sub(r"\(-?\d+[dhms] ?\d*[hms]?\)", "(..)", r.out)


def test_rotate_and_rotate_due_through_the_agent(cli, pw_home, monkeypatch, tmp_path, agents):
    _with_key(monkeypatch, tmp_path)
    set_local = cli(
        "--batch", "policy", "db/password", "daily", "--generator", "password:length=24"
    )
    assert set_local.code == 0, set_local.err
    local = cli("--batch", "rotate", "db/password")
    local_due = cli("--batch", "rotate", "--due", "--json")
    shows = [("policy", "db/password"), ("policy", "db/password", "--json")]
    local_shows = {argv: cli("--batch", *argv) for argv in shows}
    statuses = [("rotation", "status"), ("rotation", "status", "--json")]
    local_status = {argv: _schedule(cli("--batch", *argv)) for argv in statuses}
    monkeypatch.delenv("VAULTUI_PASSPHRASE_FILE")
    assert local.code == 0 and "version 1 -> 2" in local.out

    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    for argv, expected in local_shows.items():
        got = cli("--batch", *argv)
        assert (got.code, got.out) == (expected.code, expected.out), (argv, got.err)
    for argv, expected in local_status.items():
        assert _schedule(cli("--batch", *argv)) == expected, argv
    r = cli("--batch", "policy", "db/password", "daily", "--generator", "password:length=24")
    assert (r.code, r.out) == (set_local.code, set_local.out)
    r = run_vaultui(pw_home, "--batch", "policy", "db/password", "weekly")
    assert r.code == 0 and r.out.startswith("Set db/password: policy WEEKLY\n"), r.err
    before = len(_audit_events(pw_home))
    r = run_vaultui(pw_home, "--batch", "rotate", "db/password")
    assert r.code == 0 and "Passphrase" not in r.err, r.err
    assert r.out == local.out.replace("1 -> 2", "2 -> 3")
    [event] = [e for e in _audit_events(pw_home)[before:] if e["source"] == "agent"]
    assert event["secret_name"] == "db/password" and "rotat" in event["operation"]
    assert cli("--batch", "get", "db/password", "-n").out != "agent-held-value"
    due = cli("--batch", "rotate", "--due", "--json")
    assert (due.code, due.out) == (local_due.code, local_due.out)
    assert cli("--batch", "rotate", "--due").out == "Nothing is due.\n"


def test_sync_status_and_conflicts_through_the_agent(cli, pw_home, monkeypatch, tmp_path, agents):
    _with_key(monkeypatch, tmp_path)
    commands = [
        ("sync", "--status"),
        ("sync", "--status", "--json"),
        ("sync", "--conflicts"),
        ("sync", "--conflicts", "--json"),
        ("sync", "--all"),
    ]
    local = {argv: cli("--batch", *argv) for argv in commands}
    monkeypatch.delenv("VAULTUI_PASSPHRASE_FILE")
    assert local[("sync", "--all")].code == EXIT_USAGE  # no saved remote

    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    for argv, expected in local.items():
        got = cli("--batch", *argv)
        assert (got.code, got.out, got.err) == (expected.code, expected.out, expected.err), argv
    r = run_vaultui(pw_home, "--batch", "sync", "--status")
    assert r.code == 0 and r.out == local[("sync", "--status")].out


def test_audit_commands_show_names_through_the_agent(cli, pw_home, monkeypatch, tmp_path, agents):
    _with_key(monkeypatch, tmp_path)
    # filters that leave out what unlocking and the reads themselves add to the trail
    stable = [
        ("audit", "list", "--operation", "write"),
        ("audit", "list", "--secret", "db/*", "--json"),
        ("audit", "stats", "db/password", "--json"),
    ]
    local = {argv: cli("--batch", *argv) for argv in stable}
    monkeypatch.delenv("VAULTUI_PASSPHRASE_FILE")
    assert "db/password" in local[stable[0]].out
    # locked: names are sealed
    locked = cli("--batch", "audit", "list", "--operation", "write")
    assert locked.code == 0 and "db/password" not in locked.out and "<encrypted>" in locked.out

    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    for argv, expected in local.items():
        got = cli("--batch", *argv)
        assert (got.code, got.out) == (expected.code, expected.out), (argv, got.err)
    r = run_vaultui(pw_home, "--batch", "audit", "list", "--operation", "write")
    assert r.code == 0 and r.out == local[stable[0]].out, r.err
    verify = json.loads(cli("--batch", "audit", "verify", "--json").out)
    assert verify["ok"] and verify["keyed"] and verify["unchecked"] == 0
    report = cli("--batch", "audit", "report", "--since", "1d")
    assert report.code == 0 and "db/password" in report.out


def test_the_new_operations_refuse_hostile_arguments_and_report_progress(
    cli, pw_home, monkeypatch, tmp_path, agents
):
    from core.agent.client import AgentClient
    from core.errors import VaultError

    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    where = {"vault": str(pw_home / "vault.db"), "provider": "local"}
    bad = [
        ("backup_verify", {"name": 5}),
        ("backup_create", {"name": None, "to_dir": ["x"]}),
        ("backup_create", {"name": "../escape"}),
        ("rotate", {"name": "../x"}),
        ("rotation_policy", {"name": "db/password", "hooks": "rm -rf /"}),
        ("audit_list", {"limit": -1}),
        ("audit_list", {"secret": 7}),
        ("audit_report", {"report_format": "exe"}),
        ("sync_run", {"provider": 3}),
    ]
    with AgentClient.connect(str(pw_home / "agent.sock")) as conn:
        for op, args in bad:
            with pytest.raises(VaultError) as caught:
                conn.call(op, args, **where)
            # the operation's own refusal, never a crash inside the agent
            assert "failed running" not in str(caught.value), (op, caught.value)
        seen: list[tuple[int, int]] = []
        made = conn.call(
            "backup_create", {"name": "p"}, **where, on_progress=lambda d, t: seen.append((d, t))
        )
    assert made["info"]["name"] == "p"
    assert seen and seen[-1][0] == seen[-1][1], seen  # progress frames reached the client
    assert not (tmp_path / "escape.vbak").exists()
