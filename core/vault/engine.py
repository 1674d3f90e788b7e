"""The vault file at the row level: the one module that ``Vault`` (``store.py``), the
batched reads and writes (``bulk.py``), the staged rotation, rename and rekey code and
the sync primitives (``sync_access.py``) share.

An :class:`Engine` owns the SQLite connection, the data key's subkeys, the thread lock
and the running state of a write transaction (change sequence and record-set digest).
Its methods keep the file's invariants: every ciphertext is sealed with associated data
that binds it to its place (:class:`Aads`), every row added or removed is folded into
the digest (``digest.py``), a read from a file another process changed is checked in
full first (:meth:`Engine.checked`), and writes join (or open) one ``BEGIN IMMEDIATE``
transaction. Nothing here knows the public API's arguments; ``store.py`` does.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import sqlite3
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from core.errors import IntegrityError, StorageError
from core.vault.codec import compact_json
from core.vault.crypto import KeyedHash, Sealer, aad, hkdf, mac
from core.vault.digest import Digest, RowDigests, check_file
from core.vault.metadata import Metadata, decode_array, record_from_array
from core.vault.records import SecretRecord
from core.vault.schema import harden

_T = TypeVar("_T")
_Q1 = struct.Struct(">q").pack
_Q3 = struct.Struct(">qqq").pack

# The columns of a record row, in the order every reader of ``records`` expects.
REC_COLS = "uid, name_hash, rev, seq, deleted, meta, name_ct"


@contextlib.contextmanager
def sql_errors(action: str) -> Iterator[None]:
    """Translate SQLite errors into core errors (no raw sqlite3 exception escapes)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        if "disk is full" in text or "disk i/o" in text:
            raise StorageError(f"Cannot {action}: the disk is full or failing") from None
        if "locked" in text or "busy" in text:
            raise StorageError(
                f"Cannot {action}: the vault is busy (another process holds the lock)"
            ) from None
        if "readonly" in text or "read-only" in text:
            raise StorageError(f"Cannot {action}: the vault file is read-only") from None
        if "unable to open" in text:
            raise StorageError(
                f"Cannot {action}: the vault file cannot be opened",
                hint="check that you own the vault file and its folder and can read them",
            ) from None
        raise IntegrityError(f"Cannot {action}: the vault file is damaged ({exc})") from None
    except sqlite3.DatabaseError as exc:
        raise IntegrityError(f"Cannot {action}: the vault file is damaged ({exc})") from None
    except UnicodeDecodeError:
        # text SQLite keeps in the file (the schema, a header value) no longer decodes
        raise IntegrityError(f"Cannot {action}: the vault file is damaged (bad text)") from None


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the vault file at ``path`` with the vault's settings."""
    with sql_errors("open the vault file"):
        conn = sqlite3.connect(
            str(path), timeout=30.0, isolation_level=None, check_same_thread=False
        )
        try:
            # Per-connection settings; none of them writes to the file.
            # EXTRA, not FULL: in rollback-journal (DELETE) mode a commit is the journal's
            # unlink, and FULL leaves that unlink unsynced, so a power cut right after a
            # commit can resurrect the journal and roll the acknowledged write back.
            # EXTRA also fdatasyncs the folder after the unlink (5 syncs per write, not 4).
            conn.execute("PRAGMA synchronous=EXTRA")
            conn.execute("PRAGMA secure_delete=ON")
            # 64 MiB page cache (default 2 MiB): random lookups in a 100,000-secret file
            # otherwise miss the cache on most reads
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA foreign_keys=OFF")
            harden(conn)  # the file may come from anywhere (see schema.py)
        except sqlite3.Error:
            conn.close()
            raise
    return conn


def ct_eq(a: bytes, b: bytes) -> bool:
    """Constant-time equality of two byte strings."""
    return hmac.compare_digest(bytes(a), bytes(b))


def edge(blob: bytes) -> bytes:
    """Nonce and tag of a sealed blob (its first 12 and last 16 bytes)."""
    return bytes(blob[:12]) + bytes(blob[-16:])


class DataKeys:
    """The subkeys of the data key, one per purpose."""

    def __init__(self, data_key: bytes) -> None:
        self.data_key = data_key
        self.sealer = Sealer(hkdf(data_key, b"vaultui/records"))
        self.name = KeyedHash(hkdf(data_key, b"vaultui/name-hash"))
        self.digest = KeyedHash(hkdf(data_key, b"vaultui/row-digest"))  # format 1 (old files)
        self.rows = RowDigests(data_key)
        self.header = hkdf(data_key, b"vaultui/header-mac")

    def __repr__(self) -> str:
        return "DataKeys(<hidden>)"


