"""``mv`` and ``cp``: rename with the whole history, copy the current value."""

from __future__ import annotations

import json
import os

from core.errors import EXIT_CONFLICT, EXIT_NOT_FOUND
from tests.batch.test_agent import pw_home, unlock  # noqa: F401  (a fixture)


def _events(home, since: int = 0) -> list[dict]:
    lines = (home / "logs" / "secrets_audit.log").read_text().splitlines()
    return [json.loads(line) for line in lines[since:]]


def _seed(cli) -> None:
    for value in (b"one", b"two", b"three"):
        assert cli("--batch", "set", "old/name", stdin=value).code == 0
    assert cli("--batch", "describe", "old/name", "--text", "the api key").code == 0
    assert cli("--batch", "tag", "old/name", "env=prod").code == 0
    from core.config import Settings
    from core.secrets_manager import SecretsManager

    mgr = SecretsManager(Settings.from_env(), source="test")
    try:
        assert mgr.update_secret_metadata("old/name", rotation_policy="daily")
    finally:
        mgr.close()


def _verify(home) -> None:
    from core.config import Settings
    from core.secrets_manager import SecretsManager

    mgr = SecretsManager(Settings.from_env(), source="test")
    try:
        mgr.vault.verify()  # every row authentic, the record-set digest matches
    finally:
        mgr.close()


def test_mv_keeps_history_metadata_and_rotation(cli, home):
    _seed(cli)
    before = json.loads(cli("--batch", "--json", "history", "old/name").out)
    meta = json.loads(cli("--batch", "--json", "list", "--filter", "old/").out)[0]
    n = len(_events(home))
    r = cli("--batch", "mv", "old/name", "new/name")
    assert r.code == 0, r.err
    assert "Renamed old/name to new/name" in r.err
    assert cli("--batch", "get", "old/name").code == EXIT_NOT_FOUND
    assert cli("--batch", "get", "new/name", "-n").out == "three"
    assert cli("--batch", "get", "new/name", "--version", "1", "-n").out == "one"
    assert json.loads(cli("--batch", "--json", "history", "new/name").out) == before
    moved = json.loads(cli("--batch", "--json", "list").out)
    assert [m["name"] for m in moved] == ["new/name"]
    assert meta["rotation_policy"] == "daily" and meta["tags"] == {"env": "prod"}
    for key in ("description", "tags", "rotation_policy", "version", "uid", "created_at"):
        assert moved[0][key] == meta[key], key
    assert cli("--batch", "list", "--deleted").out.split() == ["new/name"]
    renames = [e for e in _events(home, n) if e["operation"] == "rename"]
    assert len(renames) == 1
    assert renames[0]["secret_name"] == "old/name" and renames[0]["target"] == "new/name"
    _verify(home)
    # and back again
    assert cli("--batch", "mv", "new/name", "old/name").code == 0
    assert cli("--batch", "get", "old/name", "-n").out == "three"
    _verify(home)


def test_mv_refuses_a_live_target_without_force(cli, home):
    _seed(cli)
    assert cli("--batch", "set", "taken", stdin=b"keep").code == 0
    r = cli("--batch", "mv", "old/name", "taken")
    assert r.code == EXIT_CONFLICT and "--force" in r.err
    assert cli("--batch", "get", "taken", "-n").out == "keep"
    assert cli("--batch", "get", "old/name", "-n").out == "three"
    r = cli("--batch", "mv", "-f", "old/name", "taken")
    assert r.code == 0 and "replaced was erased" in r.err
    assert cli("--batch", "get", "taken", "-n").out == "three"
    assert len(json.loads(cli("--batch", "--json", "history", "taken").out)) == 3
    # a deleted target is no obstacle
    assert cli("--batch", "set", "gone", stdin=b"x").code == 0
    assert cli("--batch", "delete", "gone").code == 0
    assert cli("--batch", "mv", "taken", "gone").code == 0
    assert cli("--batch", "get", "gone", "-n").out == "three"
    assert cli("--batch", "mv", "nope", "other").code == EXIT_NOT_FOUND
    assert cli("--batch", "mv", "gone", "bad name!").code == 2
    _verify(home)


def test_cp_copies_value_and_metadata_not_history(cli, home):
    _seed(cli)
    n = len(_events(home))
    r = cli("--batch", "cp", "old/name", "copy/name")
    assert r.code == 0, r.err
    assert cli("--batch", "get", "copy/name", "-n").out == "three"
    assert cli("--batch", "get", "old/name", "-n").out == "three"
    hist = json.loads(cli("--batch", "--json", "history", "copy/name").out)
    assert len(hist) == 1 and "copy of old/name" in hist[0]["why"]
    recs = {m["name"]: m for m in json.loads(cli("--batch", "--json", "list").out)}
    for key in ("description", "tags", "rotation_policy"):
        assert recs["copy/name"][key] == recs["old/name"][key], key
    assert recs["copy/name"]["uid"] != recs["old/name"]["uid"]
    copies = [e for e in _events(home, n) if e["operation"] in ("copy", "write")]
    assert [(e["operation"], e["target"]) for e in copies] == [("copy", "copy/name")]
    # a live target needs --force; then it gets a new version, keeping its own history
    assert cli("--batch", "cp", "old/name", "copy/name").code == EXIT_CONFLICT
    assert cli("--batch", "set", "old/name", stdin=b"four").code == 0
    assert cli("--batch", "cp", "--force", "old/name", "copy/name").code == 0
    assert cli("--batch", "get", "copy/name", "-n").out == "four"
    assert len(json.loads(cli("--batch", "--json", "history", "copy/name").out)) == 2
    _verify(home)


def test_mv_and_cp_through_the_agent(
    cli,
    pw_home,  # noqa: F811  (the imported fixture)
    monkeypatch,
    tmp_path,
    agents,
):
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    n = len(_events(pw_home))
    assert cli("--batch", "mv", "db/password", "db/main").code == 0
    assert cli("--batch", "cp", "db/main", "db/replica").code == 0
    assert cli("--batch", "get", "db/replica", "-n").out == "agent-held-value"
    assert cli("--batch", "mv", "db/main", "db/replica").code == EXIT_CONFLICT
    events = [e for e in _events(pw_home, n) if e["operation"] in ("rename", "copy")]
    assert [(e["operation"], e["success"], e["source"]) for e in events] == [
        ("rename", True, "agent"),
        ("copy", True, "agent"),
        ("rename", False, "agent"),
    ]
    assert {e["client_pid"] for e in events} == {os.getpid()}
