"""``vaultui --batch rekey`` and ``passwd --rekey``: a new data key, the agent told,
an old copy's key slots plus the old passphrase reading nothing written afterwards,
and backups made after the rekey restoring."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import EXIT_WRONG_KEY
from tests.batch.conftest import ROOT, pid_alive
from tests.conftest import clean_env
from tests.trail import home_events

OLD = "old passphrase 1"
NEW = "new passphrase 2"
LATE = b"written-after-rekey-d41c"


@pytest.fixture
def pw(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, cli) -> dict[str, Path]:
    """A passphrase vault (VAULTUI_PASSPHRASE_FILE set) with two secrets, one with history."""
    old = tmp_path / "old.txt"
    old.write_text(OLD + "\n")
    new = tmp_path / "new.txt"
    new.write_text(NEW + "\n")
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(old))
    assert cli("--batch", "set", "db/password", stdin=b"first").code == 0
    assert cli("--batch", "set", "db/password", stdin=b"second").code == 0
    assert cli("--batch", "set", "api/token", stdin=b"tok").code == 0
    return {"old": old, "new": new}


def _events(home: Path, operation: str) -> list[dict]:
    """The trail's ``operation`` events, opened with the passphrase the test has set."""
    from core.unlock import read_passphrase_file
    from core.vault import KeySource

    passphrase = read_passphrase_file(Path(os.environ["VAULTUI_PASSPHRASE_FILE"]))
    events = home_events(home, KeySource.passphrase(passphrase))
    return [e for e in events if e["operation"] == operation]


def test_rekey_stops_the_agent_and_keeps_every_secret(cli, home, pw, agents):
    agents.append(home / "agent.sock")
    info = json.loads(cli("--batch", "--json", "unlock", "--ttl", "5m").out)
    r = cli("--batch", "--json", "rekey")
    assert r.code == 0, r.err
    result = json.loads(r.out)
    assert (result["records"], result["versions"]) == (2, 3)
    assert result["agent_stopped"] is True and result["slots_dropped"] == []
    deadline = time.monotonic() + 5
    while pid_alive(info["pid"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_alive(info["pid"]) and not (home / "agent.sock").exists()
    assert cli("--batch", "get", "db/password", "-n").out == "second"
    assert cli("--batch", "get", "db/password", "--version", "1", "-n").out == "first"
    [event] = _events(home, "rekey")
    assert event["success"] and event["records"] == 2 and event["agent_stopped"] is True
    # the audit chain still verifies across the rekey (its key was carried over)
    r = cli("--batch", "audit", "verify")
    assert r.code == 0, r.out + r.err


def test_passwd_rekey_leaves_old_slots_reading_nothing_new(cli, home, pw, monkeypatch, tmp_path):
    old_copy = tmp_path / "old-copy.db"
    shutil.copy(home / "vault.db", old_copy)
    monkeypatch.setenv("VAULTUI_NEW_PASSPHRASE_FILE", str(pw["new"]))
    r = cli("--batch", "passwd", "--rekey")
    assert r.code == 0, r.err
    assert "rekeyed" in r.err
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw["new"]))
    assert cli("--batch", "set", "late", stdin=LATE).code == 0
    assert cli("--batch", "get", "db/password", "-n").out == "second"

    # an attacker's copy of the new file, with the old copy's key slots put back in
    attacked_home = tmp_path / "attacked"
    attacked_home.mkdir()
    shutil.copy(home / "vault.db", attacked_home / "vault.db")
    with sqlite3.connect(old_copy) as src:
        rows = src.execute("SELECT kind, params, wrapped FROM key_slots").fetchall()
    conn = sqlite3.connect(attacked_home / "vault.db")
    with conn:
        conn.execute("DELETE FROM key_slots")
        conn.executemany("INSERT INTO key_slots(kind, params, wrapped) VALUES (?, ?, ?)", rows)
    conn.close()
    monkeypatch.setenv("VAULTUI_HOME", str(attacked_home))
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw["old"]))
    for argv in (("get", "late"), ("get", "db/password"), ("list",), ("export",)):
        r = cli("--batch", *argv)
        assert r.code != 0, argv
        assert LATE not in r.outb + r.errb and b"second" not in r.outb
    assert LATE not in (attacked_home / "vault.db").read_bytes()
    # while the old copy itself still opens with the old passphrase (documented)
    monkeypatch.setenv("VAULTUI_HOME", str(tmp_path / "old-home"))
    (tmp_path / "old-home").mkdir()
    shutil.copy(old_copy, tmp_path / "old-home" / "vault.db")
    r = cli("--batch", "get", "db/password", "-n")
    assert r.out == "second" and cli("--batch", "get", "late").code != 0


