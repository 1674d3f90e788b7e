"""``vaultui --batch verify``: exit 0 and counts for a sound vault; exit 5 with the
problem for a replayed row or a smuggled trigger, never a value or a traceback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from core.errors import EXIT_INTEGRITY, EXIT_OK
from tests.batch.conftest import run_vaultui

OLD = "Old-Revoked-Value-7781"
NEW = "New-Current-Value-9923"


def _store(cli, name: str, value: str) -> None:
    assert cli("--batch", "set", name, stdin=value.encode()).code == 0


def test_a_sound_vault_verifies(cli, home: Path) -> None:
    for i in range(5):
        _store(cli, f"app/s{i}", f"value {i}")
    _store(cli, "app/s0", "again")
    r = cli("--batch", "verify", "--json")
    assert r.code == EXIT_OK, r.err
    got = json.loads(r.out)
    assert got == {"ok": True, "records": 5, "versions": 6, "seq": 6, "problems": []}
    r = cli("--batch", "verify")
    assert r.code == EXIT_OK and "vault ok: 5 records" in r.out


def test_a_replayed_row_fails_verify_with_exit_5(cli, home: Path) -> None:
    _store(cli, "payments/key", OLD)
    db = sqlite3.connect(home / "vault.db")
    old = db.execute("SELECT * FROM records").fetchone()
    db.close()
    _store(cli, "payments/key", NEW)
    db = sqlite3.connect(home / "vault.db")
    db.execute("DELETE FROM records WHERE uid = ?", (old[1],))
    db.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", old)
    db.commit()
    db.close()
    r = cli("--batch", "verify", "--json")
    assert r.code == EXIT_INTEGRITY
    got = json.loads(r.out)
    assert got["ok"] is False and got["records"] is None
    assert len(got["problems"]) == 1 and "replayed" in got["problems"][0]
    # and get refuses too, instead of serving the revoked value
    r = cli("--batch", "get", "payments/key")
    assert r.code == EXIT_INTEGRITY
    for text in (r.out, r.err, json.dumps(got)):
        assert OLD not in text and NEW not in text and "Traceback" not in text


def test_a_smuggled_trigger_fails_verify_in_a_fresh_process(cli, home: Path) -> None:
    _store(cli, "db/password", OLD)
    db = sqlite3.connect(home / "vault.db")
    db.execute("CREATE TRIGGER t AFTER UPDATE ON records BEGIN DELETE FROM versions; END")
    db.commit()
    db.close()
    r = run_vaultui(home, "--batch", "verify")
    assert r.code == EXIT_INTEGRITY, r.err
    assert "schema" in r.out and "trigger t" in r.out
    assert OLD not in r.out + r.err and "Traceback" not in r.out + r.err
