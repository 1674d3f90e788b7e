"""``run``: secrets in the child's environment only, masked output, exit codes; and the
streaming masker on its own."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from core.errors import EXIT_NOT_FOUND, EXIT_USAGE
from tests.batch.conftest import run_vaultui
from vaultui.batch.commands.run import MASK, Masker

SECRET = "tok-9f8e7d6c5b4a-RUNVALUE"
DB = {"host": "db.internal", "password": "pw-Dict-Field-Value"}

# The child checks its own argv and its parent's (the vaultui process) for values, and
# reports what it sees in its environment.
CHILD = textwrap.dedent(
    """
    import json, os, sys
    secrets = [os.environ["API_TOKEN"], os.environ["DB_PASSWORD"]]
    mine = open("/proc/self/cmdline", "rb").read()
    parent = open(f"/proc/{os.getppid()}/cmdline", "rb").read()
    leaked = [s for s in secrets if s.encode() in mine or s.encode() in parent]
    report = {"leaked": leaked, "host": os.environ.get("DB_HOST"),
              "ref": os.environ.get("FROM_REF")}
    open(sys.argv[1], "w").write(json.dumps(report))
    print("token is", os.environ["API_TOKEN"], "and again", os.environ["API_TOKEN"])
    print("db password:", os.environ["DB_PASSWORD"], file=sys.stderr)
    sys.exit(int(sys.argv[2]))
    """
)


@pytest.fixture
def stocked(cli, home: Path) -> Path:
    assert cli("--batch", "set", "api/token", stdin=SECRET.encode()).code == 0
    assert cli("--batch", "set", "db", "--type", "dict", stdin=json.dumps(DB).encode()).code == 0
    return home


def test_run_puts_secrets_in_env_masks_output_and_keeps_argv_clean(stocked, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    report = tmp_path / "report.json"
    from tests.conftest import clean_env

    env = clean_env(stocked, FROM_REF="vaultui://db#host")
    r = run_vaultui(
        stocked,
        "--batch", "run",
        "--env", "API_TOKEN=api/token",
        "--env", "DB_PASSWORD=db#password",
        "--env", "DB_HOST=db#host",
        "--", sys.executable, str(script), str(report), "5",
        env=env,
    )  # fmt: skip
    assert r.code == 5  # the command's own exit code
    assert SECRET not in r.out and DB["password"] not in r.err
    assert r.out.count(MASK.decode()) == 2 and MASK.decode() in r.err
    seen = json.loads(report.read_text())
    assert seen == {"leaked": [], "host": "db.internal", "ref": "db.internal"}


def test_no_mask_shows_the_values(stocked, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    r = run_vaultui(
        stocked,
        "--batch", "run", "--no-mask",
        "--env", "API_TOKEN=api/token", "--env", "DB_PASSWORD=db#password",
        "--", sys.executable, str(script), str(tmp_path / "r.json"), "0",
    )  # fmt: skip
    assert r.code == 0 and SECRET in r.out and DB["password"] in r.err


def test_run_errors(cli, stocked):
    r = cli("--batch", "run", "--env", "X=missing/secret", "--", "true")
    assert r.code == EXIT_NOT_FOUND
    assert cli("--batch", "run", "--env", "X=api/token").code == EXIT_USAGE  # no command
    assert cli("--batch", "run", "--env", "1BAD=api/token", "--", "true").code == EXIT_USAGE
    r = cli("--batch", "run", "--env", "X=api/token", "--", "/no/such/command-xyz")
    assert r.code == 127 and "command not found" in r.err
    assert cli("--batch", "run", "--env", "X=api/token", "--", "false").code == 1


def feed_all(masker: Masker, chunks: list[bytes]) -> bytes:
    return b"".join(masker.feed(c) for c in chunks) + masker.flush()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_masker_catches_values_split_across_chunks(size):
    secret = b"s3cr3t-VALUE-1234"
    text = b"before " + secret + b" middle " + secret + secret + b" after\n"
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    out = feed_all(Masker([secret]), chunks)
    assert out == b"before " + MASK + b" middle " + MASK + MASK + b" after\n"


def test_masker_prefers_the_longer_of_overlapping_values():
    out = feed_all(Masker([b"abcd", b"abcdefgh"]), [b"x abcdef", b"gh y abcd z"])
    assert out == b"x " + MASK + b" y " + MASK + b" z"


def test_masker_does_not_delay_ordinary_output():
    m = Masker([b"secret-value"])
    assert m.feed(b"hello world\n") == b"hello world\n"
    assert m.feed(b"prompt> sec") == b"prompt> "  # only a possible start is held back
    assert m.feed(b"ond line\n") == b"second line\n"


def test_masker_ignores_tiny_values():
    assert feed_all(Masker([b"ab", b""]), [b"abcab"]) == b"abcab"
