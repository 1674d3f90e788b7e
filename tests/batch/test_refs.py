"""``read vaultui://NAME#FIELD`` and ``inject``: secret references as ``op`` has them."""

from __future__ import annotations

import json
import os
import stat

from core.errors import EXIT_CONFLICT, EXIT_NOT_FOUND
from tests.batch.test_agent import pw_home, unlock  # noqa: F401  (a fixture)

DB = b'{"host": "db.internal", "password": "p@ss w\\"rd", "nested": {"port": 5432}}'


def _seed(cli) -> None:
    assert cli("--batch", "set", "app/prod/db", "--type", "dict", stdin=DB).code == 0
    assert cli("--batch", "set", "api/token", stdin=b"tok-123").code == 0


def test_read_whole_value_field_and_nested_field(cli, home):
    _seed(cli)
    assert cli("--batch", "read", "vaultui://api/token").out == "tok-123\n"
    assert cli("--batch", "read", "vaultui://app/prod/db#password", "-n").out == 'p@ss w"rd'
    assert cli("--batch", "read", "vaultui://app/prod/db#nested.port").out == "5432\n"
    whole = cli("--batch", "read", "vaultui://app/prod/db")
    assert json.loads(whole.out)["host"] == "db.internal"


def test_read_unknown_or_malformed_reference(cli, home):
    _seed(cli)
    r = cli("--batch", "read", "vaultui://app/prod/db#user")
    assert r.code == EXIT_NOT_FOUND and "no field 'user'" in r.err and r.out == ""
    assert cli("--batch", "read", "vaultui://nope").code == EXIT_NOT_FOUND
    assert cli("--batch", "read", "app/prod/db").code == 2
    assert cli("--batch", "read", "vaultui://app/prod/db#").code == 2


def test_inject_renders_to_a_new_private_file(cli, home, tmp_path):
    _seed(cli)
    tpl = tmp_path / "config.tpl"
    tpl.write_text(
        "host: {{ vaultui://app/prod/db#host }}\n"
        "password: '{{vaultui://app/prod/db#password}}'\n"
        "token: {{   vaultui://api/token }} again {{ vaultui://api/token }}\n"
        "left alone: {{ other }} vaultui://api/token\n"
    )
    out = tmp_path / "config.yml"
    r = cli("--batch", "inject", "-i", str(tpl), "-o", str(out))
    assert r.code == 0, r.err
    assert out.read_text() == (
        "host: db.internal\n"
        "password: 'p@ss w\"rd'\n"
        "token: tok-123 again tok-123\n"
        "left alone: {{ other }} vaultui://api/token\n"
    )
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert "tok-123" not in r.err

    # an existing file is never overwritten without --force ...
    out.write_text("keep me")
    r = cli("--batch", "inject", "-i", str(tpl), "-o", str(out))
    assert r.code == EXIT_CONFLICT and out.read_text() == "keep me"
    # ... and with --force it is replaced whole, still 0600
    os.chmod(out, 0o644)
    assert cli("--batch", "inject", "-i", str(tpl), "-o", str(out), "--force").code == 0
    assert out.read_text().startswith("host: db.internal\n")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_inject_unknown_reference_writes_nothing(cli, home, tmp_path):
    _seed(cli)
    out = tmp_path / "out.env"
    stdin = (
        b"A={{ vaultui://api/token }}\nB={{ vaultui://app/prod/db#user }}\nC={{ vaultui://gone }}\n"
    )
    r = cli("--batch", "inject", "-i", "-", "-o", str(out), stdin=stdin)
    assert r.code == EXIT_NOT_FOUND
    assert "vaultui://app/prod/db#user on line 2" in r.err
    assert "tok-123" not in r.err + r.out
    assert not out.exists()
    r = cli("--batch", "inject", "-i", "-", stdin=b"x={{ vaultui://gone }}")
    assert r.code == EXIT_NOT_FOUND and "vaultui://gone on line 1" in r.err and r.out == ""


def test_inject_stdin_to_stdout(cli, home):
    _seed(cli)
    r = cli("--batch", "inject", "-i", "-", stdin=b"T={{vaultui://api/token}}\n")
    assert r.code == 0 and r.out == "T=tok-123\n"


def test_inject_never_expands_references_inside_values(cli, home):
    # a value that looks like a reference is printed as is, not resolved again
    assert cli("--batch", "set", "tricky", stdin=b"{{ vaultui://api/token }}").code == 0
    assert cli("--batch", "set", "api/token", stdin=b"tok-123").code == 0
    r = cli("--batch", "inject", "-i", "-", stdin=b"x={{ vaultui://tricky }}")
    assert r.code == 0 and r.out == "x={{ vaultui://api/token }}"


def test_read_and_inject_through_the_agent_in_one_round_trip(
    cli,
    pw_home,  # noqa: F811  (the imported fixture)
    monkeypatch,
    tmp_path,
    agents,
):
    assert cli("--batch", "set", "api/token", stdin=b"tok-123").code != 0  # locked: no key
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    assert cli("--batch", "set", "api/token", stdin=b"tok-123").code == 0
    assert cli("--batch", "read", "vaultui://db/password", "-n").out == "agent-held-value"
    log = pw_home / "logs" / "secrets_audit.log"
    before = log.read_text().count("\n")
    r = cli(
        "--batch",
        "inject",
        "-i",
        "-",
        stdin=b"{{ vaultui://db/password }}:{{ vaultui://api/token }}",
    )
    assert r.code == 0 and r.out == "agent-held-value:tok-123"
    events = [json.loads(line) for line in log.read_text().splitlines()[before:]]
    # one read event per secret, each from the agent on behalf of this client
    assert [(e["operation"], e["secret_name"], e["source"]) for e in events] == [
        ("read", "db/password", "agent"),
        ("read", "api/token", "agent"),
    ]
    assert {e["client_pid"] for e in events} == {os.getpid()}
    assert "agent-held-value" not in log.read_text()
