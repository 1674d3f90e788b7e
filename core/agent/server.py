"""The unlock agent's server: one process, one vault, one private socket.

The agent holds the vault open with its data key and, like ssh-agent, performs
operations for its clients; no request ever answers key material. The requests are
the keys of :data:`AgentServer.REQUESTS`:

- ``hello``: who it is (pid, vault file, provider, start and expiry times);
- ``call``: run one :mod:`core.service.ops` operation through its
  :class:`~core.secrets_manager.SecretsManager` (``source='agent'`` in the audit
  trail) and answer the result, the error, or ``mismatch`` when the caller means
  another vault file or provider. The operation's audit event carries the client's
  pid and executable (``client_pid``, ``client_exe``; from ``SO_PEERCRED`` and
  ``/proc/PID/exe``); an operation that writes no event of its own gets one;
- ``lock``: forget the key and exit (audited with the client that asked).

Commands that need a whole manager in their own process (backup, audit, rotation,
sync) unlock themselves with the configured key or a prompt: the agent does not lend
its key.

Safety: the socket is created 0600 under a 0077 umask, bound under a temporary name
and renamed into place, so a stale socket is replaced atomically and a live agent is
never clobbered; a path holding anything but a socket of ours is refused. Every
connection's peer must run as our uid (``SO_PEERCRED``). The time to live is counted
on :func:`core.clock.elapsed_clock`, which keeps running while the machine sleeps, and
is capped at ``VAULTUI_AGENT_MAX_TTL``. When the time is up, on ``lock`` and on
SIGTERM/SIGHUP/SIGINT the agent closes the vault, drops the key, removes its socket
(only if the socket is still its own) and exits; on expiry it leaves a note
(:mod:`core.agent.expiry`) so the next command can say why it has no key. If the
vault file is replaced underneath, the agent reopens it with the data key it holds,
which fails with WrongKeyError for another vault.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import stat
import threading
import time
from pathlib import Path
from typing import Any

from core.agent import expiry, protocol
from core.clock import elapsed_clock
from core.config import Settings, ensure_private_dir
from core.errors import ConfigError, LockedError, NotFoundError, VaultError
from core.service.registry import dispatch

log = logging.getLogger(__name__)

ACCEPT_TICK = 0.5
"""Seconds between checks of the expiry time and the stop flag."""
CONNECTION_TIMEOUT = 30.0
"""A client that sends nothing for this long is disconnected."""
DRAIN_TIMEOUT = 10.0
"""On stop, seconds to wait for requests in progress before closing the vault."""


def socket_is_live(path: Path) -> bool:
    """True if something accepts connections on the Unix socket at ``path``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(2.0)
        with protocol.ShortPath(str(path)) as address:
            sock.connect(address)
        return True
    except OSError:
        return False
    finally:
        sock.close()


