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
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.audit.alerts import (
    ALERT_OP,
    HOOK_OP,
    INTEGRITY_OP,
    NOT_COUNTED,
    AlertEngine,
    AlertRule,
    HookRunner,
    HookType,
    hook_payload,
)
from core.audit.events import (
    GENESIS,
    STANDARD_FIELDS,
    build_line,
    clean_extra,
    clean_text,
    format_ts,
    key_id,
    now_utc,
    parse_event,
    parse_ts,
    standard_event,
    to_epoch,
)
from core.audit.files import Head, LastLine, LogFiles
from core.audit.index import AuditIndex, Where
from core.audit.names import label as label_of
from core.audit.names import name_ids, name_terms
from core.audit.sealing import AuditFieldSealer, open_event, seal_or_withhold
from core.audit.verify import (
    CancelFn,
    ProgressFn,
    VerifyCursor,
    VerifyReport,
    verify_files,
    verify_isolated,
)
from core.errors import AuditError, ValidationError

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_SYNC_DELAY = 0.05
RECENT_LIMIT = 10
_OP = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # fullmatch: "$" passes "op\n"
_SEED_WINDOW_CAP = 4 * 1024 * 1024
_LOG_ARGS = frozenset(STANDARD_FIELDS) - {"operation", "pid", "host"}
"""The standard fields a :meth:`AuditLog.log_many` item may give (never extras)."""

Clock = Callable[[], datetime]
AlertListener = Callable[[dict[str, Any]], Any]