def header_mac(
    keys: DataKeys, header: dict[str, bytes], slots: list[tuple[str, str, bytes]]
) -> bytes:
    """The MAC over the header rows and the key slots as stored."""
    parts: list[bytes] = []
    for key in sorted(k for k in header if k != "header_mac"):
        parts += [key.encode(), bytes(header[key])]
    for kind, params, wrapped in slots:
        parts += [kind.encode(), params.encode(), bytes(wrapped)]
    return mac(keys.header, b"header", *parts)


def write_header_mac(engine: Engine) -> None:
    """Store the MAC of the header and key slots as they are now (inside a write)."""
    conn = engine.conn
    header = dict(conn.execute("SELECT key, value FROM header"))
    slots = list(conn.execute("SELECT kind, params, wrapped FROM key_slots ORDER BY id"))
    value = header_mac(engine.keys, header, slots)
    conn.execute("INSERT OR REPLACE INTO header VALUES ('header_mac', ?)", (value,))


class Aads:
    """The associated data of each kind of ciphertext of one vault.

    A fixed prefix (purpose + vault id) then fixed-width fields, so the encoding is
    unambiguous without per-field length prefixes (uid: 16 bytes, name hash: 32 bytes;
    a row with other lengths simply fails authentication). A damaged file can hand back
    a column of the wrong SQLite type (text for a blob, real for an integer): that is
    tampering too, an IntegrityError, never a TypeError.
    """

    def __init__(self, vault_id: bytes) -> None:
        self._meta = aad(b"vaultui/meta", vault_id)
        self.name_prefix = aad(b"vaultui/name", vault_id)
        self._value = aad(b"vaultui/value", vault_id)
        self._info = aad(b"vaultui/info", vault_id)

    def meta(self, uid: bytes, rev: int, seq: int, deleted: int, nh: bytes) -> bytes:
        """Of a record's metadata: bound to its uid, revision, seq, tombstone and name."""
        try:
            return self._meta + _Q3(rev, seq, deleted) + uid + nh
        except (struct.error, TypeError):
            raise IntegrityError("A vault record row is damaged (wrong column type)") from None

    def name(self, uid: bytes, nh: bytes) -> bytes:
        """Of a record's name: bound to its uid and name hash."""
        try:
            return self.name_prefix + uid + nh
        except TypeError:
            raise IntegrityError("A vault record row is damaged (wrong column type)") from None

    def value(self, uid: bytes, version: int) -> bytes:
        """Of a value: bound to its record and version."""
        try:
            return self._value + _Q1(version) + uid
        except (struct.error, TypeError):
            raise IntegrityError("A vault value row is damaged (wrong column type)") from None

    def info(self, uid: bytes, version: int) -> bytes:
        """Of a history entry: bound to its record and version."""
        try:
            return self._info + _Q1(version) + uid
        except (struct.error, TypeError):
            raise IntegrityError("A vault history row is damaged (wrong column type)") from None