def check_socket_path(path: Path) -> None:
    """Refuse to use ``path`` if it holds anything but a socket owned by us.

    Raises ConfigError naming the problem; a missing path is fine.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise ConfigError(
            f"{path} exists and is not a socket; refusing to replace it",
            hint="remove it or set VAULTUI_AGENT_SOCKET to another path",
        )
    if st.st_uid != os.getuid():
        raise ConfigError(f"The socket {path} belongs to another user; refusing to use it")


def remove_stale_socket(path: Path) -> bool:
    """Remove a dead socket of ours at ``path``; True if one was removed."""
    check_socket_path(path)
    if not path.exists() or socket_is_live(path):
        return False
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return True


def harden_process() -> None:
    """No core dumps and no ptrace attach by other processes (best effort, Linux)."""
    with contextlib.suppress(Exception):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_dumpable = 4
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_dumpable, 0, 0, 0, 0)


def peer_identity(conn: socket.socket) -> dict[str, Any]:
    """``client_pid`` and ``client_exe`` of the process at the other end (SO_PEERCRED
    and ``/proc/PID/exe``; the executable is None where it cannot be read)."""
    pid = protocol.peer_credentials(conn)[0]
    try:
        exe: str | None = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        exe = None
    return {"client_pid": pid, "client_exe": exe}


class AgentServer:
    """Serve one vault's operations on ``socket_path`` until ``ttl`` seconds pass
    (counting suspended time), ``lock`` is requested, or a termination signal arrives.

    ``data_key`` is the vault's raw data key (``Vault.data_key_for_agent()``); it stays
    in this process. ``ttl`` above ``settings.agent_max_ttl_seconds`` is capped there.
    """

    def __init__(
        self, settings: Settings, data_key: bytes, *, ttl: float, socket_path: Path | None = None
    ) -> None:
        if ttl <= 0:
            raise ConfigError("The agent's time to live must be positive")
        ttl = min(float(ttl), float(settings.agent_max_ttl_seconds))
        self.settings = settings
        self.socket_path = Path(socket_path or settings.agent_socket_path).absolute()
        self.vault_path = Path(settings.vault_path).absolute()
        self.ttl = ttl
        self.started_at = time.time()
        self.expires_at = self.started_at + ttl
        self._deadline = elapsed_clock() + ttl
        self._key: bytes | None = bytes(data_key)
        self._stop = threading.Event()
        self._stop_reason = "expired"
        self._stopped_by: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._listener: socket.socket | None = None
        self._socket_id: tuple[int, int] | None = None
        self._manager: Any = None
        self._vault_id: tuple[int, int] | None = None
        self._handlers: set[threading.Thread] = set()

    REQUESTS: dict[str, str] = {
        "hello": "_req_hello",
        "call": "_req_call",
        "lock": "_req_lock",
    }
    """Every request the agent accepts -> the method that answers it."""

    def __repr__(self) -> str:
        return f"AgentServer({str(self.socket_path)!r}, vault={str(self.vault_path)!r})"

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> None:
        """Open the vault with the data key (WrongKeyError for a key of another vault)."""
        self._open_manager()

    def _open_manager(self) -> None:
        from core.secrets_manager import SecretsManager
        from core.vault import KeySource

        if self._key is None:
            raise ConfigError("The agent is locked")
        old = self._manager
        self._manager = None
        if old is not None:
            with contextlib.suppress(VaultError, OSError):
                old.close()
        if not self.vault_path.exists():
            raise NotFoundError(f"No vault at {self.vault_path}")
        st = os.stat(self.vault_path)
        manager = SecretsManager(
            self.settings, key_source=KeySource.data_key(self._key), source="agent"
        )
        self._manager = manager
        self._vault_id = (st.st_dev, st.st_ino)

    def bind(self) -> None:
        """Create the socket (0600) and move it into place, replacing a stale one."""
        path = self.socket_path
        folder = path.parent
        if folder == Path(self.settings.home).absolute():
            ensure_private_dir(folder)
        else:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        check_socket_path(path)
        if path.exists() and socket_is_live(path):
            raise ConfigError(
                f"An unlock agent is already running on {path}",
                hint="run `vaultui --batch lock` first",
            )
        tmp = folder / f".{path.name}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            with protocol.ShortPath(str(tmp)) as address:
                listener.bind(address)
        finally:
            os.umask(old_umask)
        os.chmod(tmp, 0o600)
        listener.listen(64)
        listener.settimeout(ACCEPT_TICK)
        os.replace(tmp, path)
        st = os.lstat(path)
        self._socket_id = (st.st_dev, st.st_ino)
        self._listener = listener

    def install_signal_handlers(self) -> None:
        """Stop cleanly on SIGTERM, SIGHUP and SIGINT (main thread only)."""

        def handler(signum: int, _frame: object) -> None:
            self.stop(f"signal {signal.Signals(signum).name}")

        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, handler)

    def expired(self) -> bool:
        """True once the time to live has passed (suspended time included)."""
        return elapsed_clock() >= self._deadline

    def stop(self, reason: str) -> None:
        """Ask the serve loop to finish (forgetting the key)."""
        self._stop_reason = reason
        self._stop.set()

    def serve_forever(self) -> str:
        """Accept connections until stopped or expired; clean up; return the reason."""
        assert self._listener is not None, "bind() first"
        try:
            while not self._stop.is_set():
                if self.expired():
                    self._stop_reason = "expired"
                    break
                try:
                    conn, _ = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    if self._stop.is_set():
                        break
                    raise
                thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
                with self._lock:
                    self._handlers.add(thread)
                thread.start()
        finally:
            self.close()
        return self._stop_reason

    def close(self) -> None:
        """Remove our socket, let requests in progress finish (up to DRAIN_TIMEOUT),
        audit the stop, close the vault and drop the key."""
        self._stop.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None
        if self._socket_id is not None:
            with contextlib.suppress(OSError):
                st = os.lstat(self.socket_path)
                if (st.st_dev, st.st_ino) == self._socket_id:
                    self.socket_path.unlink()
            self._socket_id = None
        deadline = time.monotonic() + DRAIN_TIMEOUT
        with self._lock:
            handlers = [t for t in self._handlers if t is not threading.current_thread()]
        for thread in handlers:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            manager, self._manager = self._manager, None
            self._key = None
        if manager is not None:
            with contextlib.suppress(VaultError, OSError):
                manager.audit_log.log(
                    "agent_stop", None, success=True, reason=self._stop_reason, **self._stopped_by
                )
            with contextlib.suppress(VaultError, OSError):
                manager.close()
        if self._stop_reason == "expired":
            expiry.write_note(self.socket_path, self.vault_path, self.ttl)

    # ------------------------------------------------------------------ requests

    def _handle(self, conn: socket.socket) -> None:
        try:
            self._serve_connection(conn)
        finally:
            with self._lock:
                self._handlers.discard(threading.current_thread())

    def _serve_connection(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(CONNECTION_TIMEOUT)
                protocol.check_peer(conn)
                peer = peer_identity(conn)
                while not self._stop.is_set():
                    try:
                        message = protocol.recv(conn)
                    except protocol.ProtocolError:
                        return
                    reply = self._answer(conn, message, peer)
                    protocol.send(conn, reply)
                    if isinstance(message, dict) and message.get("op") == "lock":
                        self._stopped_by = peer
                        self.stop("locked")
                        return
            except protocol.PeerRejected as exc:
                log.warning("agent: refused a connection: %s", exc)
            except (OSError, protocol.ProtocolError):
                return

    def _answer(self, conn: socket.socket, message: object, peer: dict[str, Any]) -> dict[str, Any]:
        """The reply to one request (see :data:`REQUESTS`); never key material."""
        if not isinstance(message, dict):
            return error_reply(ConfigError("Malformed request"))
        if message.get("v", protocol.PROTOCOL_VERSION) != protocol.PROTOCOL_VERSION:
            return error_reply(
                ConfigError(
                    "The running unlock agent speaks another protocol version",
                    hint="run `vaultui --batch lock` and unlock again",
                )
            )
        kind = message.get("op")
        method = self.REQUESTS.get(kind) if isinstance(kind, str) else None
        if method is None:
            return error_reply(ConfigError(f"Unknown agent request {kind!r}"))
        reply: dict[str, Any] = getattr(self, method)(conn, message, peer)
        return reply

    def _req_hello(
        self, conn: socket.socket, message: dict[str, Any], peer: dict[str, Any]
    ) -> dict[str, Any]:
        return {"ok": self.info()}

    def _req_lock(
        self, conn: socket.socket, message: dict[str, Any], peer: dict[str, Any]
    ) -> dict[str, Any]:
        return {"ok": True}

    def _req_call(
        self, conn: socket.socket, message: dict[str, Any], peer: dict[str, Any]
    ) -> dict[str, Any]:
        return self._call(conn, message, peer)

    def audit(self, operation: str, **extra: Any) -> None:
        """Write an agent lifecycle event to the vault's audit trail (best effort)."""
        manager = self._manager
        if manager is not None:
            with contextlib.suppress(VaultError, OSError):
                manager.audit_log.log(operation, None, success=True, **extra)

    def info(self) -> dict[str, Any]:
        """What ``hello`` answers (no key material)."""
        return {
            "pid": os.getpid(),
            "vault": str(self.vault_path),
            "provider": self.settings.provider,
            "socket": str(self.socket_path),
            "started_at": self.started_at,
            "expires_at": self.expires_at,
            "protocol": protocol.PROTOCOL_VERSION,
        }

    def _call(
        self, conn: socket.socket, message: dict[str, Any], peer: dict[str, Any]
    ) -> dict[str, Any]:
        vault = message.get("vault")
        if not isinstance(vault, str) or os.path.realpath(vault) != os.path.realpath(
            self.vault_path
        ):
            return {"mismatch": f"the agent serves {self.vault_path}"}
        if message.get("provider") != self.settings.provider:
            return {"mismatch": f"the agent uses provider {self.settings.provider}"}
        name = message.get("name")
        args = message.get("args") or {}
        if not isinstance(name, str) or not isinstance(args, dict):
            return error_reply(ConfigError("Malformed request"))
        if self.expired():
            # the accept loop may not have noticed yet (e.g. right after a resume)
            self.stop("expired")
            return error_reply(self.expired_error())

        def progress(done: int, total: int) -> None:
            protocol.send(conn, {"progress": [int(done), int(total)]})

        try:
            manager = self._current_manager()
        except VaultError as exc:
            return error_reply(exc)
        with contextlib.suppress(VaultError, OSError):  # a copy never blocks the operation
            manager.absorb_conflict_copies()
        try:
            # the service audits the operation, tagged with the client's pid and program
            result = dispatch(manager, name, args, progress, client=peer)
        except VaultError as exc:
            return error_reply(exc)
        except Exception as exc:
            # Never echo an unexpected exception's text: it could quote a value.
            log.error("agent: operation %s failed with %s", name, type(exc).__name__)
            return error_reply(
                VaultError(f"The agent failed running {name} ({type(exc).__name__})")
            )
        return {"ok": result}

    def expired_error(self) -> LockedError:
        """What a client hears once the time to live is over."""
        return LockedError(
            f"The unlock agent expired after {expiry.describe_span(self.ttl)}",
            hint="run `vaultui --batch unlock`",
        )

    def _current_manager(self) -> Any:
        """The open manager, reopened if the vault file was replaced underneath."""
        with self._lock:
            if self._key is None:
                raise LockedError("The unlock agent is locked")
            try:
                st = os.stat(self.vault_path)
                same = (st.st_dev, st.st_ino) == self._vault_id
            except FileNotFoundError:
                raise NotFoundError(f"No vault at {self.vault_path}") from None
            if self._manager is None or not same:
                self._open_manager()
            return self._manager


def error_reply(exc: VaultError) -> dict[str, Any]:
    """The reply frame for a core error (class name, message, hint, exit code)."""
    return {
        "error": {
            "type": type(exc).__name__,
            "message": exc.message,
            "hint": exc.hint,
            "exit_code": exc.exit_code,
        }
    }
