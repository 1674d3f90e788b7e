"""``import --format pass DIR``: a real ``pass`` store made with a throwaway gpg key,
decrypted by the user's gpg; fields, otpauth, folders as prefixes, --dry-run."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import EXIT_WRONG_KEY
from core.importexport.pass_store import parse_content

pytestmark = pytest.mark.skipif(
    shutil.which("pass") is None or shutil.which("gpg") is None,
    reason="pass and gpg are needed (scripts/test.sh installs them)",
)

GITHUB = (
    "Gh-Pass-7713\n"
    "login: octocat\n"
    "url: https://github.com/login\n"
    "otpauth://totp/GitHub:octocat?secret=JBSWY3DPEHPK3PXP&issuer=GitHub\n"
    "recovery codes are in the safe\n"
)


def _gpg_home() -> Iterator[Path]:
    # a short path: gpg-agent's socket lives in the home and socket paths are short
    home = Path(tempfile.mkdtemp(prefix="gpg", dir="/tmp"))
    home.chmod(0o700)
    try:
        yield home
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def gnupg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A throwaway GNUPGHOME with one key without passphrase, set in os.environ."""
    for home in _gpg_home():
        monkeypatch.setenv("GNUPGHOME", str(home))
        subprocess.run(
            ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "vaultui test <t@x.invalid>"],
            check=True,
            capture_output=True,
        )
        yield home


def _key_id() -> str:
    out = subprocess.run(
        ["gpg", "--list-keys", "--with-colons"], check=True, capture_output=True, text=True
    ).stdout
    return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr"))


@pytest.fixture
def store(gnupg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pass store with a folder, fields, an otpauth line, a bare password."""
    root = tmp_path / "password-store"
    monkeypatch.setenv("PASSWORD_STORE_DIR", str(root))
    subprocess.run(["pass", "init", _key_id()], check=True, capture_output=True)
    for name, content in (
        ("web/github", GITHUB),
        ("email/work", "Mail-Pass-2290\n"),
        ("servers/db prod", "Db-Pass-5150\nuser: postgres\n"),
    ):
        subprocess.run(
            ["pass", "insert", "-m", name], input=content.encode(), check=True, capture_output=True
        )
    assert (root / "web" / "github.gpg").is_file()
    return root


def test_a_pass_store_imports_through_the_agent(cli, home, store, agents):
    assert cli("--batch", "set", "seed", stdin=b"x").code == 0  # the vault exists
    agents.append(home / "agent.sock")
    assert cli("--batch", "unlock", "--ttl", "2m").code == 0
    r = cli("--batch", "import", "--format", "pass", str(store))
    assert r.code == 0, r.err
    assert "3 created" in r.err
    github = json.loads(cli("--batch", "get", "web/github").out)
    assert github == {
        "password": "Gh-Pass-7713",
        "login": "octocat",
        "url": "https://github.com/login",
        "totp": "otpauth://totp/GitHub:octocat?secret=JBSWY3DPEHPK3PXP&issuer=GitHub",
        "notes": "recovery codes are in the safe",
    }
    assert cli("--batch", "get", "email/work", "-n").out == "Mail-Pass-2290"
    db = json.loads(cli("--batch", "get", "servers/db_prod").out)
    assert db == {"password": "Db-Pass-5150", "user": "postgres"}
    log = (home / "logs" / "secrets_audit.log").read_text()
    events = [json.loads(x) for x in log.splitlines()]
    assert any(e["operation"] == "import" and e["source"] == "agent" for e in events)
    assert "Gh-Pass" not in log and "Mail-Pass" not in log


def test_the_format_is_guessed_from_the_store_and_dry_run_shows_names_only(cli, home, store):
    r = cli("--batch", "import", str(store), "--dry-run", "--prefix", "pass/")
    assert r.code == 0, r.err
    assert "created: pass/web/github" in r.err and "created: pass/email/work" in r.err
    for secret in ("Gh-Pass", "Mail-Pass", "Db-Pass", "octocat"):
        assert secret not in r.out + r.err
    assert cli("--batch", "list").out == ""  # nothing was written


def test_a_store_for_a_key_we_do_not_hold_names_the_file(cli, store, monkeypatch):
    for other in _gpg_home():  # an empty keyring: the store's secret key is missing
        monkeypatch.setenv("GNUPGHOME", str(other))
        r = cli("--batch", "import", "--format", "pass", str(store))
        assert r.code == EXIT_WRONG_KEY
        assert "gpg cannot decrypt email/work.gpg" in r.err
        assert "Mail-Pass" not in r.err


def test_gpg_is_run_without_the_value_or_a_passphrase_in_its_arguments(
    cli, store, tmp_path, monkeypatch
):
    # a gpg wrapper records its argv; the values must never be in it
    record = tmp_path / "argv.txt"
    wrapper = tmp_path / "gpg-wrapper"
    wrapper.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{record}"\nexec "{shutil.which("gpg")}" "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("VAULTUI_GPG", str(wrapper))
    assert cli("--batch", "import", "--format", "pass", str(store)).code == 0
    args = record.read_text()
    assert "--batch" in args and "--decrypt" in args and "web/github.gpg" in args
    assert "Pass-" not in args and "--passphrase" not in args


def test_content_rules_without_gpg():
    assert parse_content(b"just-a-password\n") == "just-a-password"
    assert parse_content(b"") == ""
    assert parse_content(b"pw\npassword: other\ntotp: otpauth://totp/x\n") == {
        "password": "pw",
        "password-2": "other",
        "totp": "otpauth://totp/x",
    }
    assert parse_content(b"pw\nhttps://example.com\n\nline two\n") == {
        "password": "pw",
        "notes": "https://example.com\n\nline two",
    }
    assert parse_content(b"\xff\xfe raw") == b"\xff\xfe raw"