class Engine:
    """One open connection to a vault file, with its keys, lock and write state.

    Thread-safe through :attr:`lock` (re-entrant): every method that touches the
    connection takes it, or is called inside :meth:`transaction` or :meth:`checked`.
    """

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        vault_id: bytes,
        keys: DataKeys,
        device_id: str,
    ) -> None:
        self.path = path
        self.conn = conn
        self.vault_id = vault_id
        self.keys = keys
        self.device_id = device_id
        self.aads = Aads(vault_id)
        self.lock = threading.RLock()
        self.tx_depth = 0
        self.tx_digest: Digest | None = None
        self.tx_seq: int | None = None
        self.checked_version: int | None = None  # PRAGMA data_version last checked

    def __repr__(self) -> str:
        return f"Engine({str(self.path)!r})"

    # ------------------------------------------------------------------ state

    def read_state(self) -> tuple[int, bytes]:
        """The change sequence and the stored record-set digest, their MAC checked."""
        with sql_errors("read the vault state"):
            row = self.conn.execute("SELECT seq, digest, mac FROM state WHERE id = 1").fetchone()
        if row is None:
            raise IntegrityError("The vault state row is missing")
        seq, digest, tag = row
        if not ct_eq(mac(self.keys.header, b"state", str(seq).encode(), bytes(digest)), tag):
            raise IntegrityError("The vault state (change sequence) was modified")
        return int(seq), bytes(digest)

    def store_state(self, seq: int, digest: bytes) -> None:
        """Write the change sequence and digest with their MAC (inside a write)."""
        tag = mac(self.keys.header, b"state", str(seq).encode(), digest)
        self.conn.execute(
            "UPDATE state SET seq = ?, digest = ?, mac = ? WHERE id = 1", (seq, digest, tag)
        )

    def next_seq(self) -> int:
        """The next change sequence number (inside a write)."""
        assert self.tx_seq is not None
        self.tx_seq += 1
        return self.tx_seq

    def fold(self, value: int, records: int = 0, versions: int = 0, purged: int = 0) -> None:
        """Add rows to (or, negative, remove them from) the running digest."""
        assert self.tx_digest is not None
        self.tx_digest = self.tx_digest.plus(value, records, versions, purged)

    def _migrate_digest(self, seq: int, stored: bytes) -> Digest:
        """A format-1 file's first write: check its XOR digest, then replace it (once,
        O(n)) by the format-2 digest that the write goes on to update."""
        check_file(self.conn, self.keys.rows, self.keys.digest, seq, stored)
        return self.keys.rows.scan(self.conn)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic, durable write (all or nothing); nested use joins the outer one."""
        with self.lock:
            if self.tx_depth:
                self.tx_depth += 1
                try:
                    yield
                finally:
                    self.tx_depth -= 1
                return
            with sql_errors("start a write"):
                self.conn.execute("BEGIN IMMEDIATE")
            self.tx_depth = 1
            try:
                seq, stored = self.read_state()
                digest = Digest.decode(stored) or self._migrate_digest(seq, stored)
                self.tx_seq, self.tx_digest = seq, digest
                with sql_errors("write to the vault"):  # e.g. a replayed row breaks a UNIQUE key
                    yield
                if self.tx_seq != seq or self.tx_digest.encode() != stored:
                    self.store_state(self.tx_seq, self.tx_digest.encode())
                with sql_errors("commit a write"):
                    self.conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise
            finally:
                self.tx_depth = 0
                self.tx_seq = self.tx_digest = None

    @contextlib.contextmanager
    def read_transaction(self) -> Iterator[sqlite3.Connection]:
        """One read transaction on the connection (joins an open write one)."""
        with self.lock:
            # only under the lock: another thread's transaction holds it meanwhile
            own = not self.conn.in_transaction  # a write, or a checked read
            if own:
                self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                if own:
                    self.conn.execute("COMMIT")

    def check_file(self) -> None:
        """Check every row against the authenticated state (see ``digest.py``) and
        remember which version of the file was checked."""
        with self.lock:
            with sql_errors("check the vault file"):
                own = not self.conn.in_transaction  # else: inside a write of ours
                if own:
                    self.conn.execute("BEGIN")
                try:
                    seq, stored = self.read_state()
                    if self.tx_digest is not None and self.tx_seq is not None:
                        # our own uncommitted rows are in the file: the running digest
                        seq, stored = self.tx_seq, self.tx_digest.encode()
                    _digest, version = check_file(
                        self.conn, self.keys.rows, self.keys.digest, seq, stored
                    )
                finally:
                    if own:
                        self.conn.execute("COMMIT")
            self.checked_version = version

    def checked(self, read: Callable[[], _T]) -> _T:
        """``read()``, from a file checked since it last changed on disk.

        ``PRAGMA data_version`` changes when another connection (another process, a
        file-sync tool, an attacker) commits; then the file is checked in full and read
        again. The read, the question and the check share one read transaction, so no
        writer can commit in between (and the file lock is taken once, not per
        statement: a get costs about 2 us more than without the question).
        """
        conn = self.conn
        with self.lock:
            own = not conn.in_transaction  # else: inside a write of ours
            try:
                if own:
                    conn.execute("BEGIN")
                result = read()
                if conn.execute("PRAGMA data_version").fetchone()[0] != self.checked_version:
                    self.check_file()
                    result = read()
                return result
            except sqlite3.Error as exc:
                with sql_errors("read a secret"):  # the hot path pays for no context manager
                    raise exc from None
            finally:
                if own:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("COMMIT")

    # ------------------------------------------------------------------ row codecs

    def name_hash(self, name: str) -> bytes:
        """The keyed lookup hash of ``name`` (equal in every copy of the vault)."""
        return self.keys.name(name.encode())

    def open_meta_array(self, row: tuple[Any, ...]) -> list[Any]:
        """The decrypted metadata array of a record row (``REC_COLS`` order)."""
        uid, nh, rev, seq, deleted, meta = row[:6]
        plain = self.keys.sealer.open(meta, self.aads.meta(uid, rev, seq, deleted, nh), "record")
        return decode_array(plain)

    def open_meta(self, row: tuple[Any, ...]) -> Metadata:
        """The decrypted :class:`Metadata` of a record row (``REC_COLS`` order)."""
        return Metadata.from_array(self.open_meta_array(row), row[0], row[2], row[3], row[4])

    def fast_record(self, row: tuple[Any, ...]) -> SecretRecord:
        """A record straight from a row (the listing hot path)."""
        return record_from_array(self.open_meta_array(row), row)

    def open_name(self, row: tuple[Any, ...]) -> str:
        """The decrypted name of a record row (``REC_COLS`` order)."""
        return self.keys.sealer.open(row[6], self.aads.name(row[0], row[1]), "name").decode()

    def open_info(self, uid: bytes, version: int, info: bytes) -> dict[str, Any]:
        """A decrypted history entry."""
        plain = self.keys.sealer.open(info, self.aads.info(uid, version), "history entry")
        try:
            entry: dict[str, Any] = json.loads(plain)
            return entry
        except ValueError:
            raise IntegrityError("A history entry is malformed") from None

    def open_value(self, uid: bytes, version: int, value: bytes) -> bytes:
        """A decrypted (encoded) value."""
        return self.keys.sealer.open(value, self.aads.value(uid, version), "value")

    # ------------------------------------------------------------------ row reads

    def row_by_name(self, name: str) -> tuple[Any, ...] | None:
        """The record row (``REC_COLS``) filed under ``name``'s hash, or None."""
        nh = self.name_hash(name)
        with sql_errors("read a secret"):
            row: tuple[Any, ...] | None = self.conn.execute(
                f"SELECT {REC_COLS} FROM records WHERE name_hash = ?", (nh,)
            ).fetchone()
            return row

    def row_by_uid(self, uid: bytes) -> tuple[Any, ...] | None:
        """The record row (``REC_COLS``) of ``uid``, or None."""
        row: tuple[Any, ...] | None = self.conn.execute(
            f"SELECT {REC_COLS} FROM records WHERE uid = ?", (uid,)
        ).fetchone()
        return row

    def meta_and_row(self, name: str) -> tuple[Metadata | None, tuple[Any, ...] | None]:
        """The metadata of ``name`` and its row, (None, None) if absent; IntegrityError
        if the row found is another secret's (swapped rows)."""
        row = self.row_by_name(name)
        if row is None:
            return None, None
        meta = self.open_meta(row)
        if meta.name != name:
            raise IntegrityError("A vault record is filed under another name (swapped rows)")
        return meta, row

    def meta_by_name(self, name: str) -> Metadata | None:
        """The metadata of ``name`` (tombstones included), or None."""
        return self.meta_and_row(name)[0]

    def read_value(self, uid: bytes, version: int) -> bytes:
        """The encoded value of a version; IntegrityError if its row is missing."""
        with sql_errors("read a secret value"):
            row = self.conn.execute(
                "SELECT value FROM versions WHERE uid = ? AND version = ?", (uid, version)
            ).fetchone()
        if row is None:
            raise IntegrityError("A secret's value row is missing from the vault file")
        return self.open_value(uid, version, row[0])

    def read_info(self, uid: bytes, version: int) -> dict[str, Any]:
        """The history entry of a version that exists."""
        row = self.conn.execute(
            "SELECT info FROM versions WHERE uid = ? AND version = ?", (uid, version)
        ).fetchone()
        return self.open_info(uid, version, row[0])

    def version_exists(self, uid: bytes, version: int) -> bool:
        """Whether a version row exists (nothing decrypted)."""
        with sql_errors("read a secret"):
            return (
                self.conn.execute(
                    "SELECT 1 FROM versions WHERE uid = ? AND version = ?", (uid, version)
                ).fetchone()
                is not None
            )

    # ------------------------------------------------------------------ row writes
    # All of these run inside :meth:`transaction`.

    def write_record(
        self, meta: Metadata, old_row: tuple[Any, ...] | None, name: str, *, is_new: bool
    ) -> SecretRecord:
        """Store ``meta`` for ``name`` as a new revision, folding the digest."""
        uid = meta.uid
        nh = self.name_hash(name)
        rev = (meta.rev + 1) if not is_new else 1
        seq = self.next_seq()
        deleted = int(meta.deleted)
        meta_ct = self.keys.sealer.seal(meta.encode(), self.aads.meta(uid, rev, seq, deleted, nh))
        rows = self.keys.rows
        if is_new:
            name_ct = self.keys.sealer.seal(name.encode(), self.aads.name(uid, nh))
            self.conn.execute(
                "INSERT INTO records(uid, name_hash, rev, seq, deleted, name_ct, meta, cur) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (uid, nh, rev, seq, deleted, name_ct, meta_ct, meta.version),
            )
            self.fold(rows.record(meta_ct), records=1)
        else:
            assert old_row is not None
            self.fold(rows.record(meta_ct) - rows.record(old_row[5]))
            self.conn.execute(
                "UPDATE records SET rev = ?, seq = ?, deleted = ?, meta = ?, cur = ? WHERE uid = ?",
                (rev, seq, deleted, meta_ct, meta.version, uid),
            )
        meta.rev, meta.seq = rev, seq
        return meta.to_record()

    def write_version(self, uid: bytes, version: int, encoded: bytes, info: dict[str, Any]) -> None:
        """Add a version row (value and history entry), folding the digest."""
        value_ct = self.keys.sealer.seal(encoded, self.aads.value(uid, version))
        info_ct = self.keys.sealer.seal(compact_json(info), self.aads.info(uid, version))
        self.conn.execute(
            "INSERT INTO versions(uid, version, value, info) VALUES (?, ?, ?, ?)",
            (uid, version, value_ct, info_ct),
        )
        self.fold(self.keys.rows.version(value_ct, info_ct), versions=1)

    def delete_version(self, uid: bytes, version: int) -> None:
        """Remove a version row if it exists, folding the digest."""
        row = self.conn.execute(
            "SELECT value, info FROM versions WHERE uid = ? AND version = ?", (uid, version)
        ).fetchone()
        if row is not None:
            self.fold(-self.keys.rows.version(row[0], row[1]), versions=-1)
            self.conn.execute("DELETE FROM versions WHERE uid = ? AND version = ?", (uid, version))

    def drop_row(self, row: tuple[Any, ...]) -> None:
        """Remove a record row and its versions, leaving a purge marker."""
        uid = row[0]
        self.fold(-self.keys.rows.record(row[5]), records=-1)
        for (version,) in self.conn.execute(
            "SELECT version FROM versions WHERE uid = ?", (uid,)
        ).fetchall():
            self.delete_version(uid, version)
        self.conn.execute("DELETE FROM records WHERE uid = ?", (uid,))
        seq = self.next_seq()
        old = self.conn.execute("SELECT seq FROM purged WHERE uid = ?", (uid,)).fetchone()
        if old:
            self.fold(-self.keys.rows.purged(uid, old[0]), purged=-1)
        self.conn.execute("INSERT OR REPLACE INTO purged VALUES (?, ?)", (uid, seq))
        self.fold(self.keys.rows.purged(uid, seq), purged=1)

    def verify_rows(self) -> dict[str, Any]:
        """Decrypt and check every row, the indexes and the record-set digest (see
        ``Vault.verify``); counts of records and versions and the change sequence."""
        conn = self.conn
        with self.lock:
            with sql_errors("verify the vault"):
                conn.execute("BEGIN")
            try:
                seq, digest = self.read_state()
                with sql_errors("verify the vault"):
                    # integrity_check, not quick_check: it also compares every index
                    # with its table. A damaged name index makes a lookup miss a secret
                    # that is there (like a deleted row, which the digest below catches).
                    check = conn.execute("PRAGMA integrity_check(1)").fetchone()[0]
                    if check != "ok":
                        raise IntegrityError(f"The vault file is damaged: {check}")
                    recs = conn.execute(f"SELECT {REC_COLS} FROM records").fetchall()
                    vers = conn.execute("SELECT uid, version, value, info FROM versions").fetchall()
                for row in recs:
                    meta = self.open_meta(row)
                    name = self.open_name(row)
                    if name != meta.name or not ct_eq(self.name_hash(name), row[1]):
                        raise IntegrityError("A vault record's name does not match its lookup hash")
                for uid, version, value, info in vers:
                    self.open_value(uid, version, value)
                    self.open_info(uid, version, info)
                with sql_errors("verify the vault"):
                    check_file(conn, self.keys.rows, self.keys.digest, seq, digest)
            finally:
                with sql_errors("verify the vault"):
                    conn.execute("COMMIT")
        return {"records": len(recs), "versions": len(vers), "seq": seq}


class EngineOwner(Protocol):
    """Anything that holds an :class:`Engine` (a ``Vault``): what the row-level
    functions of ``bulk.py`` and ``sync_access.py`` take."""

    @property
    def engine(self) -> Engine: ...