class AuditLog:
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
        head = LogFiles.read_head(self._state_fd)  # type: ignore[arg-type]
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
            n = os.write(self._log_fd, data)  # type: ignore[arg-type]
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
                ino, size = self._log_ino, 0  # type: ignore[assignment]
        self._commit(head, seq, chain, ino, size)
        return written[len(notes) : len(notes) + len(bodies)], fired

    def _commit(self, head: Head | None, seq: int, chain: str, ino: int, size: int) -> Head:
        """Make the writes durable (now or soon), record the head, rotate when due."""
        if self.durable is True:
            os.fdatasync(self._log_fd)  # type: ignore[arg-type]
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
        LogFiles.write_head(self._state_fd, head)  # type: ignore[arg-type]
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

    def _recover(self, size: int, head: Head | None) -> tuple[int, str, int, list[dict[str, Any]]]:
        """Find where the chain continues when the head record does not match the file
        (first write, crash, torn line, foreign append, file replaced)."""
        last: LastLine | None = LogFiles.last_line(self._log_fd, size)  # type: ignore[arg-type]
        torn = last.torn if last is not None else 0
        if last is not None and last.seq > 0:
            seq, chain = last.seq, last.chain
        else:
            seq, chain = self._previous_segment_tail()
        notes: list[dict[str, Any]] = []
        if head is None:
            if seq > 0:
                notes.append(self._note("audit head record was missing; recreated from the log"))
        elif head.seq > seq:
            notes.append(
                self._note(
                    f"audit log ends at seq {seq} but the head record says {head.seq}: "
                    "lines were cut or the file was replaced"
                )
            )
            seq, chain = head.seq, head.chain
        return seq, chain, torn, notes

    def _previous_segment_tail(self) -> tuple[int, str]:
        for _, path in self.files.rotated():
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                last = LogFiles.last_line(fd, os.fstat(fd).st_size)
            finally:
                os.close(fd)
            if last is not None and last.seq > 0:
                return last.seq, last.chain
            break
        return 0, GENESIS

    def _rotate(self, head: Head) -> Head:
        if self.durable is not False:
            os.fdatasync(self._log_fd)  # type: ignore[arg-type]
        rotated = self.files.rotated()
        for number, path in reversed(rotated):
            os.rename(path, self.files.segment_name(number + 1))
        os.rename(self.files.path, self.files.segment_name(1))
        anchor_seq, anchor_chain = head.anchor_seq, head.anchor_chain
        if self.keep is not None:
            doomed = [self.files.segment_name(n + 1) for n, _ in rotated if n + 1 > self.keep]
            if doomed:
                newest_doomed = min(doomed, key=lambda p: int(p.name.rsplit(".", 1)[1]))
                fd = os.open(newest_doomed, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    last = LogFiles.last_line(fd, os.fstat(fd).st_size)
                finally:
                    os.close(fd)
                if last is not None and last.seq > 0:
                    anchor_seq, anchor_chain = last.seq, last.chain
                for p in doomed:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(p)
        self._open_log()
        assert self._log_fd is not None and self._log_ino is not None
        new_head = Head(head.seq, head.chain, self._log_ino, 0, anchor_seq, anchor_chain)
        LogFiles.write_head(self._state_fd, new_head)  # type: ignore[arg-type]
        self._seen = (self._log_ino, 0)
        if self.durable is not False:
            dfd = os.open(self.files.dir, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        return new_head

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

    # ------------------------------------------------------------------ alerts

    def _catch_up(self, ino: int, size: int) -> None:
        """Feed events other processes wrote since we last looked to the alert engine."""
        seen = self._seen
        if seen is not None and seen[0] == ino and seen[1] == size:
            return
        if seen is None or seen[0] != ino or seen[1] > size:
            horizon = self.clock().timestamp() - self.alerts.max_window
            start = self._seed_start(size, horizon)
        else:
            start = max(seen[1], size - _SEED_WINDOW_CAP)
            horizon = None
        if size <= start:
            return
        data = os.pread(self._log_fd, size - start, start)  # type: ignore[arg-type]
        lines = data.split(b"\n")
        if start > 0 and (seen is None or start != seen[1]):
            lines = lines[1:]  # the first piece may be the middle of a line
        for raw in lines:
            event = parse_event(raw)
            if event is None:
                continue
            event = open_event(event, self._sealer, keep_sealed=True)
            if horizon is not None:
                ts = parse_ts(event.get("timestamp", ""))
                if ts is None or ts < horizon:
                    continue
            self.alerts.observe(event, own=False)

    def _seed_start(self, size: int, horizon: float) -> int:
        """An offset from which the log holds every event newer than ``horizon`` (read
        back in steps, looking at one timestamp per step), capped at a few megabytes."""
        pos = size
        step = 256 * 1024
        while pos > 0 and size - pos < _SEED_WINDOW_CAP:
            pos = max(0, pos - step)
            probe = os.pread(self._log_fd, min(8192, size - pos), pos)  # type: ignore[arg-type]
            if pos > 0:
                cut = probe.find(b"\n")
                probe = probe[cut + 1 :] if cut >= 0 else b""
            if probe.startswith(b'{"timestamp": "'):
                ts = parse_ts(probe[15:47].decode("ascii", "replace"))
                if ts is not None and ts < horizon:
                    return pos
        return pos

    def _dispatch(self, alert_event: dict[str, Any]) -> None:
        payload = hook_payload(alert_event)
        with self._lock:
            self._recent_alerts.append(alert_event)
            del self._recent_alerts[:-100]
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(alert_event)
            except Exception:
                log.exception("an audit alert listener failed")
        self._hook.submit(payload)

    def _hook_failed(self, reason: str) -> None:
        self._append([{**self._note(reason), "operation": HOOK_OP}], with_alerts=False)

    def add_alert_listener(self, listener: AlertListener) -> Callable[[], None]:
        """Call ``listener(alert_event)`` for every alert this process raises (from the
        writing thread: the app must hop to its own thread). Returns an unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def wait_for_hooks(self, timeout: float | None = 10.0) -> bool:
        """Block until queued alert hooks have run (tests, clean exit)."""
        return self._hook.wait_idle(timeout)

    def recent_alerts(
        self, limit: int = 20, since: datetime | timedelta | None = None
    ) -> list[dict[str, Any]]:
        """The newest alert events of the whole trail (any process), newest first."""
        start = None
        if isinstance(since, timedelta):
            start = self.clock().timestamp() - since.total_seconds()
        elif since is not None:
            start = to_epoch(since)
        events = self.get_audit_events(operation=ALERT_OP, start_time=start, limit=limit)
        return list(reversed(events))

    # ------------------------------------------------------------------ queries

    @property
    def index(self) -> AuditIndex:
        """The query index (created on first use)."""
        with self._index_lock:
            if self._index is None:
                self._index = AuditIndex(self.files)
            return self._index

    def refresh_index(
        self, progress: ProgressFn | None = None, cancelled: CancelFn | None = None
    ) -> int:
        """Bring the index up to date with the log; return how many events were added."""
        if not self.files.dir.exists():
            return 0
        return self.index.refresh(progress, cancelled)

    def where(
        self,
        secret_name: str | Sequence[str] | None = None,
        operation: str | Sequence[str] | None = None,
        start_time: datetime | float | str | None = None,
        end_time: datetime | float | str | None = None,
        user: str | Sequence[str] | None = None,
        success: bool | None = None,
        source: str | Sequence[str] | None = None,
    ) -> Where:
        """Compile query filters (after refreshing the index)."""
        self.refresh_index()
        secret_name = name_terms(secret_name, self.index, self._sealer)
        return self.index.where(
            secret_name, operation, user, success, to_epoch(start_time), to_epoch(end_time), source
        )

    def get_audit_events(
        self,
        secret_name: str | Sequence[str] | None = None,
        operation: str | Sequence[str] | None = None,
        start_time: datetime | float | str | None = None,
        end_time: datetime | float | str | None = None,
        user: str | Sequence[str] | None = None,
        success: bool | None = None,
        limit: int | None = None,
        *,
        source: str | Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Events matching every given filter, oldest first; with ``limit``, the newest
        ``limit`` of them. Times are inclusive; naive datetimes are local time. Names,
        operations and users may be lists or globs (``db/*``)."""
        if limit is not None and limit <= 0:
            return []
        if not self.files.dir.exists():
            return []
        where = self.where(secret_name, operation, start_time, end_time, user, success, source)
        rows = self.index.locate(where, limit)
        return [self.open(e) for e in self.index.events_at(rows)]

    def count(self, **filters: Any) -> int:
        """How many events match the filters of :meth:`get_audit_events`."""
        if not self.files.dir.exists():
            return 0
        return self.index.count(self.where(**filters))

    def stats(self, name: str | None = None) -> dict[str, Any]:
        """The seed's stats for one secret (or the whole trail when ``name`` is None).

        Keys: ``total_accesses``, ``successful_accesses``, ``failed_accesses``,
        ``operations`` ({op: count}), ``last_access`` (ISO timestamp or None),
        ``recent_accesses`` (the newest 10 events, newest first), plus
        ``accesses_last_hour``, ``accesses_last_24h``, ``failures_last_hour`` and
        ``alerts``. Alerts and other audit bookkeeping are not counted as accesses.
        """
        empty: dict[str, Any] = {
            "secret_name": name,
            "total_accesses": 0,
            "successful_accesses": 0,
            "failed_accesses": 0,
            "operations": {},
            "last_access": None,
            "recent_accesses": [],
            "accesses_last_hour": 0,
            "accesses_last_24h": 0,
            "failures_last_hour": 0,
            "alerts": 0,
        }
        if not self.files.dir.exists():
            return empty
        self.refresh_index()
        idx = self.index
        nids: list[int] = []
        marks = ""
        if name is not None:
            nids = name_ids(name, idx, self._sealer)
            if not nids:
                return empty
            marks = ",".join("?" * len(nids))
            rows = idx.execute(
                f"SELECT op, ok, sum(cnt), max(last) FROM agg WHERE name IN ({marks}) "
                "GROUP BY op, ok",
                nids,
            )
        else:
            rows = idx.execute("SELECT op, ok, sum(cnt), max(last) FROM agg GROUP BY op, ok")
        skip = {i for i in (idx.str_id(op) for op in NOT_COUNTED) if i}
        alert_id = idx.str_id(ALERT_OP)
        ops: dict[str, int] = {}
        total = good = bad = alerts = 0
        last = None
        for op, ok, cnt, last_ts in rows:
            if op == alert_id:
                alerts += cnt
            if op in skip:
                continue
            total += cnt
            if ok == 1:
                good += cnt
            elif ok == 0:
                bad += cnt
            label = idx.name_of(op) or "?"
            ops[label] = ops.get(label, 0) + cnt
            if last_ts is not None and (last is None or last_ts > last):
                last = last_ts
        now = self.clock().timestamp()
        cond, params = (f"name IN ({marks})", list(nids)) if name is not None else ("1", [])
        op_filter = ""
        if skip:
            op_filter = f" AND op NOT IN ({','.join('?' * len(skip))})"
            params = [*params, *sorted(skip)]
        base = f"SELECT count(*) FROM ev WHERE {cond}{op_filter} AND ts >= ?"

        def counted(extra: str, since: float) -> int:
            return int(idx.execute(base + extra, [*params, since])[0][0])

        recent_rows = idx.execute(
            f"SELECT n, seg, off, len FROM ev WHERE {cond}{op_filter} "
            f"ORDER BY n DESC LIMIT {RECENT_LIMIT}",
            params,
        )
        return {
            "secret_name": name,
            "total_accesses": total,
            "successful_accesses": good,
            "failed_accesses": bad,
            "operations": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
            "last_access": format_ts(datetime.fromtimestamp(last, UTC)) if last else None,
            "recent_accesses": [self.open(e) for e in idx.events_at(recent_rows)],
            "accesses_last_hour": counted("", now - 3600),
            "accesses_last_24h": counted("", now - 86400),
            "failures_last_hour": counted(" AND ok = 0", now - 3600),
            "alerts": alerts,
        }

    def access_summary(
        self, operations: Iterable[str] | None = None
    ) -> dict[str, tuple[int, datetime | None]]:
        """{secret name: (access count, last access time)} for every secret in the trail,
        from the index's running counts (cheap; for ``SecretMetadata``). ``operations``
        limits what counts (e.g. reads only); by default every operation but alerts."""
        if not self.files.dir.exists():
            return {}
        self.refresh_index()
        idx = self.index
        sql = "SELECT name, sum(cnt), max(last) FROM agg WHERE name != 0"
        params: list[int] = []
        if operations is not None:
            params = [i for i in (idx.str_id(op) for op in operations) if i]
            if not params:
                return {}
            sql += f" AND op IN ({','.join('?' * len(params))})"
        else:
            params = sorted(i for i in (idx.str_id(op) for op in NOT_COUNTED) if i)
            if params:
                sql += f" AND op NOT IN ({','.join('?' * len(params))})"
        sql += " GROUP BY name"
        skip = params
        out: dict[str, tuple[int, datetime | None]] = {}
        for nid, cnt, last in idx.execute(sql, skip):
            name = self.name_label(nid)
            if name is None:
                continue
            # one secret may have clear (old) and sealed lines: add them up
            when = datetime.fromtimestamp(last, UTC) if last else None
            prior = out.get(name)
            if prior is not None:
                cnt += prior[0]
                if prior[1] is not None and (when is None or prior[1] > when):
                    when = prior[1]
            out[name] = (int(cnt), when)
        return out

    # ------------------------------------------------------------------ verify

    def verify(
        self,
        *,
        resume: VerifyCursor | None = None,
        progress: ProgressFn | None = None,
        cancelled: CancelFn | None = None,
        isolated: bool = False,
    ) -> VerifyReport:
        """Check the whole chain (all segments, oldest first) and the head record.

        The report's ``ok`` is False on any break; ``first_break`` names the file, line
        number and what is wrong. Pass a previous report's ``cursor`` as ``resume`` to
        check only what was appended since. ``isolated`` runs a full check in a child
        process (the app uses it so a long check does not slow the screen).
        """
        if not self.files.dir.exists():
            return VerifyReport(keyed=self.keyed)
        if isolated and resume is None:
            return verify_isolated(
                self.files.path, self._key, progress=progress, cancelled=cancelled
            )
        return verify_files(
            self.files, self._key, resume=resume, progress=progress, cancelled=cancelled
        )

    def view(self, filters: Any = None) -> Any:
        """An :class:`core.audit.view.EventView` over the filtered trail (lazy rows)."""
        from core.audit.view import EventView, Filters

        return EventView(self, filters or Filters())


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
