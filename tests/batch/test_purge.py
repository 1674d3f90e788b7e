"""``purge``: what ``delete`` promises ("undo until purged") has an end, and only a
deleted secret can reach it."""

from __future__ import annotations

import json

import pytest

from core.errors import EXIT_NOT_FOUND, EXIT_USAGE
from tests.trail import home_events

VALUE = b"Purge-Test-Value-31337"


def _audit_ops(home, name):
    events = home_events(home)  # names are sealed in the file
    return [(e["operation"], e["success"]) for e in events if e.get("secret_name") == name]


def test_purge_erases_a_deleted_secret_for_good_and_is_audited(cli, home):
    assert cli("--batch", "set", "db/old", stdin=VALUE).code == 0
    assert cli("--batch", "delete", "db/old").code == 0
    r = cli("--batch", "purge", "db/old")
    assert (r.code, r.err) == (0, "Purged 1 secret: db/old\n")
    assert cli("--batch", "undelete", "db/old").code == EXIT_NOT_FOUND
    assert cli("--batch", "list", "--deleted").out == ""
    assert cli("--batch", "history", "db/old").code == EXIT_NOT_FOUND
    assert ("purge", True) in _audit_ops(home, "db/old")
    assert VALUE.decode() not in (home / "logs" / "secrets_audit.log").read_text()


def test_a_live_secret_must_be_deleted_first(cli, home):
    assert cli("--batch", "set", "live", stdin=VALUE).code == 0
    r = cli("--batch", "purge", "live")
    assert r.code == EXIT_USAGE
    assert "'live' is not deleted" in r.err and "vaultui --batch delete live" in r.err
    assert cli("--batch", "get", "live", "-n").out == VALUE.decode()
    assert ("purge", False) in _audit_ops(home, "live")
    assert cli("--batch", "purge", "never-stored").code == EXIT_NOT_FOUND


def test_deleted_before_purges_by_age_and_counts_right(cli):
    for name in ("a", "b", "c"):
        assert cli("--batch", "set", name, stdin=VALUE).code == 0
    assert cli("--batch", "delete", "a").code == 0
    assert cli("--batch", "delete", "b").code == 0

    r = cli("--batch", "purge", "--deleted-before", "1h")  # deleted just now: kept
    assert (r.code, r.err) == (0, "Purged 0 secrets\n")
    r = cli("--batch", "--json", "purge", "--deleted-before", "0h")
    assert r.code == 0
    result = json.loads(r.out)
    assert sorted(result["purged"]) == ["a", "b"] and result["count"] == 2
    assert json.loads(cli("--batch", "--json", "list", "--deleted").out)[0]["name"] == "c"


@pytest.mark.parametrize("age", ["30", "3w", "-1d", "1.5d", "d", "9999999d", "40000d", "30 d x"])
def test_a_bad_age_is_a_usage_error(cli, age):
    assert cli("--batch", "set", "x", stdin=VALUE).code == 0
    r = cli("--batch", "purge", "--deleted-before", age)
    assert r.code == EXIT_USAGE and "Traceback" not in r.err


def test_purge_needs_exactly_one_of_name_and_age(cli):
    assert cli("--batch", "purge").code == EXIT_USAGE
    assert cli("--batch", "purge", "x", "--deleted-before", "30d").code == EXIT_USAGE


def test_list_deleted_marks_the_tombstones(cli):
    for name in ("gone", "kept"):
        assert cli("--batch", "set", name, stdin=VALUE).code == 0
    assert cli("--batch", "delete", "gone").code == 0
    assert cli("--batch", "list", "--deleted").out == "gone  (deleted)\nkept\n"
    assert cli("--batch", "list").out == "kept\n"
    rows = json.loads(cli("--batch", "--json", "list", "--deleted").out)
    assert [(r["name"], r["deleted"]) for r in rows] == [("gone", True), ("kept", False)]