def test_unavailable_slots_refuse_the_rekey_unless_dropped(cli, home, pw, monkeypatch, tmp_path):
    # add a key-file slot, then forget where the key file is
    from core.vault import KeySource, Vault, write_new_key_file

    key_file = write_new_key_file(tmp_path / "extra.key")
    with Vault.open(home / "vault.db", KeySource.passphrase(OLD)) as v:
        v.add_key_slot(KeySource.from_key_file(key_file))
    r = cli("--batch", "rekey")
    assert r.code == EXIT_WRONG_KEY
    assert "keyfile" in r.err and "--drop-unavailable-slots" in r.err
    assert not _events(home, "rekey")[0]["success"]
    # nothing changed: the key file still opens the vault
    with Vault.open(home / "vault.db", KeySource.from_key_file(key_file)) as v:
        assert v.get("api/token").value == "tok"
    # configured, it is rewrapped too
    monkeypatch.setenv("VAULTUI_KEY_FILE", str(key_file))
    assert cli("--batch", "rekey").code == 0
    monkeypatch.delenv("VAULTUI_KEY_FILE")
    with Vault.open(home / "vault.db", KeySource.from_key_file(key_file)) as v:
        assert v.get("api/token").value == "tok"
    # not configured and dropped on request: a warning, and it opens nothing any more
    r = cli("--batch", "rekey", "--drop-unavailable-slots")
    assert r.code == 0 and "warning: dropped key slot" in r.err
    from core.errors import WrongKeyError

    with pytest.raises(WrongKeyError):
        Vault.open(home / "vault.db", KeySource.from_key_file(key_file))


def test_a_backup_made_after_a_rekey_restores(cli, home, pw, tmp_path):
    assert cli("--batch", "backup", "create", "--name", "before").code == 0
    assert cli("--batch", "rekey").code == 0
    assert cli("--batch", "set", "late", stdin=LATE).code == 0
    r = cli("--batch", "backup", "create", "--name", "after", "--incremental", "--json")
    assert r.code == 0, r.err
    listing = json.loads(cli("--batch", "backup", "list", "--json").out)
    after = [b for b in listing if b["name"] == "after"]
    assert after and after[0]["type"] == "full"  # not a child of a backup under the old key
    target = tmp_path / "restored" / "vault.db"
    backup_file = home / "backups" / "after.vbak"
    r = cli("--batch", "backup", "restore", str(backup_file), "--to", str(target))
    assert r.code == 0, r.out + r.err
    from core.vault import KeySource, Vault

    with Vault.open(target, KeySource.passphrase(OLD)) as v:
        assert v.get("late").value == LATE.decode()
        assert v.get("db/password").value == "second"
        assert [val for _i, val in v.history_values("db/password")] == ["first", "second"]


def test_progress_bar_on_a_terminal(home, pw, tmp_path):
    """stderr on a pseudo-terminal: a bar with a percentage (none off a terminal)."""
    import pty

    main, sub = pty.openpty()
    env = clean_env(home, VAULTUI_PASSPHRASE_FILE=str(pw["old"]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaultui", "--batch", "rekey", "--no-prompt"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=sub,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    os.close(sub)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(60)
    os.close(main)
    err = b"".join(chunks).decode()
    assert proc.returncode == 0, err
    assert "re-encrypting [" in err and "100% 5/5" in err and "Rekeyed" in err
