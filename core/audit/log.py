"""``AuditLog``: append chained events, query them, verify the chain, raise alerts.

One instance per process and trail is enough (it is thread-safe); any number of
processes may append to the same trail at once. An append takes the state file's
``flock``, reads the head record, writes the line with one ``write`` on an
``O_APPEND`` descriptor (optionally ``fdatasync``), updates the head record, and
rotates the file when it passed ``max_bytes``.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from core.audit.alert_feed import AlertFeed, AlertListener
from core.audit.alerts import (
    ALERT_OP,
    INTEGRITY_OP,
    AlertEngine,
    AlertRule,
    HookRunner,
    HookType,
)
from core.audit.events import (
    STANDARD_FIELDS,
    build_line,
    clean_extra,
    clean_text,
    format_ts,
    key_id,
    now_utc,
    standard_event,
)
from core.audit.files import Head, LogFiles
from core.audit.index import AuditIndex
from core.audit.names import label as label_of
from core.audit.queries import AuditQueries
from core.audit.sealing import AuditFieldSealer, open_event, seal_or_withhold
from core.audit.segments import SegmentKeeping
from core.errors import AuditError, ValidationError

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_SYNC_DELAY = 0.05
_OP = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # fullmatch: "$" passes "op\n"
_LOG_ARGS = frozenset(STANDARD_FIELDS) - {"operation", "pid", "host"}
"""The standard fields a :meth:`AuditLog.log_many` item may give (never extras)."""

Clock = Callable[[], datetime]


class AuditLog(AlertFeed, SegmentKeeping, AuditQueries):
    """A tamper-evident audit trail at ``path`` (``<home>/logs/secrets_audit.log``).

    ``key`` is the 32-byte audit key (``vault.derive_key('audit')``) or None while the
    vault is locked: events are then hash-chained without a key and authenticated by
    the next keyed line. ``source``/``user``/``host`` are defaults for every event.
    ``max_bytes`` rotates the live file into ``.1``, ``.2`` ...; ``keep`` (None: all)
    limits how many rotated files stay. ``alert_rules`` (None: the seed's two) are
    checked as events are written; ``hook`` receives each alert (see
    :class:`core.audit.alerts.HookRunner`).

    ``durable`` decides when appended lines reach the disk: ``True`` fdatasyncs before
    :meth:`log` returns; a number (default 0.05) fdatasyncs at most that many seconds
    later from a background thread (group commit: one sync covers every event of the
    interval); ``False`` leaves it to the OS. In every mode a line is in the kernel's
    page cache when :meth:`log` returns, so a crash or ``kill -9`` of the writing process
    never loses it; only a power loss can, within the interval.
    """

    def __init__(
        self,
        path: Path,
        key: bytes | None,
        *,
        source: str = "api",
        user: str | None = None,
        host: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        keep: int | None = None,
        alert_rules: Iterable[AlertRule] | None = None,
        hook: HookType = None,
        durable: bool | float = DEFAULT_SYNC_DELAY,
        clock: Clock | None = None,
    ) -> None:
        self.files = LogFiles(Path(path))
        self._key: bytes | None = None
        self._kid: str | None = None
        self._sealer: AuditFieldSealer | None = None
        self.set_key(key)
        self.source = source
        self.user = user if user is not None else _default_user()
        self.host = host if host is not None else socket.gethostname()
        if max_bytes < 1024:
            raise ValidationError("max_bytes must be at least 1024")
        self.max_bytes = max_bytes
        self.keep = keep
        self.durable = durable
        self.clock: Clock = clock or now_utc
        self.alerts = AlertEngine(alert_rules)
        self._hook = HookRunner(hook, on_failure=self._hook_failed)
        self._listeners: list[AlertListener] = []
        self._recent_alerts: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._context = threading.local()  # fields added by context(), per thread
        self._pid: int | None = None
        self._state_fd: int | None = None
        self._log_fd: int | None = None
        self._log_ino: int | None = None
        self._seen: tuple[int, int] | None = None  # (inode, offset) the alert engine has read
        self._index: AuditIndex | None = None
        self._index_lock = threading.Lock()
        self._dirty = False
        self._closing = False
        self._flusher: threading.Thread | None = None
        self._flush_wanted = threading.Event()

    def __repr__(self) -> str:
        keyed = "keyed" if self._key is not None else "no key"
        return f"AuditLog({str(self.files.path)!r}, {keyed})"

    # ------------------------------------------------------------------ keys

    def set_key(self, key: bytes | None) -> None:
        """Use ``key`` from now on (after an unlock), or None (after a lock)."""
        if key is not None:
            if not isinstance(key, bytes | bytearray) or len(key) < 16:
                raise ValidationError("The audit key must be at least 16 bytes")
            key = bytes(key)
        self._key = key
        self._kid = key_id(key) if key is not None else None
        self._sealer = AuditFieldSealer(key) if key is not None else None

    @property
    def keyed(self) -> bool:
        """True when events are being keyed (a key is set)."""
        return self._key is not None

    @property
    def key_id(self) -> str | None:
        """The public id of the current key (what lines carry in ``kid``)."""
        return self._kid

    @property
    def sealer(self) -> AuditFieldSealer | None:
        """Seals and opens secret names in lines (None while no key is set)."""
        return self._sealer

    def open(self, event: dict[str, Any]) -> dict[str, Any]:
        """An event read from the trail with its names in clear (placeholders while no
        key is set; see :mod:`core.audit.sealing`)."""
        return open_event(event, self._sealer)

    def name_label(self, sid: int) -> str | None:
        """The secret name an index id stands for (opened if sealed)."""
        return label_of(sid, self.index, self._sealer)

    @property
    def path(self) -> Path:
        """The live log file."""
        return self.files.path

    # ------------------------------------------------------------------ writing

    def log(
        self,
        operation: str,
        secret_name: str | None = None,
        *,
        success: bool = True,
        error_message: str | None = None,
        version: int | None = None,
        ip_address: str | None = None,
        source: str | None = None,
        user: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Append one event and return it as written (with ``seq``, ``kid``, ``chain``).

        Never pass a value: ``error_message`` must already be value-free (the caller's
        job), and extra fields named like values (``value``, ``password`` ...) are
        dropped and listed in ``redacted``. Raises :class:`AuditError` when the line
        cannot be written.
        """
        if not isinstance(operation, str) or not _OP.fullmatch(operation):
            raise ValidationError(f"Invalid audit operation {operation!r}")
        if secret_name is not None and not isinstance(secret_name, str):
            raise ValidationError("secret_name must be a string or None")
        context = getattr(self._context, "frame", None)
        if context is not None:
            context[1] += 1
            extra = {**context[0], **extra}
        fields, redacted = clean_extra(extra)
        body = {
            **self._standard(
                operation,
                secret_name=clean_text(secret_name),
                user=clean_text(user if user is not None else self.user),
                success=bool(success),
                error_message=clean_text(error_message),
                ip_address=clean_text(ip_address),
                source=clean_text(source or self.source),
                version=version
                if isinstance(version, int) and not isinstance(version, bool)
                else None,
            ),
            **fields,
        }
        if redacted:
            body["redacted"] = sorted(redacted)
            log.warning(
                "audit: dropped value-like field(s) %s from a %s event",
                ", ".join(sorted(redacted)),
                operation,
            )
        written, alerts = self._append([body], with_alerts=True)
        for alert in alerts:
            self._dispatch(alert)
        return written[0]

    @contextlib.contextmanager
    def context(self, **fields: Any) -> Iterator[list[Any]]:
        """Add ``fields`` to every event :meth:`log` writes from this thread inside the
        block (the unlock agent tags each operation's event with its client).

        Yields ``[fields, count]``; ``count`` is how many events the block wrote, so a
        caller can write one itself when the operation wrote none.
        """
        outer = getattr(self._context, "frame", None)
        frame: list[Any] = [dict(fields), 0]
        self._context.frame = frame
        try:
            yield frame
        finally:
            self._context.frame = outer

    def log_many(self, events: Iterable[dict[str, Any]], *, check_alerts: bool = False) -> int:
        """Append many events under one lock hold (imports, benchmarks); each is a
        mapping of :meth:`log`'s arguments (``operation`` required, ``timestamp`` an
        optional datetime). Every line is still its own ``write``. Returns how many
        were written."""
        bodies = []
        for item in events:
            args = dict(item)
            operation = args.pop("operation", None)
            if not isinstance(operation, str) or not _OP.fullmatch(operation):
                raise ValidationError(f"Invalid audit operation {operation!r}")
            fields, redacted = clean_extra({k: v for k, v in args.items() if k not in _LOG_ARGS})
            body = {
                **self._standard(
                    operation,
                    secret_name=clean_text(args.get("secret_name")),
                    user=clean_text(args.get("user") or self.user),
                    success=bool(args.get("success", True)),
                    error_message=clean_text(args.get("error_message")),
                    ip_address=clean_text(args.get("ip_address")),
                    source=clean_text(args.get("source") or self.source),
                    version=args.get("version"),
                ),
                **fields,
            }
            if redacted:
                body["redacted"] = sorted(redacted)
            if isinstance(args.get("timestamp"), datetime):
                body["_at"] = args["timestamp"]
            bodies.append(body)
        if not bodies:
            return 0
        written, alerts = self._append(bodies, with_alerts=check_alerts)
        for alert in alerts:
            self._dispatch(alert)
        return len(written)

    def _append(
        self, bodies: list[dict[str, Any]], *, with_alerts: bool
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        try:
            with self._lock:
                self._ensure_open()
                assert self._state_fd is not None
                with LogFiles.locked(self._state_fd):
                    return self._append_locked(bodies, with_alerts)
        except OSError as exc:
            raise AuditError(
                f"Cannot write the audit log {self.files.path.name}: "
                f"{exc.strerror or type(exc).__name__}"
            ) from None

    def _append_locked(
        self, bodies: list[dict[str, Any]], with_alerts: bool
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        ino, size = self._current_log()
        head = LogFiles.read_head(self._state_fd)  # type: ignore[arg-type]  # opened by _ensure_open
        notes: list[dict[str, Any]] = []
        torn = 0
        if head is not None and head.ino == ino and head.size == size:
            seq, chain = head.seq, head.chain
        else:
            seq, chain, torn, notes = self._recover(size, head)
        if with_alerts and self.alerts.active:
            self._catch_up(ino, size)
        written: list[dict[str, Any]] = []
        fired: list[dict[str, Any]] = []
        queue = [*notes, *bodies]
        i = 0
        while i < len(queue):
            body = queue[i]
            i += 1
            at = body.pop("_at", None)
            body["timestamp"] = format_ts(at if isinstance(at, datetime) else self.clock())
            if torn:
                body = {**body, "torn": torn}
            seq += 1
            on_disk = seal_or_withhold(body, self._sealer)
            line, chain = build_line(on_disk, seq, self._kid, self._key, chain)
            data = b"\n" + line if torn else line
            n = os.write(self._log_fd, data)  # type: ignore[arg-type]  # opened by _ensure_open
            if n != len(data):
                raise OSError(28, "short write (disk full?)")
            size += n
            torn = 0
            event = {**body, "seq": seq, "kid": self._kid, "chain": chain}
            written.append(event)
            if with_alerts and self.alerts.active:
                for alert in self.alerts.observe(event, own=True):
                    queue.append(self._alert_body(alert))
            if body["operation"] == ALERT_OP:
                fired.append(event)
            if size >= self.max_bytes and i < len(queue):
                head = self._commit(head, seq, chain, ino, size)
                ino, size = self._log_ino, 0  # type: ignore[assignment]  # set by _commit when it rotated
        self._commit(head, seq, chain, ino, size)
        return written[len(notes) : len(notes) + len(bodies)], fired

    def _commit(self, head: Head | None, seq: int, chain: str, ino: int, size: int) -> Head:
        """Make the writes durable (now or soon), record the head, rotate when due."""
        if self.durable is True:
            os.fdatasync(self._log_fd)  # type: ignore[arg-type]  # opened by _ensure_open
        elif self.durable:
            self._sync_soon()
        head = Head(
            seq,
            chain,
            ino,
            size,
            head.anchor_seq if head else None,
            head.anchor_chain if head else None,
        )
        LogFiles.write_head(self._state_fd, head)  # type: ignore[arg-type]  # opened by _ensure_open
        self._seen = (ino, size)
        if size >= self.max_bytes:
            head = self._rotate(head)
        return head

    def _standard(self, operation: str, **fields: Any) -> dict[str, Any]:
        """The standard fields of a line this process writes (its user, source, pid
        and host unless ``fields`` says otherwise)."""
        mine = {"user": self.user, "source": self.source, "pid": os.getpid(), "host": self.host}
        return standard_event(operation, **{**mine, **fields})

    def _alert_body(self, alert: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._standard(ALERT_OP, secret_name=alert["secret_name"]),
            **{k: v for k, v in alert.items() if k != "secret_name"},
        }

    def _note(self, message: str) -> dict[str, Any]:
        return self._standard(INTEGRITY_OP, success=False, error_message=message)

    # ------------------------------------------------------------------ files

    def _ensure_open(self) -> None:
        pid = os.getpid()
        if self._pid != pid:
            # a forked child must not share lock or descriptors with its parent
            self._state_fd = self._log_fd = self._log_ino = None
            self._seen = None
            self._pid = pid
            self._flusher = None
            self._dirty = False
            self._closing = False
        if self._state_fd is None:
            self.files.ensure_dir()
            self._state_fd = self.files.open_state()

    def _open_log(self) -> None:
        if self._log_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._log_fd)
        fd = os.open(self.files.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._log_fd = fd
        self._log_ino = os.fstat(fd).st_ino

    def _current_log(self) -> tuple[int, int]:
        try:
            st = os.stat(self.files.path)
        except FileNotFoundError:
            st = None
        if self._log_fd is None or st is None or st.st_ino != self._log_ino:
            self._open_log()
        assert self._log_fd is not None and self._log_ino is not None
        return self._log_ino, os.fstat(self._log_fd).st_size

    # ------------------------------------------------------------------ group commit

    def _sync_soon(self) -> None:
        """Ask the flusher thread to fdatasync within ``durable`` seconds (under _lock)."""
        self._dirty = True
        thread = self._flusher
        if thread is None or not thread.is_alive():
            self._closing = False
            self._flusher = threading.Thread(
                target=self._flush_loop, name="audit-fsync", daemon=True
            )
            self._flusher.start()
        self._flush_wanted.set()

    def _flush_loop(self) -> None:
        delay = float(self.durable)
        while True:
            if not self._flush_wanted.wait(timeout=10.0):
                with self._lock:
                    if not self._dirty:
                        self._flusher = None
                        return
                continue
            if self._closing:
                return
            time.sleep(delay)
            self._flush_wanted.clear()
            self._sync_now()

    def _sync_now(self) -> None:
        """fdatasync the live file if anything was written since the last sync."""
        with self._lock:
            if not self._dirty or self._log_fd is None or self._pid != os.getpid():
                return
            self._dirty = False
            fd = os.dup(self._log_fd)
        try:
            os.fdatasync(fd)
        except OSError:
            log.warning("audit: fdatasync of the log failed")
        finally:
            os.close(fd)

    def close(self) -> None:
        """Sync pending lines, release descriptors, wait briefly for alert hooks."""
        self._hook.wait_idle(5.0)
        self._sync_now()
        self._closing = True
        self._flush_wanted.set()
        with self._lock:
            for fd in (self._log_fd, self._state_fd):
                if fd is not None and self._pid == os.getpid():
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._log_fd = self._state_fd = self._log_ino = None
            if self._index is not None:
                self._index.close()

    def __del__(self) -> None:
        # a log dropped without close() (a one-off failure record) must not leak fds
        try:
            if self._pid == os.getpid():
                for fd in (self._log_fd, self._state_fd):
                    if fd is not None:
                        os.close(fd)
        except Exception:  # noqa: S110 - interpreter shutdown, fds already gone
            pass

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def head(self) -> dict[str, Any] | None:
        """The head record ``{"seq", "chain"}`` of the last line written (by anyone), or
        None. Storing it elsewhere (for example in the vault) defeats a rollback of
        both the log and its state file."""
        ok, head = self.files.read_head_file()
        return {"seq": head.seq, "chain": head.chain} if ok and head else None


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
