"""The vault file: one SQLite database in rollback-journal mode.

Layout (every secret byte encrypted with AES-256-GCM, see ``crypto.py``)::

    header      format, vault id, creation time, header MAC
    key_slots   the data key wrapped per passphrase / key file (see ``keys.py``)
    state       change sequence + record-set digest, MAC'd
    records     uid, HMAC(name), rev, seq, deleted, enc(name), enc(metadata)
    versions    uid, version, enc(value), enc(who/when/why)      -- the history
    purged      uid, seq                                         -- purged tombstones
    local_state per-file bookkeeping of other parts (sync cursors, leases)

Every ciphertext is bound by associated data to the vault id, the record uid and its
revision/version, so moving, swapping or editing a row fails authentication
(``IntegrityError``). A row that was valid once (an older revision put back) still
authenticates: ``state.digest`` (``digest.py``), a sum of a keyed value per row plus row
counts, updated in O(1) per write, is checked against every row when the file is opened
and before a value is read after another process changed the file, so a replayed,
duplicated, deleted or inserted row is caught before any value is returned. The schema
is checked on open too (``schema.py``). Writes are single ``BEGIN IMMEDIATE`` transactions with
``synchronous=EXTRA``: durable on return (power loss included), isolated between
processes, O(log n).
Reads never write.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import json.scanner
import logging
import os
import sqlite3
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from core.controlchars import check_label, check_tags
from core.errors import (
    ConfigError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    StorageError,
    ValidationError,
    VaultError,
    WrongKeyError,
)
from core.private_file import check_own_file
from core.vault import bulk
from core.vault.codec import compact_json, decode_value, encode_value, type_of_encoded
from core.vault.crypto import KeyedHash, Sealer, aad, hkdf, mac, random_key
from core.vault.digest import Digest, RowDigests, check_file
from core.vault.gcpause import paused_gc
from core.vault.kdf_bounds import MAX_KEY_SLOTS, check_slot_count
from core.vault.keys import Argon2Params, KeySlot, KeySource, make_slot, unwrap
from core.vault.names import validate_name
from core.vault.records import Secret, SecretRecord, VersionInfo, from_ts, utcnow
from core.vault.schema import SCHEMA as _SCHEMA
from core.vault.schema import check_schema, harden

log = logging.getLogger(__name__)
# Record metadata is stored as a JSON array in this order (parsing an array is ~2x
# faster than an object, which matters when listing 100,000 records).
_META_KEYS = ("n", "t", "d", "g", "c", "u", "x", "v", "mv", "s", "st", "r", "e", "dev")
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]
_Q1 = struct.Struct(">q").pack
_T = TypeVar("_T")


def _edge(blob: bytes) -> bytes:
    """Nonce and tag of a sealed blob (its first 12 and last 16 bytes)."""
    return bytes(blob[:12]) + bytes(blob[-16:])


_Q3 = struct.Struct(">qqq").pack

FORMAT = "vaultui-vault/1"
STAGES = ("CURRENT", "PREVIOUS", "PENDING")
_DIGEST_ZERO = Digest().encode()


@contextlib.contextmanager
def _sql(action: str) -> Iterator[None]:
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


def _connect(path: Path) -> sqlite3.Connection:
    with _sql("open the vault file"):
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


class _Keys:
    """The subkeys of the data key, one per purpose."""

    def __init__(self, data_key: bytes) -> None:
        self.data_key = data_key
        self.sealer = Sealer(hkdf(data_key, b"vaultui/records"))
        self.name = KeyedHash(hkdf(data_key, b"vaultui/name-hash"))
        self.digest = KeyedHash(hkdf(data_key, b"vaultui/row-digest"))  # format 1 (old files)
        self.rows = RowDigests(data_key)
        self.header = hkdf(data_key, b"vaultui/header-mac")

    def __repr__(self) -> str:
        return "_Keys(<hidden>)"


class Vault:
    """An open, unlocked vault file. Thread-safe; many processes may open one file.

    Create with :meth:`create`, open with :meth:`open`. See docs/VAULT_API.md.
    """

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        vault_id: bytes,
        keys: _Keys,
        key_source: KeySource,
        device_id: str,
    ) -> None:
        self.path = path
        self._conn = conn
        self.vault_id = vault_id
        self._keys = keys
        self.key_source = key_source
        self.device_id = device_id
        self._lock = threading.RLock()
        self._tx_depth = 0
        self._tx_digest: Digest | None = None
        self._checked_version: int | None = None  # PRAGMA data_version last checked
        self._tx_seq: int | None = None
        self._aad_meta = aad(b"vaultui/meta", vault_id)
        self._aad_name = aad(b"vaultui/name", vault_id)
        self._aad_value = aad(b"vaultui/value", vault_id)
        self._aad_info = aad(b"vaultui/info", vault_id)

    def __repr__(self) -> str:
        return f"Vault({str(self.path)!r}, id={self.vault_id_hex})"

    # ------------------------------------------------------------------ opening

    @classmethod
    def create(
        cls,
        path: Path | str,
        key_source: KeySource,
        *,
        kdf: Argon2Params | None = None,
        device_id: str | None = None,
        vault_id: bytes | None = None,
        data_key: bytes | None = None,
    ) -> Vault:
        """Create a new vault file at ``path`` (mode 0600) protected by ``key_source``.

        ``vault_id`` and ``data_key`` are given only when recreating a copy of an existing
        vault (sealed sync on a new machine); otherwise both are random.
        Raises ConfigError if the file already exists.
        """
        path = Path(path)
        if path.exists() and path.stat().st_size > 0:
            raise ConfigError(f"A vault already exists at {path}")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        check_own_file(path)  # an empty file that was already there: not a planted one
        vault_id = vault_id or os.urandom(16)
        data_key = data_key or random_key()
        keys = _Keys(data_key)
        conn = _connect(path)
        with _sql("create the vault"):
            conn.execute("PRAGMA journal_mode=DELETE")
            # executescript commits any open transaction first, so BEGIN inside it
            conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA)
            header = {
                "format": FORMAT.encode(),
                "vault_id": vault_id,
                "created_at": str(utcnow().timestamp()).encode(),
            }
            conn.executemany("INSERT INTO header VALUES (?, ?)", header.items())
            kind, params, wrapped = make_slot(vault_id, data_key, key_source, kdf)
            conn.execute(
                "INSERT INTO key_slots(kind, params, wrapped) VALUES (?, ?, ?)",
                (kind, params, wrapped),
            )
            conn.execute(
                "INSERT INTO state VALUES (1, 0, ?, ?)",
                (_DIGEST_ZERO, mac(keys.header, b"state", b"0", _DIGEST_ZERO)),
            )
            vault = cls(path, conn, vault_id, keys, key_source, device_id or _device_id(path))
            vault._write_header_mac()
            conn.execute("COMMIT")
        return vault

    @classmethod
    def open(
        cls, path: Path | str, key_source: KeySource, *, device_id: str | None = None
    ) -> Vault:
        """Open an existing vault. Raises NotFoundError, WrongKeyError or IntegrityError."""
        path = Path(path)
        if not path.exists():
            raise NotFoundError(f"No vault at {path}")
        conn = _connect(path)
        try:
            with _sql("open the vault"):
                conn.execute("BEGIN")
                try:
                    check_schema(conn, what=f"The vault file {path.name}")
                    header = dict(conn.execute("SELECT key, value FROM header"))
                    # one past the bound, so a file with a million slots reads 33
                    slot_rows = conn.execute(
                        "SELECT id, kind, params, wrapped FROM key_slots ORDER BY id LIMIT ?",
                        (MAX_KEY_SLOTS + 1,),
                    ).fetchall()
                    check_slot_count(len(slot_rows), where=f"The vault {path.name}")
                    slots = [KeySlot(i, k, json.loads(p), w) for i, k, p, w in slot_rows]
                finally:
                    conn.execute("COMMIT")
            if header.get("format") != FORMAT.encode():
                raise IntegrityError(f"{path} is not a vaultui vault (unknown format)")
            vault_id = bytes(header["vault_id"])
            if key_source.kind == "data_key":
                data_key = key_source.secret
            else:
                data_key = unwrap(vault_id, slots, key_source)
            keys = _Keys(data_key)
            vault = cls(path, conn, vault_id, keys, key_source, device_id or _device_id(path))
            try:
                # the MAC covers the slots' stored text, not a re-serialisation of it
                vault._check_header_mac(header, [(k, p, w) for _i, k, p, w in slot_rows])
            except IntegrityError:
                if key_source.kind == "data_key":
                    raise WrongKeyError("The unlock agent holds the key of another vault") from None
                raise
            vault._check_file()  # before any value is returned from it
            return vault
        except (VaultError, ValueError, KeyError, TypeError) as exc:
            conn.close()
            if isinstance(exc, VaultError):
                raise
            raise IntegrityError(f"The vault header of {path} is damaged") from None

    @staticmethod
    def slot_kinds(path: Path | str) -> list[str]:
        """The kinds of key slot a vault file has ('passphrase', 'keyfile'), without a key.

        Lets a caller decide whether to prompt for a passphrase. Opens the file read-only.
        """
        path = Path(path)
        if not path.exists():
            raise NotFoundError(f"No vault at {path}")
        with _sql("read the vault's key slots"):
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
            try:
                harden(conn)
                check_schema(conn, what=f"The vault file {path.name}")
                return [k for (k,) in conn.execute("SELECT kind FROM key_slots ORDER BY id")]
            finally:
                conn.close()

    def close(self) -> None:
        """Close the file. The object cannot be used afterwards."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ header

    def _header_mac(self, header: dict[str, bytes], slots: list[tuple[str, str, bytes]]) -> bytes:
        parts: list[bytes] = []
        for key in sorted(k for k in header if k != "header_mac"):
            parts += [key.encode(), bytes(header[key])]
        for kind, params, wrapped in slots:
            parts += [kind.encode(), params.encode(), bytes(wrapped)]
        return mac(self._keys.header, b"header", *parts)

    def _write_header_mac(self) -> None:
        header = dict(self._conn.execute("SELECT key, value FROM header"))
        slots = list(self._conn.execute("SELECT kind, params, wrapped FROM key_slots ORDER BY id"))
        value = self._header_mac(header, slots)
        self._conn.execute("INSERT OR REPLACE INTO header VALUES ('header_mac', ?)", (value,))

    def _check_header_mac(
        self, header: dict[str, bytes], slot_rows: list[tuple[str, str, bytes]]
    ) -> None:
        expected = self._header_mac(header, slot_rows)
        if not _ct_eq(expected, bytes(header.get("header_mac", b""))):
            raise IntegrityError("The vault header or its key slots were modified")

    @property
    def vault_id_hex(self) -> str:
        return self.vault_id.hex()

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte subkey of the data key for ``purpose`` (e.g. 'audit', 'backup');
        for the purposes a rekey keeps stable, the key it carried over (carried.py)."""
        from core.vault.carried import carried_key

        with self._lock, _sql("read the vault header"):
            kept = carried_key(self, purpose)
        return kept or hkdf(self._keys.data_key, b"vaultui/purpose/" + purpose.encode())

    def data_key_for_agent(self) -> bytes:
        """The raw data key, for handing to the unlock agent over its private socket."""
        return self._keys.data_key

    # ------------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Vault]:
        """Group writes into one atomic, durable transaction (all or nothing).

        Nested use joins the outer transaction.
        """
        with self._lock:
            if self._tx_depth:
                self._tx_depth += 1
                try:
                    yield self
                finally:
                    self._tx_depth -= 1
                return
            with _sql("start a write"):
                self._conn.execute("BEGIN IMMEDIATE")
            self._tx_depth = 1
            try:
                seq, stored = self._read_state()
                digest = Digest.decode(stored) or self._migrate_digest(seq, stored)
                self._tx_seq, self._tx_digest = seq, digest
                with _sql("write to the vault"):  # e.g. a replayed row breaks a UNIQUE key
                    yield self
                if self._tx_seq != seq or self._tx_digest.encode() != stored:
                    self._store_state(self._tx_seq, self._tx_digest.encode())
                with _sql("commit a write"):
                    self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise
            finally:
                self._tx_depth = 0
                self._tx_seq = self._tx_digest = None

    def _read_state(self) -> tuple[int, bytes]:
        with _sql("read the vault state"):
            row = self._conn.execute("SELECT seq, digest, mac FROM state WHERE id = 1").fetchone()
        if row is None:
            raise IntegrityError("The vault state row is missing")
        seq, digest, tag = row
        if not _ct_eq(mac(self._keys.header, b"state", str(seq).encode(), bytes(digest)), tag):
            raise IntegrityError("The vault state (change sequence) was modified")
        return int(seq), bytes(digest)

    def _store_state(self, seq: int, digest: bytes) -> None:
        tag = mac(self._keys.header, b"state", str(seq).encode(), digest)
        self._conn.execute(
            "UPDATE state SET seq = ?, digest = ?, mac = ? WHERE id = 1", (seq, digest, tag)
        )

    def _next_seq(self) -> int:
        assert self._tx_seq is not None
        self._tx_seq += 1
        return self._tx_seq

    def _fold(self, value: int, records: int = 0, versions: int = 0, purged: int = 0) -> None:
        """Add rows to (or, negative, remove them from) the running digest."""
        assert self._tx_digest is not None
        self._tx_digest = self._tx_digest.plus(value, records, versions, purged)

    def _migrate_digest(self, seq: int, stored: bytes) -> Digest:
        """A format-1 file's first write: check its XOR digest, then replace it (once,
        O(n)) by the format-2 digest that the write goes on to update."""
        check_file(self._conn, self._keys.rows, self._keys.digest, seq, stored)
        return self._keys.rows.scan(self._conn)

    def _check_file(self) -> None:
        """Check every row against the authenticated state (see ``digest.py``) and
        remember which version of the file was checked."""
        with self._lock:
            with _sql("check the vault file"):
                own = not self._conn.in_transaction  # else: inside a write of ours
                if own:
                    self._conn.execute("BEGIN")
                try:
                    seq, stored = self._read_state()
                    if self._tx_digest is not None and self._tx_seq is not None:
                        # our own uncommitted rows are in the file: the running digest
                        seq, stored = self._tx_seq, self._tx_digest.encode()
                    _digest, version = check_file(
                        self._conn, self._keys.rows, self._keys.digest, seq, stored
                    )
                finally:
                    if own:
                        self._conn.execute("COMMIT")
            self._checked_version = version

    def _checked(self, read: Callable[[], _T]) -> _T:
        """``read()``, from a file checked since it last changed on disk.

        ``PRAGMA data_version`` changes when another connection (another process, a
        file-sync tool, an attacker) commits; then the file is checked in full and read
        again. The read, the question and the check share one read transaction, so no
        writer can commit in between (and the file lock is taken once, not per
        statement: a get costs about 2 us more than without the question).
        """
        conn = self._conn
        with self._lock:
            own = not conn.in_transaction  # else: inside a write of ours
            try:
                if own:
                    conn.execute("BEGIN")
                result = read()
                if conn.execute("PRAGMA data_version").fetchone()[0] != self._checked_version:
                    self._check_file()
                    result = read()
                return result
            except sqlite3.Error as exc:
                with _sql("read a secret"):  # the hot path pays for no context manager
                    raise exc from None
            finally:
                if own:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("COMMIT")

    @property
    def seq(self) -> int:
        """The current change sequence (monotonic; every write bumps it)."""
        with self._lock:
            return self._read_state()[0]

    # ------------------------------------------------------------------ row codecs

    def _name_hash(self, name: str) -> bytes:
        return self._keys.name(name.encode())

    # Associated data: a fixed prefix (purpose + vault id) then fixed-width fields, so
    # the encoding is unambiguous without per-field length prefixes (uid: 16 bytes,
    # name hash: 32 bytes; a row with other lengths simply fails authentication).
    # A damaged file can hand back a column of the wrong SQLite type (text for a blob,
    # real for an integer): that is tampering too, never a TypeError.
    def _meta_aad(self, uid: bytes, rev: int, seq: int, deleted: int, nh: bytes) -> bytes:
        try:
            return self._aad_meta + _Q3(rev, seq, deleted) + uid + nh
        except (struct.error, TypeError):
            raise IntegrityError("A vault record row is damaged (wrong column type)") from None

    def _name_aad(self, uid: bytes, nh: bytes) -> bytes:
        try:
            return self._aad_name + uid + nh
        except TypeError:
            raise IntegrityError("A vault record row is damaged (wrong column type)") from None

    def _value_aad(self, uid: bytes, version: int) -> bytes:
        try:
            return self._aad_value + _Q1(version) + uid
        except (struct.error, TypeError):
            raise IntegrityError("A vault value row is damaged (wrong column type)") from None

    def _info_aad(self, uid: bytes, version: int) -> bytes:
        try:
            return self._aad_info + _Q1(version) + uid
        except (struct.error, TypeError):
            raise IntegrityError("A vault history row is damaged (wrong column type)") from None

    def _open_meta_list(self, row: tuple) -> list[Any]:
        uid, nh, rev, seq, deleted, meta = row[:6]
        plain = self._keys.sealer.open(meta, self._meta_aad(uid, rev, seq, deleted, nh), "record")
        try:
            data = _SCAN(plain.decode(), 0)[0]
        except (ValueError, StopIteration, UnicodeDecodeError):
            data = None
        if not isinstance(data, list) or len(data) != len(_META_KEYS):
            raise IntegrityError("A vault record holds malformed metadata")
        return data

    def _open_meta(self, row: tuple) -> dict[str, Any]:
        """Metadata as a dict keyed like _META_KEYS, plus _uid/_rev/_seq/_del."""
        m = dict(zip(_META_KEYS, self._open_meta_list(row), strict=True))
        m["_uid"], m["_rev"], m["_seq"], m["_del"] = row[0], row[2], row[3], row[4]
        return m

    def _fast_record(self, row: tuple) -> SecretRecord:
        """A record straight from a row (the listing hot path)."""
        n, t, d, g, c, u, x, v, mv, s, st, r, e, dev = self._open_meta_list(row)
        try:
            return SecretRecord(
                n,
                row[0].hex(),
                row[2],
                v,
                row[3],
                bool(row[4]),
                t,
                d,
                g or {},
                c,
                u,
                x,
                r or {},
                e or {},
                st or {},
                s,
                mv,
                dev,
            )
        except (TypeError, AttributeError):
            raise IntegrityError("A vault record holds malformed metadata") from None

    @staticmethod
    def _to_record(m: dict[str, Any]) -> SecretRecord:
        g = m.get
        try:
            return SecretRecord(
                m["n"],
                m["_uid"].hex(),
                m["_rev"],
                m["v"],
                m["_seq"],
                bool(m["_del"]),
                m["t"],
                g("d") or "",
                g("g") or {},
                g("c"),
                g("u"),
                g("x"),
                g("r") or {},
                g("e") or {},
                g("st") or {},
                g("s") or 0,
                g("mv") or m["v"],
                g("dev") or "",
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise IntegrityError("A vault record holds malformed metadata") from None

    _REC_COLS = "uid, name_hash, rev, seq, deleted, meta, name_ct"

    def _row_by_name(self, name: str) -> tuple | None:
        nh = self._name_hash(name)
        with _sql("read a secret"):
            row = self._conn.execute(
                f"SELECT {self._REC_COLS} FROM records WHERE name_hash = ?", (nh,)
            ).fetchone()
        return row

    def _meta_by_name(self, name: str) -> dict[str, Any] | None:
        row = self._row_by_name(name)
        if row is None:
            return None
        m = self._open_meta(row)
        if m.get("n") != name:
            raise IntegrityError("A vault record is filed under another name (swapped rows)")
        return m

    def _read_value(self, uid: bytes, version: int) -> bytes:
        with _sql("read a secret value"):
            row = self._conn.execute(
                "SELECT value FROM versions WHERE uid = ? AND version = ?", (uid, version)
            ).fetchone()
        if row is None:
            raise IntegrityError("A secret's value row is missing from the vault file")
        return self._keys.sealer.open(row[0], self._value_aad(uid, version), "value")

    # ------------------------------------------------------------------ reads

    def record(self, name: str, *, include_deleted: bool = False) -> SecretRecord | None:
        """Metadata of ``name`` (no value decrypted), or None if absent or deleted."""
        validate_name(name)
        with self._lock:
            m = self._meta_by_name(name)
        if m is None or (m["_del"] and not include_deleted):
            return None
        return self._to_record(m)

    def get(
        self, name: str, *, version: int | None = None, stage: str | None = None
    ) -> Secret | None:
        """The value of ``name`` (CURRENT, a ``stage`` or a ``version``), or None if absent.

        A deleted secret returns None. An unknown version or empty stage raises NotFoundError.
        A file changed on disk since it was last checked is checked in full first
        (IntegrityError for a replayed, deleted or added row).
        """
        if version is None and stage is None:
            return self._checked(lambda: self._get_current(validate_name(name)))
        return self._checked(lambda: self._get(name, version=version, stage=stage))

    def _get(
        self,
        name: str,
        *,
        version: int | None = None,
        stage: str | None = None,
        _again: bool = False,
    ) -> Secret | None:
        validate_name(name)
        if version is None and stage is None:
            return self._get_current(name)
        validate_name(name)
        with self._lock:
            # No read transaction: version rows are immutable once written, so the value
            # of the version the metadata names is still there after a concurrent write.
            m = self._meta_by_name(name)
            if m is None or m["_del"]:
                return None
            record = self._to_record(m)
            if version is None:
                wanted = record.stage_version(stage or "CURRENT")
                if wanted is None:
                    raise NotFoundError(f"Secret {name!r} has no {(stage or '').upper()} version")
            else:
                wanted = int(version)
                if wanted < 1 or wanted > record.max_version:
                    raise NotFoundError(f"Secret {name!r} has no version {wanted}")
            try:
                data = self._read_value(m["_uid"], wanted)
            except IntegrityError:
                if not self._version_exists(m["_uid"], wanted):
                    if version is not None:
                        raise NotFoundError(f"Secret {name!r} has no version {wanted}") from None
                    # purged or rotated away between our two reads: read again, once
                    if not _again:
                        return self._get(name, stage=stage, _again=True)
                raise
        return Secret(decode_value(data), record, wanted)

    def _get_current(self, name: str) -> Secret | None:
        """CURRENT value in one query (the hot path: records joined to its version row)."""
        nh = self._name_hash(name)
        with self._lock:
            try:
                row = self._conn.execute(
                    "SELECT r.uid, r.name_hash, r.rev, r.seq, r.deleted, r.meta, r.name_ct, "
                    "r.cur, v.value FROM records r LEFT JOIN versions v "
                    "ON v.uid = r.uid AND v.version = r.cur WHERE r.name_hash = ?",
                    (nh,),
                ).fetchone()
            except sqlite3.DatabaseError:
                row = None
                with _sql("read a secret"):
                    raise
        if row is None or row[4]:
            return None
        record = self._fast_record(row)
        if record.name != name or record.version != row[7] or row[8] is None:
            if record.name != name:
                raise IntegrityError("A vault record is filed under another name (swapped rows)")
            return self._get(name, stage="CURRENT", _again=True)  # changed meanwhile, or damaged
        data = self._keys.sealer.open(row[8], self._value_aad(row[0], record.version), "value")
        return Secret(decode_value(data), record, record.version)

    def _version_exists(self, uid: bytes, version: int) -> bool:
        with _sql("read a secret"):
            return (
                self._conn.execute(
                    "SELECT 1 FROM versions WHERE uid = ? AND version = ?", (uid, version)
                ).fetchone()
                is not None
            )

    def exists(self, name: str) -> bool:
        """True if ``name`` is a live (not deleted) secret."""
        return self.record(name) is not None

    def list(self, *, include_deleted: bool = False) -> list[SecretRecord]:
        """Every secret's metadata, sorted by name."""
        with self._lock, _sql("list secrets"):
            rows = self._conn.execute(f"SELECT {self._REC_COLS} FROM records").fetchall()
        fast = self._fast_record
        with paused_gc():
            out = [fast(row) for row in rows if include_deleted or not row[4]]
        out.sort(key=lambda r: r.name)
        return out

    def names(self, *, include_deleted: bool = False) -> list[str]:
        """Every secret's name, sorted (decrypts only the names)."""
        with self._lock, _sql("list secret names"):
            rows = self._conn.execute(
                "SELECT uid, name_hash, name_ct, deleted FROM records"
            ).fetchall()
        names = self._keys.sealer.open_many(
            [
                (nct, self._aad_name + uid + nh)
                for uid, nh, nct, deleted in rows
                if include_deleted or not deleted
            ],
            "name",
        )
        names = [n.decode() for n in names]
        names.sort()
        return names

    def count(self) -> int:
        """The number of live secrets."""
        with self._lock, _sql("count secrets"):
            return self._conn.execute("SELECT count(*) FROM records WHERE deleted = 0").fetchone()[
                0
            ]

    def history(self, name: str) -> list[VersionInfo]:
        """Every stored version of ``name``, oldest first (deleted secrets included)."""
        validate_name(name)
        with self._lock:
            m = self._meta_by_name(name)
            if m is None:
                raise NotFoundError(f"Secret {name!r} does not exist")
            uid = m["_uid"]
            with _sql("read history"):
                rows = self._conn.execute(
                    "SELECT version, info FROM versions WHERE uid = ? ORDER BY version", (uid,)
                ).fetchall()
        stages = {v: s for s, v in (m.get("st") or {}).items()}
        stages[m["v"]] = "CURRENT"
        out = []
        for version, info in rows:
            i = self._open_info(uid, version, info)
            out.append(
                VersionInfo(
                    version=version,
                    created_at=from_ts(i.get("at")),
                    who=i.get("who", ""),
                    why=i.get("why", ""),
                    source=i.get("src", ""),
                    device=i.get("dev", ""),
                    type=i.get("t", ""),
                    size=i.get("s", 0),
                    stage=stages.get(version),
                )
            )
        return out

    def _open_info(self, uid: bytes, version: int, info: bytes) -> dict[str, Any]:
        plain = self._keys.sealer.open(info, self._info_aad(uid, version), "history entry")
        try:
            return json.loads(plain)
        except ValueError:
            raise IntegrityError("A history entry is malformed") from None

    def history_values(self, name: str) -> list[tuple[VersionInfo, Any]]:
        """Every version of ``name`` with its decrypted value, oldest first."""
        return self._checked(lambda: self._history_values(name))

    def _history_values(self, name: str) -> list[tuple[VersionInfo, Any]]:
        infos = self.history(name)
        m = self._meta_by_name(name)
        assert m is not None
        with self._lock:
            return [(i, decode_value(self._read_value(m["_uid"], i.version))) for i in infos]

    def changes_since(self, seq: int) -> list[SecretRecord]:
        """Records (tombstones included) changed after change sequence ``seq``, by seq.

        Uses the ``seq`` index: cost proportional to the number of changes, not the vault.
        """
        with self._lock, _sql("read changes"):
            rows = self._conn.execute(
                f"SELECT {self._REC_COLS} FROM records WHERE seq > ? ORDER BY seq", (seq,)
            ).fetchall()
        return [self._fast_record(r) for r in rows]

    def purged_since(self, seq: int) -> list[tuple[str, int]]:
        """(uid hex, seq) of records purged after ``seq``."""
        with self._lock, _sql("read changes"):
            rows = self._conn.execute(
                "SELECT uid, seq FROM purged WHERE seq > ? ORDER BY seq", (seq,)
            ).fetchall()
        return [(bytes(u).hex(), s) for u, s in rows]

    # ------------------------------------------------------------------ bulk reads

    META_KEYS = _META_KEYS
    """The order of the fields of a record's metadata array (see :meth:`record_metas`):
    name, type, description, tags, created, updated, deleted, version, max version,
    size, stages, rotation, extra, device."""

    def export_records(self, since_seq: int = 0) -> bulk.RecordExport:
        """Every record changed after ``since_seq`` (all when 0), tombstones included,
        with every stored version decrypted, the purges after ``since_seq`` and the key
        slots, read in one transaction (consistent with the returned ``seq``).

        For backups: 100,000 records with their history in about a second, where a
        ``history_values`` call per name takes several. Raises IntegrityError if any row
        fails authentication.
        """
        return self._checked(lambda: bulk.export_records(self, since_seq))

    def record_metas(self) -> list[bulk.RecordMeta]:
        """Every record (tombstones included) with its decrypted metadata array, in
        one read: what a restore compares a backup against."""
        return bulk.record_metas(self)

    def encoded_values(self, wanted: Iterable[tuple[bytes, int]]) -> dict[tuple[bytes, int], bytes]:
        """The encoded values (see ``encode_value``) of (uid, version) pairs, decrypted
        in bulk; pairs that do not exist are left out."""
        wanted = list(wanted)
        return self._checked(lambda: bulk.encoded_values(self, wanted))

    def wrapped_key_slots(self) -> list[tuple[str, str, bytes]]:
        """The key slots as stored: (kind, params JSON text, wrapped data key).

        Nothing here unlocks the vault without a passphrase or key file: a backup stores
        these so that it can be restored with only what unlocks the vault.
        """
        with self._lock, _sql("read the key slots"):
            rows = self._conn.execute(
                "SELECT kind, params, wrapped FROM key_slots ORDER BY id"
            ).fetchall()
        return [(k, p, bytes(w)) for k, p, w in rows]

    # ------------------------------------------------------------------ writes

    def _write_record(
        self, m: dict[str, Any], old_row: tuple | None, name: str, *, is_new: bool
    ) -> SecretRecord:
        """Store metadata ``m`` for ``name`` as a new revision, folding the digest."""
        uid = m["_uid"]
        nh = self._name_hash(name)
        rev = (m["_rev"] + 1) if not is_new else 1
        seq = self._next_seq()
        deleted = int(m["_del"])
        body = [m.get(k) for k in _META_KEYS]
        meta_ct = self._keys.sealer.seal(
            compact_json(body),
            self._meta_aad(uid, rev, seq, deleted, nh),
        )
        if is_new:
            name_ct = self._keys.sealer.seal(name.encode(), self._name_aad(uid, nh))
            self._conn.execute(
                "INSERT INTO records(uid, name_hash, rev, seq, deleted, name_ct, meta, cur) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (uid, nh, rev, seq, deleted, name_ct, meta_ct, m["v"]),
            )
            self._fold(self._keys.rows.record(meta_ct), records=1)
        else:
            assert old_row is not None
            self._fold(self._keys.rows.record(meta_ct) - self._keys.rows.record(old_row[5]))
            self._conn.execute(
                "UPDATE records SET rev = ?, seq = ?, deleted = ?, meta = ?, cur = ? WHERE uid = ?",
                (rev, seq, deleted, meta_ct, m["v"], uid),
            )
        m.update(_rev=rev, _seq=seq)
        return self._to_record(m)

    def _write_version(
        self, uid: bytes, version: int, encoded: bytes, info: dict[str, Any]
    ) -> None:
        value_ct = self._keys.sealer.seal(encoded, self._value_aad(uid, version))
        info_ct = self._keys.sealer.seal(compact_json(info), self._info_aad(uid, version))
        self._conn.execute(
            "INSERT INTO versions(uid, version, value, info) VALUES (?, ?, ?, ?)",
            (uid, version, value_ct, info_ct),
        )
        self._fold(self._keys.rows.version(value_ct, info_ct), versions=1)

    def _delete_version(self, uid: bytes, version: int) -> None:
        row = self._conn.execute(
            "SELECT value, info FROM versions WHERE uid = ? AND version = ?", (uid, version)
        ).fetchone()
        if row is not None:
            self._fold(-self._keys.rows.version(row[0], row[1]), versions=-1)
            self._conn.execute("DELETE FROM versions WHERE uid = ? AND version = ?", (uid, version))

    def _info(
        self, encoded: bytes, who: str | None, why: str | None, source: str | None, at: float
    ) -> dict[str, Any]:
        return {
            "at": at,
            "who": who or "",
            "why": why or "",
            "src": source or "",
            "dev": self.device_id,
            "t": type_of_encoded(encoded),
            "s": len(encoded) - 1,
        }

    def _locked_meta(self, name: str) -> tuple[dict[str, Any] | None, tuple | None]:
        row = self._row_by_name(name)
        if row is None:
            return None, None
        m = self._open_meta(row)
        if m.get("n") != name:
            raise IntegrityError("A vault record is filed under another name (swapped rows)")
        return m, row

    @staticmethod
    def _check_expected(
        name: str, m: dict[str, Any] | None, expected_version: int | None, expected_rev: int | None
    ) -> None:
        if expected_version is not None:
            current = 0 if m is None or m["_del"] else m["v"]
            if current != expected_version:
                raise ConflictError(
                    f"Secret {name!r} is at version {current}, not {expected_version}: "
                    "it changed since you read it"
                )
        if expected_rev is not None:
            current = 0 if m is None else m["_rev"]
            if current != expected_rev:
                raise ConflictError(f"Secret {name!r} changed since you read it")

    def put(
        self,
        name: str,
        value: object,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        expected_version: int | None = None,
        who: str | None = None,
        why: str | None = None,
        source: str | None = None,
        rotation: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> SecretRecord:
        """Store a new version of ``name`` (creating or undeleting it) durably.

        ``expected_version`` makes it a check-and-set: ConflictError unless the current
        version is exactly that (0 = must not exist). ``description``/``tags`` of None keep
        the existing ones.
        """
        validate_name(name)
        encoded = encode_value(value)
        tags = _clean_tags(tags)
        now = (at or utcnow()).timestamp()
        with self.transaction():
            m, row = self._locked_meta(name)
            self._check_expected(name, m, expected_version, None)
            is_new = m is None
            if m is None:
                m = self._new_meta(name, now)
            version = self._advance(
                m,
                is_new,
                encoded,
                now,
                description=description,
                tags=tags,
                rotation=rotation,
                extra=extra,
            )
            self._write_version(
                m["_uid"], version, encoded, self._info(encoded, who, why, source, now)
            )
            return self._write_record(m, row, name, is_new=is_new)

    def put_many(self, items: Iterable[Any]) -> int:
        """Store many secrets in one durable transaction; returns how many were stored.

        ``items`` are ``(name, value)`` or ``(name, value, options)`` where options are
        :meth:`put`'s keyword arguments (``description``, ``tags``, ``expected_version``,
        ``who``, ``why``, ``source``, ``rotation``, ``extra``, ``at``). The effect is
        exactly that of calling :meth:`put` for each item in order inside one
        :meth:`transaction`: all are stored or none (a bad name, a bad value or a failed
        check-and-set anywhere writes nothing). Several times faster per item than
        :meth:`put`, for imports, restores and recovery of many secrets.
        """
        return bulk.put_many(self, items)

    @staticmethod
    def _set_fields(
        m: dict[str, Any],
        description: str | None,
        tags: dict[str, str] | None,
        rotation: dict[str, Any] | None,
        extra: dict[str, Any] | None,
    ) -> None:
        """Set the given metadata fields of ``m`` (None leaves a field as it is)."""
        if description is not None:
            m["d"] = check_label(str(description), "description")
        if tags is not None:
            m["g"] = check_tags(tags)
        if rotation is not None:
            m["r"] = rotation
        if extra is not None:
            m["e"] = extra

    @staticmethod
    def _new_meta(name: str, now: float) -> dict[str, Any]:
        """Metadata of a record about to get its first version."""
        return {
            "_uid": os.urandom(16),
            "_rev": 0,
            "_seq": 0,
            "_del": 0,
            "n": name,
            "c": now,
            "mv": 0,
        }

    def _advance(
        self,
        m: dict[str, Any],
        is_new: bool,
        encoded: bytes,
        now: float,
        *,
        description: str | None,
        tags: dict[str, str] | None,
        rotation: dict[str, Any] | None,
        extra: dict[str, Any] | None,
    ) -> int:
        """Update metadata ``m`` in place for a new version of ``encoded``; its number.

        The one place that says what a put does to a record (:meth:`put` and
        :meth:`put_many` both use it).
        """
        previous = None if is_new else m.get("v")
        version = int(m.get("mv", m.get("v", 0)) or 0) + 1
        m.update(
            v=version,
            mv=version,
            t=type_of_encoded(encoded),
            s=len(encoded) - 1,
            u=now,
            dev=self.device_id,
            _del=0,
        )
        m.pop("x", None)
        self._set_fields(m, description, tags, rotation, extra)
        m.setdefault("d", "")
        st = dict(m.get("st") or {})
        if previous:
            st["PREVIOUS"] = previous
        m["st"] = st
        return version

    def update_meta(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        rotation: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        expected_rev: int | None = None,
    ) -> SecretRecord:
        """Change metadata only (no new value version); bumps ``rev`` and ``seq``."""
        validate_name(name)
        tags = _clean_tags(tags)
        with self.transaction():
            m, row = self._locked_meta(name)
            if m is None or m["_del"]:
                raise NotFoundError(f"Secret {name!r} does not exist")
            self._check_expected(name, m, None, expected_rev)
            self._set_fields(m, description, tags, rotation, extra)
            return self._write_record(m, row, name, is_new=False)

    def delete(
        self,
        name: str,
        *,
        expected_version: int | None = None,
        who: str | None = None,
        why: str | None = None,
    ) -> SecretRecord:
        """Tombstone ``name``: reads return None, history stays, :meth:`undelete` undoes it."""
        validate_name(name)
        with self.transaction():
            m, row = self._locked_meta(name)
            if m is None or m["_del"]:
                raise NotFoundError(f"Secret {name!r} does not exist")
            self._check_expected(name, m, expected_version, None)
            m["_del"] = 1
            m["x"] = utcnow().timestamp()
            m["dev"] = self.device_id
            return self._write_record(m, row, name, is_new=False)

    def undelete(self, name: str) -> SecretRecord:
        """Bring back a deleted (not purged) secret with its last value."""
        validate_name(name)
        with self.transaction():
            m, row = self._locked_meta(name)
            if m is None:
                raise NotFoundError(f"Secret {name!r} was never stored or has been purged")
            if not m["_del"]:
                raise ValidationError(f"Secret {name!r} is not deleted")
            m["_del"] = 0
            m.pop("x", None)
            m["u"] = utcnow().timestamp()
            m["dev"] = self.device_id
            return self._write_record(m, row, name, is_new=False)

    def purge(self, name: str) -> None:
        """Erase a secret and its history for good (secure_delete overwrites the pages)."""
        validate_name(name)
        with self.transaction():
            m, row = self._locked_meta(name)
            if m is None:
                raise NotFoundError(f"Secret {name!r} does not exist")
            assert row is not None
            self._drop_row(row)

    def _drop_row(self, row: tuple) -> None:
        """Remove a record row and its versions, leaving a purge marker (in a transaction)."""
        uid = row[0]
        self._fold(-self._keys.rows.record(row[5]), records=-1)
        for (version,) in self._conn.execute(
            "SELECT version FROM versions WHERE uid = ?", (uid,)
        ).fetchall():
            self._delete_version(uid, version)
        self._conn.execute("DELETE FROM records WHERE uid = ?", (uid,))
        seq = self._next_seq()
        old = self._conn.execute("SELECT seq FROM purged WHERE uid = ?", (uid,)).fetchone()
        if old:
            self._fold(-self._keys.rows.purged(uid, old[0]), purged=-1)
        self._conn.execute("INSERT OR REPLACE INTO purged VALUES (?, ?)", (uid, seq))
        self._fold(self._keys.rows.purged(uid, seq), purged=1)

    def rollback(
        self,
        name: str,
        version: int,
        *,
        who: str | None = None,
        why: str | None = None,
        source: str | None = None,
    ) -> SecretRecord:
        """Make the value of ``version`` current again, as a new version."""
        old = self.get(name, version=version)
        if old is None:
            raise NotFoundError(f"Secret {name!r} does not exist")
        return self.put(
            name, old.value, who=who, why=why or f"rollback to version {version}", source=source
        )

    # ------------------------------------------------------------------ staged rotation

    def stage_pending(
        self,
        name: str,
        value: object,
        *,
        who: str | None = None,
        why: str | None = None,
        source: str | None = None,
    ) -> int:
        """Write ``value`` as the PENDING version (replacing an older PENDING); returns it."""
        validate_name(name)
        encoded = encode_value(value)
        now = utcnow().timestamp()
        with self.transaction():
            m, row = self._locked_meta(name)
            if m is None or m["_del"]:
                raise NotFoundError(f"Secret {name!r} does not exist")
            st = dict(m.get("st") or {})
            if "PENDING" in st:
                self._delete_version(m["_uid"], st["PENDING"])
            version = int(m.get("mv", m["v"])) + 1
            self._write_version(
                m["_uid"], version, encoded, self._info(encoded, who, why, source, now)
            )
            st["PENDING"] = version
            m["st"], m["mv"] = st, version
            self._write_record(m, row, name, is_new=False)
            return version

    def promote_pending(self, name: str, *, expected_version: int | None = None) -> SecretRecord:
        """PENDING becomes CURRENT and the old CURRENT becomes PREVIOUS, atomically."""
        validate_name(name)
        with self.transaction():
            m, row = self._locked_meta(name)
            if m is None or m["_del"]:
                raise NotFoundError(f"Secret {name!r} does not exist")
            self._check_expected(name, m, expected_version, None)
            st = dict(m.get("st") or {})
            if "PENDING" not in st:
                raise NotFoundError(f"Secret {name!r} has no PENDING version")
            pending = st.pop("PENDING")
            st["PREVIOUS"] = m["v"]
            info = self._open_info(
                m["_uid"],
                pending,
                self._conn.execute(
                    "SELECT info FROM versions WHERE uid = ? AND version = ?", (m["_uid"], pending)
                ).fetchone()[0],
            )
            m.update(
                v=pending,
                st=st,
                u=utcnow().timestamp(),
                t=info.get("t", m["t"]),
                s=info.get("s", 0),
                dev=self.device_id,
            )
            return self._write_record(m, row, name, is_new=False)

    def discard_pending(self, name: str) -> None:
        """Remove a PENDING version (a failed rotation); CURRENT is untouched."""
        validate_name(name)
        with self.transaction():
            m, row = self._locked_meta(name)
            if m is None:
                return
            st = dict(m.get("st") or {})
            if "PENDING" not in st:
                return
            self._delete_version(m["_uid"], st.pop("PENDING"))
            m["st"] = st
            m["mv"] = max(m["v"], max(st.values(), default=0))
            self._write_record(m, row, name, is_new=False)

    # ------------------------------------------------------------------ keys

    def key_slots(self) -> list[dict[str, Any]]:
        """The key slots: id, kind and label (no key material)."""
        with self._lock, _sql("read key slots"):
            rows = self._conn.execute(
                "SELECT id, kind, params FROM key_slots ORDER BY id"
            ).fetchall()
        return [{"id": i, "kind": k, "label": json.loads(p).get("label", "")} for i, k, p in rows]

    def add_key_slot(self, source: KeySource, *, kdf: Argon2Params | None = None) -> int:
        """Add a way to open the vault (another passphrase, a key file); returns slot id."""
        kind, params, wrapped = make_slot(self.vault_id, self._keys.data_key, source, kdf)
        with self.transaction():
            n = self._conn.execute("SELECT count(*) FROM key_slots").fetchone()[0]
            if n >= MAX_KEY_SLOTS:
                raise ValidationError(
                    f"A vault holds at most {MAX_KEY_SLOTS} key slots: remove one first"
                )
            cur = self._conn.execute(
                "INSERT INTO key_slots(kind, params, wrapped) VALUES (?, ?, ?)",
                (kind, params, wrapped),
            )
            self._write_header_mac()
            return int(cur.lastrowid or 0)

    def remove_key_slot(self, slot_id: int) -> None:
        """Remove a key slot; refuses to remove the last one."""
        with self.transaction():
            n = self._conn.execute("SELECT count(*) FROM key_slots").fetchone()[0]
            if n <= 1:
                raise ValidationError(
                    "Cannot remove the last key slot: the vault would be unopenable"
                )
            cur = self._conn.execute("DELETE FROM key_slots WHERE id = ?", (slot_id,))
            if cur.rowcount == 0:
                raise NotFoundError(f"No key slot {slot_id}")
            self._write_header_mac()

    def change_passphrase(
        self, old: KeySource, new: KeySource, *, kdf: Argon2Params | None = None
    ) -> None:
        """Replace the slot that ``old`` opens with one for ``new``. Rewraps the data key only."""
        with self._lock:
            with _sql("read key slots"):
                rows = self._conn.execute(
                    "SELECT id, kind, params, wrapped FROM key_slots ORDER BY id"
                ).fetchall()
            slots = [KeySlot(i, k, json.loads(p), w) for i, k, p, w in rows]
            for slot in slots:
                if slot.kind != old.kind:
                    continue
                try:
                    unwrap(self.vault_id, [slot], old)
                except WrongKeyError:
                    continue
                kind, params, wrapped = make_slot(self.vault_id, self._keys.data_key, new, kdf)
                with self.transaction():
                    self._conn.execute(
                        "UPDATE key_slots SET kind = ?, params = ?, wrapped = ? WHERE id = ?",
                        (kind, params, wrapped, slot.slot_id),
                    )
                    self._write_header_mac()
                self.key_source = new
                return
            raise WrongKeyError("The current passphrase or key is wrong: nothing was changed")

    # ------------------------------------------------------------------ local state

    def get_local(self, key: str) -> bytes | None:
        """Sealed per-file bookkeeping (sync cursors, leases), decrypted; None if unset."""
        with self._lock, _sql("read local state"):
            row = self._conn.execute(
                "SELECT value FROM local_state WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        return self._keys.sealer.open(row[0], aad(b"local", self.vault_id, key), "local state")

    def set_local(self, key: str, value: bytes | None) -> None:
        """Set (or with None, clear) a sealed bookkeeping entry; joins a transaction."""
        with self.transaction():
            if value is None:
                self._conn.execute("DELETE FROM local_state WHERE key = ?", (key,))
            else:
                ct = self._keys.sealer.seal(value, aad(b"local", self.vault_id, key))
                self._conn.execute("INSERT OR REPLACE INTO local_state VALUES (?, ?)", (key, ct))

    # ------------------------------------------------------------------ verification

    def verify(self) -> dict[str, Any]:
        """Check every row and the record-set digest; raise IntegrityError on any damage.

        Returns counts on success. Catches edited, swapped, replayed, deleted or inserted
        rows that a single lookup cannot see.
        """
        with self._lock:
            with _sql("verify the vault"):
                self._conn.execute("BEGIN")
            try:
                seq, digest = self._read_state()
                with _sql("verify the vault"):
                    # integrity_check, not quick_check: it also compares every index
                    # with its table. A damaged name index makes a lookup miss a secret
                    # that is there (like a deleted row, which the digest below catches).
                    check = self._conn.execute("PRAGMA integrity_check(1)").fetchone()[0]
                    if check != "ok":
                        raise IntegrityError(f"The vault file is damaged: {check}")
                    recs = self._conn.execute(f"SELECT {self._REC_COLS} FROM records").fetchall()
                    vers = self._conn.execute(
                        "SELECT uid, version, value, info FROM versions"
                    ).fetchall()
                for uid, nh, rev, rseq, deleted, meta, nct in recs:
                    m = self._open_meta((uid, nh, rev, rseq, deleted, meta, nct))
                    name = self._keys.sealer.open(nct, self._name_aad(uid, nh), "name").decode()
                    if name != m.get("n") or not _ct_eq(self._name_hash(name), nh):
                        raise IntegrityError("A vault record's name does not match its lookup hash")
                for uid, version, value, info in vers:
                    self._keys.sealer.open(value, self._value_aad(uid, version), "value")
                    self._open_info(uid, version, info)
                with _sql("verify the vault"):
                    check_file(self._conn, self._keys.rows, self._keys.digest, seq, digest)
            finally:
                with _sql("verify the vault"):
                    self._conn.execute("COMMIT")
        return {"records": len(recs), "versions": len(vers), "seq": seq}


def _clean_tags(tags: dict[str, str] | list[str] | None) -> dict[str, str] | None:
    if tags is None:
        return None
    if isinstance(tags, list | tuple | set):
        return {str(t): "" for t in tags}
    if not isinstance(tags, dict):
        raise ValidationError("Tags must be a dict of key -> value (or a list of labels)")
    return {str(k): "" if v is None else str(v) for k, v in tags.items()}


def _ct_eq(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(bytes(a), bytes(b))


def _device_id(vault_path: Path) -> str:
    """This home's device id, kept beside the vault file (not inside: copies differ)."""
    path = vault_path.parent / "device.id"
    try:
        return path.read_text().strip() or _new_device_id(path)
    except FileNotFoundError:
        return _new_device_id(path)
    except OSError:
        return "unknown-device"


def _new_device_id(path: Path) -> str:
    value = base64.b32encode(os.urandom(10)).decode().lower().rstrip("=")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip() or value
    except OSError:
        return value
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


# --- sync primitives (core/sync) ---
# Raw record access for core.sync (vault-file merge and sealed sync), kept apart from the
# public API above. Each function keeps the file's invariants: every ciphertext is sealed
# with the same associated data as _write_record/_write_version, every added or removed
# row is folded into the record-set digest, and writes join (or open) one transaction.


def sync_rows(vault: Vault) -> dict[bytes, tuple[bytes, bytes, int]]:
    """uid -> (name hash, nonce+tag of the metadata ciphertext, deleted) for every record.

    Nothing is decrypted. Two copies of one vault share name hashes; a record whose
    metadata ciphertext is byte-identical in both copies is the same revision.
    """
    with vault._lock, _sql("list records"):
        rows = vault._conn.execute("SELECT uid, name_hash, meta, deleted FROM records").fetchall()
    return {bytes(uid): (bytes(nh), _edge(meta), deleted) for uid, nh, meta, deleted in rows}


def sync_name_hash(vault: Vault, name: str) -> bytes:
    """The keyed lookup hash of ``name`` (equal in every copy of the vault)."""
    return vault._name_hash(name)


def sync_read(vault: Vault, uids: list[bytes]) -> list[dict[str, Any]]:
    """Decrypt whole records: metadata plus every version with its history entry.

    Returns one dict per uid found (missing uids are skipped): ``uid`` (bytes),
    ``name``, ``rev``, ``seq``, ``deleted`` (bool), ``meta`` (the stored metadata keyed
    like _META_KEYS) and ``versions``: a list of ``(version, info dict, encoded value)``
    in version order, PENDING included.
    """
    return vault._checked(lambda: _sync_read(vault, uids))


def _sync_read(vault: Vault, uids: list[bytes]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with vault._lock, _sql("read records"):
        for uid in uids:
            row = vault._conn.execute(
                f"SELECT {Vault._REC_COLS} FROM records WHERE uid = ?", (uid,)
            ).fetchone()
            if row is None:
                continue
            m = vault._open_meta(row)
            name = vault._keys.sealer.open(row[6], vault._name_aad(row[0], row[1]), "name")
            if name.decode() != m.get("n") or not _ct_eq(vault._name_hash(m["n"]), row[1]):
                raise IntegrityError("A vault record's name does not match its lookup hash")
            versions = []
            for version, value, info in vault._conn.execute(
                "SELECT version, value, info FROM versions WHERE uid = ? ORDER BY version",
                (uid,),
            ).fetchall():
                encoded = vault._keys.sealer.open(value, vault._value_aad(uid, version), "value")
                versions.append((version, vault._open_info(uid, version, info), encoded))
            meta = {k: m.get(k) for k in _META_KEYS}
            out.append(
                {
                    "uid": bytes(uid),
                    "name": m["n"],
                    "rev": m["_rev"],
                    "seq": m["_seq"],
                    "deleted": bool(m["_del"]),
                    "meta": meta,
                    "versions": versions,
                }
            )
    return out


def sync_drop(vault: Vault, uid: bytes) -> None:
    """Remove record ``uid`` and its versions as a purge does (listed in purged_since)."""
    with vault.transaction():
        row = vault._conn.execute(
            f"SELECT {Vault._REC_COLS} FROM records WHERE uid = ?", (uid,)
        ).fetchone()
        if row is None:
            return
        vault._drop_row(row)


def sync_write(
    vault: Vault,
    uid: bytes,
    name: str,
    meta: dict[str, Any],
    new_versions: list[tuple[int, dict[str, Any], bytes]],
    *,
    deleted: bool,
    expected_rev: int,
    drop_uids: tuple[bytes, ...] = (),
) -> SecretRecord:
    """Write record ``uid`` exactly as given (a merge result), atomically.

    ``meta`` holds the stored metadata keys (``t d g c u x v mv s st r e dev``; ``n`` is
    ``name``). ``new_versions`` are ``(version, info, encoded value)`` rows to add; they
    must not exist yet. ``expected_rev`` is the revision the caller read (0: the record
    must not exist), else ConflictError. ``drop_uids`` are removed first (another uid
    that held the same name). Bumps ``rev`` and ``seq`` like any write.
    """
    validate_name(name)
    with vault.transaction():
        for other in drop_uids:
            if other != uid:
                sync_drop(vault, other)
        row = vault._conn.execute(
            f"SELECT {Vault._REC_COLS} FROM records WHERE uid = ?", (uid,)
        ).fetchone()
        current_rev = 0 if row is None else row[2]
        if current_rev != expected_rev:
            raise ConflictError(f"Secret {name!r} changed while it was being merged")
        if row is not None:
            old = vault._open_meta(row)
            if old.get("n") != name:
                raise ValidationError("A record's name cannot change in a merge")
        clash = vault._conn.execute(
            "SELECT uid FROM records WHERE name_hash = ?", (vault._name_hash(name),)
        ).fetchone()
        if clash is not None and bytes(clash[0]) != uid:
            raise ConflictError(f"Secret {name!r} exists under another record id")
        for version, info, encoded in new_versions:
            if vault._version_exists(uid, version):
                raise ConflictError(f"Secret {name!r} already has a version {version}")
            vault._write_version(uid, version, encoded, info)
        m: dict[str, Any] = {k: meta.get(k) for k in _META_KEYS}
        m["n"] = name
        if not vault._version_exists(uid, int(m["v"])):
            raise ValidationError(f"Secret {name!r}: the current version row is missing")
        m.update(_uid=uid, _rev=current_rev, _seq=0 if row is None else row[3])
        m["_del"] = 1 if deleted else 0
        return vault._write_record(m, row, name, is_new=row is None)


def sync_key_slots(vault: Vault) -> list[tuple[str, str, bytes]]:
    """The raw key slots (kind, params JSON, wrapped data key), as stored."""
    with vault._lock, _sql("read key slots"):
        rows = vault._conn.execute(
            "SELECT kind, params, wrapped FROM key_slots ORDER BY id"
        ).fetchall()
    return [(k, p, bytes(w)) for k, p, w in rows]


def sync_diff(vault: Vault, other_path: Path | str) -> tuple[list[tuple[bytes, bytes | None]], int]:
    """Records of the vault file at ``other_path`` that differ from ``vault``'s.

    Returns ``[(other uid, local uid or None)]`` (the local record with the same uid,
    else with the same name) for every record whose metadata ciphertext is not
    byte-identical here, and the number of identical ones. Compared inside SQLite on
    a separate read-only connection (nothing decrypted, nothing written).
    """
    from urllib.parse import quote

    def uri(path: Path | str) -> str:
        return f"file:{quote(str(Path(path).resolve()))}?mode=ro"

    with _sql("compare vault files"):
        conn = sqlite3.connect(uri(vault.path), uri=True, timeout=30.0)
    try:
        with _sql("compare vault files"):
            harden(conn)
            conn.execute("ATTACH DATABASE ? AS other", (uri(other_path),))
            check_schema(conn, db="other", what=f"The vault file {Path(other_path).name}")
            rows = conn.execute(
                "SELECT o.uid, COALESCE(l.uid, n.uid) FROM other.records o "
                "LEFT JOIN main.records l ON l.uid = o.uid "
                "LEFT JOIN main.records n ON l.uid IS NULL AND n.name_hash = o.name_hash "
                "WHERE l.uid IS NULL OR l.meta != o.meta"
            ).fetchall()
            total = conn.execute("SELECT count(*) FROM other.records").fetchone()[0]
    finally:
        conn.close()
    pairs = [(bytes(o), bytes(mine) if mine is not None else None) for o, mine in rows]
    return pairs, total - len(pairs)
