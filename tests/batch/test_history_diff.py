"""``history NAME --diff A B``: what changed between two versions, masked unless
``--reveal``, field by field for dict secrets, through an unlock agent too."""

from __future__ import annotations

import json

from core.errors import EXIT_NOT_FOUND, EXIT_USAGE
from core.version_diff import diff_values

OLD = {"host": "db.internal", "user": "app", "password": "Old-Pass-4471", "port": 5432}
NEW = {"host": "db.internal", "user": "app", "password": "New-Pass-9902", "sslmode": "require"}


def _store(cli, name, value, kind="str"):
    data = json.dumps(value).encode() if kind == "dict" else value.encode()
    assert cli("--batch", "set", name, "--type", kind, stdin=data).code == 0


def _events(home, operation):
    lines = (home / "logs" / "secrets_audit.log").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["operation"] == operation]


def test_dict_diff_names_fields_and_masks_values(cli, home):
    _store(cli, "db/config", OLD, "dict")
    _store(cli, "db/config", NEW, "dict")
    r = cli("--batch", "history", "db/config", "--diff", "1", "2")
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "db/config: v1 -> v2",
        "~ password: •••• (13 chars) -> •••• (13 chars)",
        "- port: •••• (4 chars)",
        "+ sslmode: •••• (7 chars)",
        "  (2 fields unchanged)",
    ]
    for secret in ("Old-Pass-4471", "New-Pass-9902", "5432", "require"):
        assert secret not in r.out + r.err
    (event,) = _events(home, "history_diff")
    assert event["secret_name"] == "db/config" and event["revealed"] is False
    assert "Old-Pass" not in (home / "logs" / "secrets_audit.log").read_text()


def test_reveal_shows_values_and_a_line_diff_of_text(cli, home):
    _store(cli, "app/env", "A=1\nB=2\nC=3\n")
    _store(cli, "app/env", "A=1\nB=22\nC=3\nD=4\n")
    r = cli("--batch", "history", "app/env", "--diff", "1", "2", "--reveal")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[1] == "~ value:"
    assert "    -B=2" in lines and "    +B=22" in lines and "    +D=4" in lines
    assert "     A=1" in lines  # context line of the unified diff
    assert _events(home, "history_diff")[0]["revealed"] is True

    # stdin's final newline is dropped: 11 and 16 characters
    masked = cli("--batch", "history", "app/env", "--diff", "1", "2")
    assert masked.out.splitlines()[1] == "~ value: •••• (11 chars) -> •••• (16 chars)"


def test_json_output_and_errors(cli):
    _store(cli, "k", "same")
    _store(cli, "k", "same")
    result = json.loads(cli("--batch", "--json", "history", "k", "--diff", "1", "2").out)
    assert result["same"] is True and result["changes"] == []
    assert cli("--batch", "history", "k", "--diff", "1", "9").code == EXIT_NOT_FOUND
    assert cli("--batch", "history", "nope", "--diff", "1", "2").code == EXIT_NOT_FOUND
    assert cli("--batch", "history", "k", "--reveal").code == EXIT_USAGE
    assert cli("--batch", "history", "k", "--diff", "1").code == EXIT_USAGE
    plain = cli("--batch", "history", "k")  # the version list still works
    assert plain.code == 0 and plain.out.startswith("VER")


def test_type_change_and_bytes_are_masked_with_lengths():
    result = diff_values(b"\x00\x01\x02", {"a": "x"})
    assert result["type_a"] == "bytes" and result["type_b"] == "dict"
    (change,) = result["changes"]
    assert change["a"] == "•••• (3 bytes)" and change["field"] is None


def test_diff_through_a_running_agent(cli, home, agents):
    _store(cli, "db/config", OLD, "dict")
    _store(cli, "db/config", NEW, "dict")
    agents.append(home / "agent.sock")
    assert cli("--batch", "unlock", "--ttl", "2m").code == 0
    r = cli("--batch", "--json", "history", "db/config", "--diff", "1", "2")
    assert r.code == 0, r.err
    fields = {c["field"]: c["change"] for c in json.loads(r.out)["changes"]}
    assert fields == {"password": "changed", "port": "removed", "sslmode": "added"}
    (event,) = _events(home, "history_diff")
    assert event["source"] == "agent"
