"""``grep`` (which secrets hold a value) and ``scan`` (which files hold a stored value):
names, files and lines only, never the value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import EXIT_NOT_FOUND, EXIT_USAGE
from vaultui.batch.scanner import ValueMatcher, trie_pattern

AWS = "AKIAIOSFODNN7EXAMPLE"
PW = "hunter2-Correct-Horse"


@pytest.fixture
def stocked(cli, home: Path) -> Path:
    cli("--batch", "set", "aws/key", stdin=AWS.encode())
    cli(
        "--batch",
        "set",
        "db",
        "--type",
        "dict",
        stdin=json.dumps({"user": "app", "password": PW}).encode(),
    )
    cli("--batch", "set", "short", stdin=b"abc")
    return home


def test_grep_prints_names_only(cli, stocked):
    r = cli("--batch", "grep", "AKIA[0-9A-Z]{16}")
    assert (r.code, r.out) == (0, "aws/key\n")
    assert AWS not in r.err
    r = cli("--batch", "--json", "grep", "-i", "correct-HORSE")
    assert json.loads(r.out) == {"matches": [{"name": "db", "fields": ["password"]}]}
    assert PW not in r.out
    assert cli("--batch", "grep", "-F", "a.c").code == EXIT_NOT_FOUND  # literal, no match
    assert cli("--batch", "grep", "a.c").out == "short\n"  # regex
    assert cli("--batch", "grep", "nothing-like-this").code == EXIT_NOT_FOUND
    assert cli("--batch", "grep", "(").code == EXIT_USAGE


def test_grep_pattern_is_not_written_to_the_audit_log(cli, stocked):
    cli("--batch", "grep", "-F", AWS)
    log = (stocked / "logs" / "secrets_audit.log").read_text()
    assert '"operation": "grep"' in log and AWS not in log


def test_scan_reports_file_line_and_secret(cli, stocked, tmp_path):
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "settings.py").write_text(f"DEBUG = True\n\nKEY = '{AWS}'\n")
    (repo / "deploy.env").write_text(f"USER=app\nDB_PASSWORD={PW}\nOTHER={AWS}\n")
    (repo / "clean.txt").write_text("nothing to see, abc abc\n")
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text(AWS)  # VCS folders are skipped
    r = cli("--batch", "scan", str(repo))
    assert r.code == 1
    assert r.out.splitlines() == [
        f"{repo}/deploy.env:2: db (field password)",
        f"{repo}/deploy.env:3: aws/key",
        f"{repo}/src/settings.py:3: aws/key",
    ]
    assert AWS not in r.out + r.err and PW not in r.out + r.err
    assert "3 stored value(s) found in 2 file(s)" in r.err
    doc = json.loads(cli("--batch", "--json", "scan", str(repo), "--exclude", "*.env").out)
    assert [(h["path"], h["line"], h["secret"]) for h in doc["hits"]] == [
        (f"{repo}/src/settings.py", 3, "aws/key")
    ]
    assert cli("--batch", "scan", str(repo), "--exit-code", "9").code == 9
    assert cli("--batch", "scan", str(repo / "clean.txt")).code == 0  # 'abc' is too short
    assert cli("--batch", "scan", str(repo / "clean.txt"), "--min-length", "3").code == 1
    assert cli("--batch", "scan", str(tmp_path / "missing")).code == EXIT_USAGE


def test_scan_log_has_no_values(cli, stocked, tmp_path):
    f = tmp_path / "x.txt"
    f.write_text(AWS)
    cli("--batch", "scan", str(f))
    log = (stocked / "logs" / "secrets_audit.log").read_text()
    assert '"operation": "scan"' in log and AWS not in log and PW not in log


def test_matcher_with_many_values_and_shared_prefixes():
    values = [(f"s{i}", None, f"prefix-{i:05d}-tail".encode()) for i in range(5000)]
    values.append(("long", "f", b"prefix-00042-tail-and-more"))
    m = ValueMatcher(values)
    data = b"x\ny prefix-00042-tail-and-more z\nprefix-04999-tail\nprefix-5000-tail\n"
    hits = [(h.line, h.secret, h.field) for h in m.search(data, "f")]
    assert hits == [(2, "long", "f"), (3, "s4999", None)]


def test_trie_pattern_handles_long_values():
    long_value = b"k" * 5000
    import re

    rx = re.compile(trie_pattern([long_value, b"kkk-x"]))
    assert rx.search(b"..." + long_value + b"...").group(0) == long_value
