"""The documented exit codes that need a special setup (wrong key, tampering, provider
failures, storage errors) and ``passwd``; plus: errors never print a value or a
traceback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from core.errors import (
    EXIT_ERROR,
    EXIT_INTEGRITY,
    EXIT_PROVIDER,
    EXIT_USAGE,
    EXIT_WRONG_KEY,
)

SECRET = "Very-Distinct-Secret-42"


def _master(monkeypatch, value: str) -> None:
    monkeypatch.setenv("FEDZK_ENCRYPTION_MASTER_KEY", value)


def test_wrong_master_key_is_exit_4(cli, monkeypatch):
    _master(monkeypatch, "the-right-master-key")
    assert cli("--batch", "set", "a", stdin=SECRET.encode()).code == 0
    _master(monkeypatch, "a-wrong-master-key")
    r = cli("--batch", "get", "a")
    assert r.code == EXIT_WRONG_KEY and "Wrong" in r.err
    assert "a-wrong-master-key" not in r.err and "Traceback" not in r.err


def test_missing_key_is_exit_4_with_the_seed_hint(cli, monkeypatch):
    _master(monkeypatch, "the-right-master-key")
    cli("--batch", "set", "a", stdin=SECRET.encode())
    monkeypatch.delenv("FEDZK_ENCRYPTION_MASTER_KEY")
    r = cli("--batch", "get", "a")
    assert r.code == EXIT_WRONG_KEY and "FEDZK_ENCRYPTION_MASTER_KEY" in r.err


def test_prompt_unlocks_a_passphrase_vault_on_a_terminal(cli, monkeypatch):
    _master(monkeypatch, "typed-passphrase")
    cli("--batch", "set", "a", stdin=SECRET.encode())
    monkeypatch.delenv("FEDZK_ENCRYPTION_MASTER_KEY")
    typed = iter(["wrong-one", "typed-passphrase"])
    monkeypatch.setattr("vaultui.batch.context.has_terminal", lambda: True)
    monkeypatch.setattr("vaultui.batch.context.prompt_secret", lambda _p: next(typed))
    r = cli("--batch", "get", "a", "-n")
    assert (r.code, r.out) == (0, SECRET) and "Wrong passphrase" in r.err
    typed = iter(["x1", "x2", "x3"])
    r = cli("--batch", "get", "a")
    assert r.code == EXIT_WRONG_KEY
    assert cli("--batch", "--no-prompt", "get", "a").code == EXIT_WRONG_KEY


def test_tampered_value_is_exit_5(cli, home: Path):
    cli("--batch", "set", "a", stdin=SECRET.encode())
    conn = sqlite3.connect(home / "vault.db")
    (blob,) = conn.execute("SELECT value FROM versions").fetchone()
    flipped = bytes(blob[:20]) + bytes([blob[20] ^ 1]) + bytes(blob[21:])
    conn.execute("UPDATE versions SET value = ?", (flipped,))
    conn.commit()
    conn.close()
    r = cli("--batch", "get", "a")
    assert r.code == EXIT_INTEGRITY and "Traceback" not in r.err and SECRET not in r.err


def test_provider_failure_is_exit_6(cli, monkeypatch):
    assert cli("--batch", "set", "a", stdin=SECRET.encode()).code == 0
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")
    monkeypatch.setenv("VAULT_TOKEN", "t")
    r = cli("--batch", "--provider", "hashicorp_vault", "set", "a", stdin=b"new-value-x")
    assert r.code == EXIT_PROVIDER and "new-value-x" not in r.err
    r = cli("--batch", "--provider", "hashicorp_vault", "--json", "providers")
    assert r.code == EXIT_PROVIDER
    rows = {row["name"]: row for row in json.loads(r.out)}
    assert rows["hashicorp_vault"]["active"] and rows["hashicorp_vault"]["ok"] is False
    assert cli("--batch", "providers", "--no-probe").code == 0  # local is fine
    assert cli("--batch", "--provider", "no_such", "get", "a").code == EXIT_USAGE


def test_storage_failure_is_exit_1(cli, home: Path):
    home.mkdir(parents=True)
    (home / "vault.db").mkdir()  # something that is not a database file
    (home / "vault.key").write_text("k" * 44)
    r = cli("--batch", "get", "a")
    assert r.code == EXIT_ERROR and "Traceback" not in r.err


@pytest.fixture
def pw_vault(cli, tmp_path: Path, monkeypatch) -> Path:
    old = tmp_path / "old.txt"
    old.write_text("old passphrase 1\n")
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(old))
    assert cli("--batch", "set", "a", stdin=SECRET.encode()).code == 0
    return old


def test_passwd_without_a_terminal_uses_the_new_passphrase_file(
    cli, pw_vault, tmp_path, monkeypatch
):
    new = tmp_path / "new.txt"
    r = cli("--batch", "passwd")
    assert r.code == EXIT_WRONG_KEY and "VAULTUI_NEW_PASSPHRASE_FILE" in r.err
    new.write_text("short")
    monkeypatch.setenv("VAULTUI_NEW_PASSPHRASE_FILE", str(new))
    assert cli("--batch", "passwd").code == EXIT_USAGE
    new.write_text("the new passphrase\n")
    r = cli("--batch", "passwd")
    assert r.code == 0 and "Passphrase changed" in r.err
    assert cli("--batch", "get", "a").code == EXIT_WRONG_KEY  # the old file no longer opens it
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(new))
    assert cli("--batch", "get", "a", "-n").out == SECRET
    log = (pw_vault.parent / "home" / "logs" / "secrets_audit.log").read_text()
    assert '"operation": "passwd"' in log and "the new passphrase" not in log


def test_passwd_on_a_terminal(cli, pw_vault, monkeypatch):
    monkeypatch.delenv("VAULTUI_PASSPHRASE_FILE")
    typed = iter(["old passphrase 1", "brand new phrase", "brand new phrase"])
    monkeypatch.setattr("vaultui.batch.context.has_terminal", lambda: True)
    monkeypatch.setattr("vaultui.batch.context.prompt_secret", lambda _p: next(typed))
    assert cli("--batch", "passwd").code == 0
    typed = iter(["brand new phrase"])
    assert cli("--batch", "get", "a", "-n").out == SECRET


def test_passwd_adds_a_passphrase_to_a_key_file_vault(cli, tmp_path, monkeypatch):
    assert cli("--batch", "set", "a", stdin=SECRET.encode()).code == 0  # auto key file
    new = tmp_path / "new.txt"
    new.write_text("added passphrase!")
    monkeypatch.setenv("VAULTUI_NEW_PASSPHRASE_FILE", str(new))
    r = cli("--batch", "passwd")
    assert r.code == 0 and "still opens the vault" in r.err
    assert cli("--batch", "get", "a", "-n").out == SECRET  # the key file still works
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(new))
    assert cli("--batch", "get", "a", "-n").out == SECRET  # and so does the passphrase
