"""The vault file's SQL schema, and the check that a file has exactly it.

A vault file may come from anywhere (a synced folder, a backup, a merge partner, a USB
copy), and SQLite runs what a file's schema says: a trigger fires on our own writes, a
view or an altered table (a dropped UNIQUE, an extra column with a default) changes
what our queries see. So every connection vaultui opens to such a file sets
``trusted_schema=OFF`` (:func:`harden`: SQL functions with side effects cannot run from
the schema), and before anything is read the file's ``sqlite_master`` must list exactly
the tables and indexes below, no trigger and no view (:func:`check_schema`), else
``IntegrityError``.
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Any

from core.errors import IntegrityError

SCHEMA = """
CREATE TABLE header(key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE key_slots(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL,
                       wrapped BLOB NOT NULL);
CREATE TABLE state(id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,
                   digest BLOB NOT NULL, mac BLOB NOT NULL);
CREATE TABLE records(rid INTEGER PRIMARY KEY, uid BLOB NOT NULL UNIQUE,
                     name_hash BLOB NOT NULL UNIQUE, rev INTEGER NOT NULL,
                     seq INTEGER NOT NULL, deleted INTEGER NOT NULL,
                     name_ct BLOB NOT NULL, meta BLOB NOT NULL, cur INTEGER NOT NULL);
CREATE INDEX records_by_seq ON records(seq);
CREATE TABLE versions(uid BLOB NOT NULL, version INTEGER NOT NULL, value BLOB NOT NULL,
                      info BLOB NOT NULL, PRIMARY KEY(uid, version)) WITHOUT ROWID;
CREATE TABLE purged(uid BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE local_state(key TEXT PRIMARY KEY, value BLOB NOT NULL);
"""

_MASTER = "SELECT type, name, tbl_name, sql FROM {db}.sqlite_master"
Entry = tuple[str, str, str, str]


def harden(conn: sqlite3.Connection) -> None:
    """Make ``conn`` distrust the schema of every file it opens or attaches."""
    conn.execute("PRAGMA trusted_schema=OFF")
    if conn.execute("PRAGMA trusted_schema").fetchone()[0] != 0:  # pragma: no cover
        raise IntegrityError("This SQLite cannot distrust a file's schema (needs 3.31+)")


def _normal(row: tuple[Any, ...]) -> Entry:
    kind, name, table, sql = row
    return (str(kind), str(name), str(table), " ".join(str(sql or "").split()))


@functools.cache
def expected() -> frozenset[Entry]:
    """The ``sqlite_master`` entries of a vault file (whitespace in the SQL folded)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(SCHEMA)
        return frozenset(map(_normal, conn.execute(_MASTER.format(db="main"))))
    finally:
        conn.close()


def check_schema(
    conn: sqlite3.Connection, *, db: str = "main", what: str = "The vault file"
) -> None:
    """Raise IntegrityError unless database ``db`` of ``conn`` has exactly the vault
    schema: no extra trigger, view, table or index, none missing or altered. The message
    names the objects (schema names hold no secrets)."""
    found = frozenset(map(_normal, conn.execute(_MASTER.format(db=db))))
    want = expected()
    if found == want:
        return
    extra = sorted(f"{kind} {name}" for kind, name, _t, _s in found - want)
    missing = sorted(f"{kind} {name}" for kind, name, _t, _s in want - found)
    parts = []
    if extra:
        parts.append("unexpected or altered: " + ", ".join(extra))
    if missing:
        parts.append("missing or altered: " + ", ".join(missing))
    raise IntegrityError(f"{what} does not have the vault schema ({'; '.join(parts)})")
