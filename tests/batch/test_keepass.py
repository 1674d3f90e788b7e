"""KeePass imports: a real KDBX 4 file written by pykeepass, and KeePassXC's CSV export
(made by keepassxc-cli 2.7, see data/make_fixtures.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.errors import EXIT_INTEGRITY, EXIT_USAGE, EXIT_WRONG_KEY
from tests.batch.conftest import DATA

FIXTURE_PASSWORD = "fixture"


@pytest.fixture
def kdbx(tmp_path: Path) -> Path:
    """A KDBX with groups, custom fields, tags, a duplicate title and a recycled entry."""
    from pykeepass import PyKeePass

    path = tmp_path / "team.kdbx"
    shutil.copy(DATA / "empty-lowkdf.kdbx", path)
    db = PyKeePass(str(path), password=FIXTURE_PASSWORD)
    web = db.add_group(db.root_group, "Web Sites")
    gh = db.add_entry(web, "GitHub (work)", "alice", "gh-s3cret-pass", url="https://github.com",
                      notes="recovery codes: none", tags=["work", "code"])  # fmt: skip
    gh.set_custom_property("api token", "ghp_customFieldValue")
    db.add_entry(web, "GitHub (work)", "bob", "second-same-title", force_creation=True)
    db.add_entry(db.root_group, "root entry", "", "rootpw-kdbx")
    trash = db.add_entry(db.root_group, "old", "", "recycled-value")
    db.trash_entry(trash)
    db.save()
    return path


def test_import_kdbx(cli, kdbx: Path, tmp_path: Path):
    pw = tmp_path / "kp.txt"
    pw.write_text(FIXTURE_PASSWORD + "\n")
    r = cli("--batch", "--json", "import", str(kdbx), "--password-file", str(pw), "--prefix", "kp/")
    assert r.code == 0, r.err
    result = json.loads(r.out)
    assert sorted(result["created"]) == [
        "kp/Web_Sites/GitHub_work",
        "kp/Web_Sites/GitHub_work-2",
        "kp/root_entry",
    ]
    gh = json.loads(cli("--batch", "get", "kp/Web_Sites/GitHub_work").out)
    assert gh == {
        "username": "alice",
        "password": "gh-s3cret-pass",
        "url": "https://github.com",
        "notes": "recovery codes: none",
        "api token": "ghp_customFieldValue",
    }
    assert cli("--batch", "get", "kp/root_entry", "--field", "password", "-n").out == "rootpw-kdbx"
    meta = json.loads(cli("--batch", "--json", "list", "--filter", "GitHub_work-2").out)[0]
    assert meta["description"] == "GitHub (work)"
    listed = json.loads(
        cli("--batch", "--json", "list", "--filter", "kp/Web_Sites/GitHub_work").out
    )
    assert listed[0]["tags"] == {"work": "", "code": ""}
    assert "recycled-value" not in cli("--batch", "export", "--format", "json").out


def test_import_kdbx_wrong_password_or_missing_one(cli, kdbx: Path, tmp_path: Path):
    pw = tmp_path / "bad.txt"
    pw.write_text("nope")
    r = cli("--batch", "import", str(kdbx), "--password-file", str(pw))
    assert r.code == EXIT_WRONG_KEY and "KeePass" in r.err
    r = cli("--batch", "import", str(kdbx))  # no terminal, no password file
    assert r.code == EXIT_USAGE and "--password-file" in r.err
    not_kdbx = tmp_path / "fake.kdbx"
    not_kdbx.write_bytes(b"not a database")
    r = cli("--batch", "import", str(not_kdbx), "--password-file", str(pw))
    assert r.code == EXIT_INTEGRITY and "not a KeePass database" in r.err


def test_import_keepassxc_csv(cli):
    r = cli("--batch", "--json", "import", str(DATA / "keepassxc-export.csv"))
    assert r.code == 0, r.err
    assert sorted(json.loads(r.out)["created"]) == [
        "Web_Sites/Dev/db_main",
        "Web_Sites/GitHub_work",
        "root_entry",
    ]
    gh = json.loads(cli("--batch", "get", "Web_Sites/GitHub_work").out)
    assert gh == {
        "username": "alice",
        "password": "gh-s3cret-pass",
        "url": "https://github.com",
        "notes": "line1\nline2",
    }
    pw = cli("--batch", "get", "Web_Sites/Dev/db_main", "--field", "password", "-n").out
    assert pw == 'p"a,ss-csv'


def test_import_kdbx_with_a_hostile_kdf_is_refused_at_once_with_exit_5(
    cli, kdbx: Path, tmp_path: Path
):
    """A header asking for 2**40 Argon2 iterations would hang pykeepass forever."""
    import struct
    import time

    data = bytearray(kdbx.read_bytes())
    pos = 12
    while data[pos] != 11:  # the KDF parameters field of the KDBX 4 header
        pos += 5 + struct.unpack_from("<I", data, pos + 1)[0]
    at = data.index(b"\x01\x00\x00\x00I", pos) + 5  # the "I" (iterations) entry
    data[at + 4 : at + 12] = struct.pack("<Q", 2**40)
    kdbx.write_bytes(bytes(data))
    pw = tmp_path / "pw.txt"
    pw.write_text(FIXTURE_PASSWORD)
    start = time.monotonic()
    r = cli("--batch", "import", str(kdbx), "--password-file", str(pw))
    assert time.monotonic() - start < 1.0
    assert r.code == EXIT_INTEGRITY and "Argon2 time cost" in r.err, r.err
    assert "unexpected" not in r.err.lower() and "Traceback" not in r.err
