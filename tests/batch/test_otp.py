"""``vaultui --batch otp NAME``: the current TOTP code, here and through the agent, from
otpauth:// secrets, pass-otp entries and KeePass imports."""

from __future__ import annotations

import json
import os
import shutil
import time

from core.errors import EXIT_NOT_FOUND
from core.otp import from_uri
from tests.batch.conftest import DATA
from tests.batch.test_agent import pw_home, unlock  # noqa: F401  (a fixture)

SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238's SHA-1 seed in base32
URI = f"otpauth://totp/Example:alice?secret={SEED}&issuer=Example&digits=8&period=30"


def _expected(uri: str) -> set[str]:
    """The codes valid around now (a test may straddle a period boundary)."""
    totp = from_uri(uri)
    now = time.time()
    return {totp.code(at=now + d)[0] for d in (-2, 0, 2)}


def test_otp_prints_code_and_seconds_left(cli, home):
    assert cli("--batch", "set", "site/example", stdin=URI.encode()).code == 0
    want = _expected(URI)
    r = cli("--batch", "otp", "site/example")
    assert r.code == 0, r.err
    code = r.out.rstrip("\n")
    assert len(code) == 8 and code in want
    assert "valid for" in r.err and SEED not in r.err + r.out
    doc = json.loads(cli("--batch", "--json", "otp", "site/example").out)
    assert doc["digits"] == 8 and doc["period"] == 30 and 1 <= doc["remaining"] <= 30
    assert "secret" not in json.dumps(doc).lower()
    log = (home / "logs" / "secrets_audit.log").read_text()
    assert SEED not in log
    assert [json.loads(x)["operation"] for x in log.splitlines()].count("otp") == 2


def test_pass_otp_entry_and_dict_with_totp_field(cli, home):
    entry = f"hunter2\nlogin: alice\n{URI}\n".encode()
    assert cli("--batch", "set", "pass/site", stdin=entry).code == 0
    assert cli("--batch", "otp", "pass/site").out.strip() in _expected(URI)
    doc = json.dumps({"username": "alice", "totp": SEED}).encode()
    assert cli("--batch", "set", "kp/site", "--type", "dict", stdin=doc).code == 0
    six = f"otpauth://totp/x?secret={SEED}"
    assert cli("--batch", "otp", "kp/site").out.strip() in _expected(six)


def test_otp_errors(cli, home):
    assert cli("--batch", "set", "plain", stdin=b"just a password").code == 0
    r = cli("--batch", "otp", "plain")
    assert r.code == EXIT_NOT_FOUND and "otpauth" in r.err
    assert cli("--batch", "otp", "missing").code == EXIT_NOT_FOUND
    bad = b"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5"
    assert cli("--batch", "set", "bad", stdin=bad).code == 0
    r = cli("--batch", "otp", "bad")
    assert r.code == 2 and "SHA1, SHA256 or SHA512" in r.err and "JBSWY" not in r.err


def test_keepass_otp_attributes_import_as_totp(cli, home, tmp_path):
    from pykeepass import PyKeePass

    path = tmp_path / "otp.kdbx"
    shutil.copy(DATA / "empty-lowkdf.kdbx", path)
    db = PyKeePass(str(path), password="fixture")
    new = db.add_entry(db.root_group, "new style", "alice", "pw1")
    new.otp = URI
    old = db.add_entry(db.root_group, "old style", "bob", "pw2")
    old.set_custom_property("TOTP Seed", SEED)
    old.set_custom_property("TOTP Settings", "30;8")
    db.save()
    pw = tmp_path / "kp.txt"
    pw.write_text("fixture\n")
    r = cli("--batch", "import", str(path), "--password-file", str(pw))
    assert r.code == 0, r.err
    assert cli("--batch", "otp", "new_style").out.strip() in _expected(URI)
    assert cli("--batch", "otp", "old_style").out.strip() in _expected(URI)
    fields = json.loads(cli("--batch", "get", "old_style").out)
    assert "TOTP Seed" not in fields and fields["totp"].startswith("otpauth://totp/")


def test_otp_through_the_agent(
    cli,
    pw_home,  # noqa: F811  (the imported fixture)
    monkeypatch,
    tmp_path,
    agents,
):
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    assert cli("--batch", "set", "site/example", stdin=URI.encode()).code == 0
    r = cli("--batch", "otp", "site/example")
    assert r.code == 0 and r.out.strip() in _expected(URI)
    events = [
        json.loads(x)
        for x in (pw_home / "logs" / "secrets_audit.log").read_text().splitlines()
        if '"otp"' in x
    ]
    assert [(e["operation"], e["source"], e["client_pid"]) for e in events] == [
        ("otp", "agent", os.getpid())
    ]
