"""Regenerate the KeePass fixtures: ``python -m tests.batch.data.make_fixtures``.

- ``empty-lowkdf.kdbx``: an empty KDBX 4 database made by pykeepass with a cheap
  Argon2 (2 passes, 1 MiB), password ``fixture``; tests open it and add entries, so a
  KDBX test costs milliseconds instead of KeePass's ~1 s default key derivation.
- ``keepassxc-export.csv``: what KeePassXC 2.7's ``keepassxc-cli export --format csv``
  writes for a database with groups, quotes, commas and a multi-line note.

Needs pykeepass and keepassxc-cli; takes ~10 s (pykeepass's blank template has an
expensive key derivation).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
PASSWORD = "fixture"


def make_empty() -> Path:
    from pykeepass import PyKeePass
    from pykeepass.pykeepass import BLANK_DATABASE_LOCATION, BLANK_DATABASE_PASSWORD

    db = PyKeePass(BLANK_DATABASE_LOCATION, BLANK_DATABASE_PASSWORD)
    kdf = db.kdbx.header.value.dynamic_header.kdf_parameters.data.dict
    kdf["I"].value, kdf["M"].value, kdf["P"].value = 2, 1024 * 1024, 1
    out = HERE / "empty-lowkdf.kdbx"
    db.filename, db.password = str(out), PASSWORD
    db.save()
    return out


def make_csv(empty: Path) -> Path:
    from pykeepass import PyKeePass

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "db.kdbx"
        db = PyKeePass(str(empty), password=PASSWORD)
        web = db.add_group(db.root_group, "Web Sites")
        dev = db.add_group(web, "Dev")
        db.add_entry(
            web,
            "GitHub (work)",
            "alice",
            "gh-s3cret-pass",
            url="https://github.com",
            notes="line1\nline2",
        )
        db.add_entry(dev, "db/main", "dbuser", 'p"a,ss-csv')
        db.add_entry(db.root_group, "root entry", "", "rootpw-csv")
        db.save(str(path))
        result = subprocess.run(
            ["keepassxc-cli", "export", "--format", "csv", str(path)],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            check=True,
        )
    out = HERE / "keepassxc-export.csv"
    out.write_text(result.stdout)
    return out


if __name__ == "__main__":
    print(make_csv(make_empty()))
