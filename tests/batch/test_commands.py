"""Every secret command, in process: values from stdin/files/generators, output shapes,
exit codes, and no value where it must not be."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import (
    EXIT_CONFLICT,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
)

SECRET = "Zq8-unique-s3cret-VALUE"


def test_set_from_stdin_then_get(cli):
    r = cli(
        "--batch", "set", "db/password", "--description", "DB pw", stdin=SECRET.encode() + b"\n"
    )
    assert r.code == EXIT_OK
    assert "Created db/password (version 1)" in r.err
    assert SECRET not in r.err and SECRET not in r.out
    r = cli("--batch", "get", "db/password")
    assert (r.code, r.out) == (0, SECRET + "\n")
    r = cli("--batch", "get", "db/password", "-n")
    assert r.outb == SECRET.encode()


def test_stdin_keeps_inner_newlines_and_drops_one_trailing(cli):
    cli("--batch", "set", "multi", stdin=b"line1\nline2\r\n")
    assert cli("--batch", "get", "multi", "-n").outb == b"line1\nline2"
    cli("--batch", "set", "two", stdin=b"x\n\n")
    assert cli("--batch", "get", "two", "-n").outb == b"x\n"


def test_empty_or_non_utf8_stdin_is_refused(cli):
    r = cli("--batch", "set", "e", stdin=b"")
    assert r.code == EXIT_USAGE and "No value" in r.err
    r = cli("--batch", "set", "bin", stdin=b"\xff\xfe\x00")
    assert r.code == EXIT_USAGE and "--type bytes" in r.err


def test_bytes_and_dict_values_keep_their_type(cli):
    raw = bytes(range(256))
    assert cli("--batch", "set", "blob", "--type", "bytes", stdin=raw).code == 0
    assert cli("--batch", "get", "blob").outb == raw
    r = cli("--batch", "--json", "get", "blob")
    doc = json.loads(r.out)
    assert doc["type"] == "bytes" and doc["encoding"] == "base64"

    conf = {"host": "db.local", "port": 5432, "auth": {"password": SECRET}}
    assert (
        cli(
            "--batch", "set", "database_config", "--type", "dict", stdin=json.dumps(conf).encode()
        ).code
        == 0
    )
    assert json.loads(cli("--batch", "get", "database_config").out) == conf
    assert cli("--batch", "get", "database_config", "--field", "host").out == "db.local\n"
    assert cli("--batch", "get", "database_config", "--field", "port").out == "5432\n"
    assert cli("--batch", "get", "database_config", "--field", "auth.password").out == SECRET + "\n"
    r = cli("--batch", "get", "database_config", "--field", "nope")
    assert r.code == EXIT_NOT_FOUND and SECRET not in r.err
    r = cli("--batch", "get", "blob", "--field", "x")
    assert r.code == EXIT_USAGE and "dict secret" in r.err
    r = cli("--batch", "set", "notdict", "--type", "dict", stdin=b"[1, 2]")
    assert r.code == EXIT_USAGE


def test_set_from_file_keeps_it_exactly(cli, tmp_path: Path):
    pem = tmp_path / "key.pem"
    pem.write_text("-----BEGIN KEY-----\nabc\n-----END KEY-----\n")
    assert cli("--batch", "set", "tls/key", "--file", str(pem)).code == 0
    assert cli("--batch", "get", "tls/key", "-n").out == pem.read_text()
    r = cli("--batch", "set", "tls/key", "--file", str(tmp_path / "missing"))
    assert r.code == EXIT_USAGE and "does not exist" in r.err


def test_set_generate(cli):
    r = cli("--batch", "--json", "set", "api/token", "--generate", "password:length=40")
    assert r.code == 0 and json.loads(r.out)["created"] is True
    value = cli("--batch", "get", "api/token", "-n").out
    assert len(value) == 40 and value not in r.out + r.err
    assert cli("--batch", "set", "api/token", "--generate", "bogus:1").code == EXIT_USAGE
    r = cli("--batch", "set", "x", "--generate", "uuid", "--file", "/etc/hostname")
    assert r.code == EXIT_USAGE  # one value source only


def test_value_on_the_command_line_is_refused_and_not_echoed(cli):
    r = cli("--batch", "set", "db/password", SECRET)
    assert r.code == EXIT_USAGE
    assert SECRET not in r.err and SECRET not in r.out
    assert "never taken from the command line" in r.err
    r = cli("--batch", "get", "db/password", SECRET, "--bogus")
    assert r.code == EXIT_USAGE and SECRET not in r.err and "--bogus" in r.err


def test_prompted_value_on_a_terminal(cli, monkeypatch):
    import sys

    answers = iter([SECRET, SECRET])
    monkeypatch.setattr("vaultui.batch.context.has_terminal", lambda: True)
    monkeypatch.setattr("vaultui.batch.context.prompt_secret", lambda _p: next(answers))

    class Tty:
        buffer = None

        def isatty(self):
            return True

    # the fast path and the full CLI both leave a terminal stdin to the prompt
    from vaultui.cli import main

    monkeypatch.setattr(sys, "stdin", Tty())
    assert main(["--batch", "set", "typed"]) == 0
    assert cli("--batch", "get", "typed", "-n").out == SECRET


def test_list_shows_metadata_never_values(cli):
    cli(
        "--batch",
        "set",
        "app/one",
        "--description",
        "first",
        "--tag",
        "env=prod",
        stdin=SECRET.encode(),
    )
    cli("--batch", "set", "app/two", "--tag", "env=dev", "--tag", "team=x", stdin=b"other-value-2")
    cli("--batch", "set", "zeta", stdin=b"third-value-3")
    assert cli("--batch", "list").out.split() == ["app/one", "app/two", "zeta"]
    r = cli("--batch", "--json", "list")
    docs = json.loads(r.out)
    assert [d["name"] for d in docs] == ["app/one", "app/two", "zeta"]
    for text in (SECRET, "other-value-2", "third-value-3"):
        assert text not in r.out
    assert docs[0]["description"] == "first" and docs[0]["tags"] == {"env": "prod"}
    assert cli("--batch", "list", "--filter", "APP").out.split() == ["app/one", "app/two"]
    assert cli("--batch", "list", "--filter", "first").out.split() == ["app/one"]
    assert cli("--batch", "list", "--tag", "env=dev").out.split() == ["app/two"]
    assert cli("--batch", "list", "--tag", "team").out.split() == ["app/two"]
    long = cli("--batch", "list", "-l").out
    assert "NAME" in long and "env=prod" in long and SECRET not in long
    assert cli("list", "--json").out == r.out  # `--batch` may be left out; --json after


def test_delete_undelete(cli):
    cli("--batch", "set", "gone", stdin=SECRET.encode())
    r = cli("--batch", "delete", "gone")
    assert r.code == 0 and "Deleted gone" in r.err
    assert cli("--batch", "get", "gone").code == EXIT_NOT_FOUND
    assert cli("--batch", "delete", "gone").code == EXIT_NOT_FOUND
    assert cli("--batch", "list").out == ""
    assert "gone" in cli("--batch", "list", "--deleted").out
    assert cli("--batch", "undelete", "gone").code == 0
    assert cli("--batch", "get", "gone", "-n").out == SECRET
    assert cli("--batch", "undelete", "gone").code == EXIT_USAGE  # not deleted
    assert cli("--batch", "undelete", "never").code == EXIT_NOT_FOUND


def test_history_rollback_versions_and_stages(cli):
    for v in ("v-one", "v-two", "v-three"):
        cli("--batch", "set", "rot", stdin=v.encode())
    hist = json.loads(cli("--batch", "--json", "history", "rot").out)
    assert [h["version"] for h in hist] == [1, 2, 3]
    assert hist[-1]["stage"] == "CURRENT" and hist[1]["stage"] == "PREVIOUS"
    assert "v-one" not in cli("--batch", "history", "rot").out
    assert cli("--batch", "get", "rot", "--version", "1", "-n").out == "v-one"
    assert cli("--batch", "get", "rot", "--stage", "previous", "-n").out == "v-two"
    assert cli("--batch", "get", "rot", "--stage", "PENDING").code == EXIT_NOT_FOUND
    assert cli("--batch", "get", "rot", "--stage", "SIDEWAYS").code == EXIT_USAGE
    assert cli("--batch", "get", "rot", "--version", "9").code == EXIT_NOT_FOUND
    r = cli("--batch", "rollback", "rot", "1")
    assert r.code == 0 and "now version 4" in r.err
    assert cli("--batch", "get", "rot", "-n").out == "v-one"
    assert cli("--batch", "rollback", "rot", "17").code == EXIT_NOT_FOUND
    assert cli("--batch", "history", "nothing").code == EXIT_NOT_FOUND


def test_describe_and_tag(cli):
    cli("--batch", "set", "svc", "--tag", "env=prod", stdin=b"value-1")
    assert cli("--batch", "describe", "svc", "--text", "the service key").code == 0
    assert cli("--batch", "tag", "svc", "team=core", "owner=").code == 0
    doc = json.loads(cli("--batch", "--json", "tag", "svc", "--remove", "env").out)
    assert doc["description"] == "the service key"
    assert doc["tags"] == {"team": "core", "owner": ""}
    assert cli("--batch", "tag", "svc").code == EXIT_USAGE
    assert cli("--batch", "tag", "nope", "a=b").code == EXIT_NOT_FOUND
    assert cli("--batch", "describe", "nope", "--text", "x").code == EXIT_NOT_FOUND
    # set --tag merges with the existing tags; --description None keeps the old one
    cli("--batch", "set", "svc", "--tag", "env=dev", stdin=b"value-2")
    doc = json.loads(cli("--batch", "--json", "list", "--filter", "svc").out)[0]
    assert doc["tags"] == {"team": "core", "owner": "", "env": "dev"}
    assert doc["description"] == "the service key"


def test_check_and_set_conflict_is_exit_7(cli):
    cli("--batch", "set", "cas", stdin=b"first-value")
    r = cli("--batch", "set", "cas", "--expected-version", "1", stdin=b"second-value")
    assert r.code == 0
    r = cli("--batch", "set", "cas", "--expected-version", "1", stdin=b"third-value")
    assert r.code == EXIT_CONFLICT and "third-value" not in r.err
    assert cli("--batch", "set", "fresh", "--expected-version", "0", stdin=b"abc-value").code == 0
    assert (
        cli("--batch", "set", "fresh", "--expected-version", "0", stdin=b"abc-value").code
        == EXIT_CONFLICT
    )


def test_invalid_name_and_usage_errors(cli):
    assert cli("--batch", "set", "bad name!", stdin=b"value-x").code == EXIT_USAGE
    assert cli("--batch", "get", "a/../b").code == EXIT_USAGE
    r = cli("--batch")
    assert r.code == EXIT_USAGE and "needs a COMMAND" in r.err
    assert cli("--batch", "frobnicate").code == EXIT_USAGE
    assert cli("--batch", "get").code == EXIT_USAGE
    assert cli("--demo", "list").code == EXIT_USAGE
    assert cli("--batch", "--help").code == 0


def test_read_commands_do_not_create_a_vault(cli, home: Path):
    r = cli("--batch", "get", "anything")
    assert r.code == EXIT_NOT_FOUND and "No vault" in r.err
    assert cli("--batch", "list").code == EXIT_NOT_FOUND
    assert not (home / "vault.db").exists()


def test_status(cli, home: Path):
    r = cli("--batch", "--json", "status")
    doc = json.loads(r.out)
    assert r.code == 0 and doc["vault_exists"] is False and doc["agent"] is None
    cli("--batch", "set", "a", stdin=b"value-a")
    doc = json.loads(cli("--batch", "status", "--json").out)
    assert doc["unlocked"] is True and doc["total_secrets"] == 1 and doc["provider"] == "local"
    text = cli("--batch", "status").out
    assert "vault_path" in text and "agent" in text and "not running" in text


def test_audit_trail_records_batch_operations(cli, home: Path):
    cli("--batch", "set", "audited", stdin=SECRET.encode())
    cli("--batch", "get", "audited")
    cli("--batch", "get", "missing")
    cli("--batch", "list")
    r = cli("--batch", "audit", "export", "--plain")
    assert r.code == 0, r.err
    lines = [json.loads(x) for x in r.out.splitlines()]
    ops = [(e["operation"], e["secret_name"], e["success"], e["source"]) for e in lines]
    assert ("write", "audited", True, "batch") in ops
    assert ("read", "audited", True, "batch") in ops
    assert ("read", "missing", False, "batch") in ops
    assert ("list", None, True, "batch") in ops
    assert SECRET not in (home / "logs" / "secrets_audit.log").read_text()


@pytest.mark.parametrize("fmt", ["json", "dotenv"])
def test_export_import_round_trip(cli, tmp_path: Path, monkeypatch, fmt: str):
    values = {
        "plain": "simple-value",
        # .env refuses a quote next to $ (no quoting reads back the same in sh and
        # python-dotenv, see test_export_shell.py); JSON carries anything
        "quotes": 'it\'s "quoted" $HOME' if fmt == "json" else 'it\'s "quoted" \\ here',
        "multi": "line one\nline two",
    }
    for name, value in values.items():
        cli(
            "--batch",
            "set",
            name,
            "--description",
            f"d-{name}",
            "--tag",
            "k=v",
            stdin=value.encode(),
        )
    cli("--batch", "set", "conf", "--type", "dict", stdin=b'{"a": 1, "b": "x"}')
    cli("--batch", "set", "raw", "--type", "bytes", stdin=b"\x00\x01binary")
    out = tmp_path / f"export.{fmt}"
    r = cli("--batch", "export", "--format", fmt, "--output", str(out))
    assert r.code == 0 and out.stat().st_mode & 0o777 == 0o600
    assert cli("--batch", "export", "--format", fmt, "--output", str(out)).code == EXIT_USAGE
    printed = cli("--batch", "export", "--format", fmt).out
    if fmt == "dotenv":
        assert printed == out.read_text()
    else:
        assert json.loads(printed)["secrets"] == json.loads(out.read_text())["secrets"]

    other = tmp_path / "other-home"
    monkeypatch.setenv("VAULTUI_HOME", str(other))
    r = cli("--batch", "--json", "import", str(out), "--format", fmt)
    assert r.code == 0, r.err
    assert len(json.loads(r.out)["created"]) == 5
    assert "imported: 5/5" in r.err  # progress on stderr
    for name, value in values.items():
        key = name if fmt == "json" else name.upper()
        assert cli("--batch", "get", key, "-n").out == value
    if fmt == "json":
        assert cli("--batch", "get", "raw").outb == b"\x00\x01binary"
        assert json.loads(cli("--batch", "get", "conf").out) == {"a": 1, "b": "x"}
        doc = json.loads(cli("--batch", "--json", "list", "--filter", "plain").out)[0]
        assert doc["description"] == "d-plain" and doc["tags"] == {"k": "v"}
    # importing the same file again changes nothing
    r = cli("--batch", "--json", "import", str(out), "--format", fmt)
    assert json.loads(r.out)["unchanged"] and not json.loads(r.out)["updated"]


def test_import_conflicts_dry_run_and_bad_input(cli, tmp_path: Path):
    env = tmp_path / "app.env"
    env.write_text("# comment\nexport API_KEY=abc123  # inline\nDB_URL='postgres://u:p@h/db'\n")
    r = cli("--batch", "import", str(env), "--dry-run")
    assert r.code == 0 and "Would import 2 entries" in r.err
    assert cli("--batch", "list").code == EXIT_NOT_FOUND or cli("--batch", "list").out == ""
    assert cli("--batch", "import", str(env), "--prefix", "app/").code == 0
    assert cli("--batch", "get", "app/API_KEY", "-n").out == "abc123"
    env.write_text("API_KEY=changed\n")
    r = cli("--batch", "import", str(env), "--prefix", "app/", "--on-conflict", "fail")
    assert r.code == EXIT_CONFLICT and "changed" not in r.err
    assert (
        cli(
            "--batch", "--json", "import", str(env), "--prefix", "app/", "--on-conflict", "skip"
        ).code
        == 0
    )
    assert cli("--batch", "get", "app/API_KEY", "-n").out == "abc123"
    assert cli("--batch", "import", str(env), "--prefix", "app/").code == 0
    assert cli("--batch", "get", "app/API_KEY", "-n").out == "changed"
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": ')
    assert cli("--batch", "import", str(bad)).code == EXIT_USAGE
    unknown = tmp_path / "secrets.txt"
    unknown.write_text("x")
    r = cli("--batch", "import", str(unknown))
    assert r.code == EXIT_USAGE and "--format" in r.err
    assert cli("--batch", "import", str(tmp_path / "nope.env")).code == EXIT_USAGE
    badenv = tmp_path / "bad.env"
    badenv.write_text("GOOD=1\nthis line is wrong\n")
    r = cli("--batch", "import", str(badenv))
    assert r.code == EXIT_USAGE and "line 2" in r.err
