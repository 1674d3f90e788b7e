"""Secret names never reach the audit trail's plain bytes; key holders still see them."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

from core.errors import EXIT_OK, EXIT_WRONG_KEY
from tests.batch.conftest import run_vaultui

NAMES = ("payments/stripe_live_key", "db/orders-primary", "gone/legacy_token")
VALUE = b"v4lue-that-must-stay-hidden"


def printable_runs(data: bytes) -> list[bytes]:
    """What `strings` shows: runs of 4+ printable ASCII bytes."""
    return re.findall(rb"[\x20-\x7e]{4,}", data)


def session(cli) -> None:
    for name in NAMES:
        assert cli("--batch", "set", name, stdin=VALUE).code == EXIT_OK
    assert cli("--batch", "get", NAMES[0], "-n").out == VALUE.decode()
    assert cli("--batch", "get", "missing/" + NAMES[1]).code != EXIT_OK
    assert cli("--batch", "delete", NAMES[2]).code == EXIT_OK


def test_no_secret_name_in_the_bytes_of_the_trail_or_its_index(cli, home: Path) -> None:
    session(cli)
    assert cli("--batch", "audit", "list").code == EXIT_OK  # builds the index too
    logs = home / "logs"
    files = [p for p in logs.iterdir() if p.is_file()]
    assert any(p.name == "secrets_audit.log" for p in files)
    for path in files:
        text = b"\n".join(printable_runs(path.read_bytes()))
        for name in NAMES:
            assert name.encode() not in text, f"{name} in {path.name}"
            # not even the last path part (what a grep for a known name would try)
            assert name.rsplit("/", 1)[1].encode() not in text, path.name
        assert VALUE not in text


def test_audit_list_and_filter_show_names_when_unlocked(cli, home: Path) -> None:
    session(cli)
    r = cli("--batch", "audit", "list", "--json", "-n", "0")
    events = json.loads(r.out)
    seen = {(e["operation"], e["secret_name"]) for e in events}
    assert ("write", NAMES[0]) in seen and ("read", NAMES[0]) in seen
    assert ("delete", NAMES[2]) in seen and ("read", "missing/" + NAMES[1]) in seen
    failed = [e for e in events if e["success"] is False]
    assert failed and failed[0]["error_message"] == "secret not found"
    # a filter by name (and by glob) finds the sealed lines
    r = cli("--batch", "audit", "list", "--json", "--secret", NAMES[0], "-n", "0")
    assert [e["operation"] for e in json.loads(r.out)] == ["write", "read"]
    r = cli("--batch", "audit", "list", "--json", "--secret", "payments/*", "-n", "0")
    assert {e["secret_name"] for e in json.loads(r.out)} == {NAMES[0]}
    text = cli("--batch", "audit", "list").out
    assert NAMES[0] in text and "<encrypted>" not in text
    stats = json.loads(cli("--batch", "audit", "stats", NAMES[0], "--json").out)
    assert stats["total_accesses"] == 2 and stats["operations"] == {"read": 1, "write": 1}


def test_verify_and_list_work_on_a_locked_vault(cli, home: Path, tmp_path: Path) -> None:
    session(cli)
    key = home / "vault.key"
    key.rename(tmp_path / "vault.key.away")  # now nothing opens the vault
    assert run_vaultui(home, "--batch", "get", NAMES[0]).code == EXIT_WRONG_KEY
    before = (home / "logs" / "secrets_audit.log").read_bytes()
    r = run_vaultui(home, "--batch", "audit", "verify")
    assert r.code == EXIT_OK, r.err
    assert r.out.startswith("chain ok") and "MACs not checked (no key)" in r.out, r.out
    r = run_vaultui(home, "--batch", "audit", "list", "--json", "-n", "0")
    assert r.code == EXIT_OK, r.err
    events = json.loads(r.out)
    assert {e["secret_name"] for e in events if e["operation"] == "write"} == {"<encrypted>"}
    assert not any(name in r.out for name in NAMES)
    # a count by name cannot see sealed lines without the key, and says so
    r = run_vaultui(home, "--batch", "audit", "stats", NAMES[0], "--json")
    assert json.loads(r.out)["total_accesses"] == 0 and "vault is locked" in r.err
    # plain export needs the key
    r = run_vaultui(home, "--batch", "audit", "export", "--plain")
    assert r.code == EXIT_WRONG_KEY and "needs the vault key" in r.err
    # reading while locked recorded no failed unlock
    after = (home / "logs" / "secrets_audit.log").read_bytes()
    assert after.count(b'"operation": "unlock"') == before.count(b'"operation": "unlock"')


def test_export_plain_prints_names_and_is_audited(cli, home: Path, tmp_path: Path) -> None:
    session(cli)
    r = cli("--batch", "audit", "export", "--plain", "--secret", NAMES[0])
    assert r.code == EXIT_OK, r.err
    rows = [json.loads(x) for x in r.out.splitlines()]
    assert [(e["operation"], e["secret_name"]) for e in rows] == [
        ("write", NAMES[0]),
        ("read", NAMES[0]),
    ]
    out = tmp_path / "siem.jsonl"
    r = cli("--batch", "audit", "export", "--plain", "-o", str(out))
    assert r.code == EXIT_OK, r.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert NAMES[2] in out.read_text()
    # never replaces a file
    r = cli("--batch", "audit", "export", "--plain", "-o", str(out))
    assert r.code != EXIT_OK and "already exists" in r.err
    # the exports were audited (the names they revealed stay sealed in the file)
    listed = json.loads(cli("--batch", "audit", "list", "--json", "--op", "audit_export").out)
    assert [(e["plain"], e["to"]) for e in listed] == [(True, "stdout"), (True, "file")]
    # without --plain: the lines as written (sealed)
    raw = cli("--batch", "audit", "export").out
    assert NAMES[0] not in raw and '"chain": "' in raw
