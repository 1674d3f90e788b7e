"""The unlock agent's client: find the agent, send one request, read the answer.

Imports interpreter built-ins only, so ``vaultui --batch get`` can talk to a running
agent without loading ``socket``, ``json``, ``argparse``, ``pathlib`` or the crypto
stack (each costs several milliseconds of a ~25 ms budget; see docs/batch.md).

:func:`fast_paths` mirrors :class:`core.config.Settings` for the three things the
client needs (vault file, agent socket, provider name) on Linux; anywhere it cannot
mirror exactly it returns None and the caller uses ``Settings``. A test keeps the two
in step.
"""

from __future__ import annotations

import _socket
import os
import sys

from core.agent import protocol as protocol  # re-exported: callers catch protocol errors
from core.errors import VaultError

# typing and collections.abc cost milliseconds to import: annotations only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    ProgressFn = Callable[[int, int], None]

DEFAULT_TIMEOUT = 120.0
"""Seconds to wait for any one frame from the agent (progress frames reset it)."""


class AgentMismatch(VaultError):
    """The agent is up but serves another vault file or provider; open locally instead."""

    title = "Unlock agent serves another vault"


class AgentUnavailable(VaultError):
    """No usable agent answered (none running, stale socket, or it went away)."""

    title = "Unlock agent unavailable"


class FastPaths:
    """The vault file, agent socket and provider name, as absolute strings."""

    __slots__ = ("provider", "socket", "vault")

    def __init__(self, vault: str, socket: str, provider: str) -> None:
        self.vault = vault
        self.socket = socket
        self.provider = provider


def fast_paths(environ: Mapping[str, str], provider: str | None = None) -> FastPaths | None:
    """What ``Settings.from_env(environ)`` would say about the vault, socket and provider.

    ``provider`` (from ``--provider``) overrides FEDZK_SECRETS_PROVIDER. Returns None
    where only ``Settings`` knows the answer (no VAULTUI_HOME off Linux or on Android).
    """
    home = environ.get("VAULTUI_HOME")
    if home:
        home = os.path.expanduser(home)
    else:
        if sys.platform != "linux" or (
            environ.get("ANDROID_DATA") == "/data" and environ.get("ANDROID_ROOT") == "/system"
        ):
            return None
        base = environ.get("XDG_DATA_HOME", "")
        if not base.strip():
            base = os.path.expanduser("~/.local/share")
        home = os.path.join(base, "vaultui")
    home = os.path.abspath(home)
    sock = environ.get("VAULTUI_AGENT_SOCKET")
    sock = os.path.abspath(os.path.expanduser(sock)) if sock else os.path.join(home, "agent.sock")
    name = provider or (environ.get("FEDZK_SECRETS_PROVIDER") or "local").strip()
    return FastPaths(os.path.join(home, "vault.db"), sock, name)


def error_from_wire(err: Mapping[str, object]) -> VaultError:
    """Rebuild the core error the agent reported (same class, message, hint, exit code)."""
    import core.errors as errors

    cls = getattr(errors, str(err.get("type", "")), None)
    if not (isinstance(cls, type) and issubclass(cls, VaultError)):
        cls = VaultError
    hint = err.get("hint")
    exc = cls(str(err.get("message", "")), hint=hint if isinstance(hint, str) else None)
    code = err.get("exit_code")
    if isinstance(code, int) and code != exc.exit_code:
        exc.exit_code = code
    return exc


class AgentClient:
    """One connection to the unlock agent at ``path``.

    :meth:`connect` returns None when no agent listens there. Every request checks that
    the agent runs as this user (SO_PEERCRED) before anything is sent.
    """

    def __init__(self, sock: _socket.socket, path: str) -> None:
        self._sock = sock
        self.path = path
        self.server_pid: int | None = None

    @classmethod
    def connect(cls, path: str, timeout: float = DEFAULT_TIMEOUT) -> AgentClient | None:
        """Connect to the agent socket at ``path``; None if nothing listens there.

        Raises :class:`protocol.PeerRejected` if the socket is served by another user.
        """
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            with protocol.ShortPath(path) as address:
                sock.connect(address)
            client = cls(sock, path)
            client.server_pid = protocol.check_peer(sock)
            return client
        except protocol.PeerRejected:
            sock.close()
            raise
        except OSError:
            sock.close()
            return None

    def close(self) -> None:
        """Close the connection."""
        self._sock.close()

    def set_timeout(self, seconds: float) -> None:
        """Wait at most ``seconds`` for any one frame from now on."""
        self._sock.settimeout(seconds)

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, message: dict[str, Any], on_progress: ProgressFn | None = None) -> object:
        """Send ``message`` and return the agent's ``ok`` result.

        Raises the reported core error, :class:`AgentMismatch`, or
        :class:`AgentUnavailable` if the agent went away.
        """
        try:
            protocol.send(self._sock, message)
            while True:
                reply = protocol.recv(self._sock)
                if not isinstance(reply, dict):
                    raise AgentUnavailable("the agent sent a malformed reply")
                if "progress" in reply:
                    if on_progress is not None:
                        done, total = reply["progress"]
                        on_progress(done, total)
                    continue
                break
        except (OSError, protocol.ProtocolError) as exc:
            raise AgentUnavailable(f"the unlock agent did not answer ({exc})") from None
        if "ok" in reply:
            return reply["ok"]
        if "mismatch" in reply:
            raise AgentMismatch(str(reply["mismatch"]))
        err = reply.get("error")
        if isinstance(err, dict):
            raise error_from_wire(err)
        raise AgentUnavailable("the agent sent a malformed reply")

    def hello(self) -> dict[str, Any]:
        """The agent's description: pid, vault, provider, started/expires (epoch)."""
        info = self.request({"op": "hello", "v": protocol.PROTOCOL_VERSION})
        return info if isinstance(info, dict) else {}

    def call(
        self,
        op: str,
        args: dict[str, Any],
        *,
        vault: str,
        provider: str,
        on_progress: ProgressFn | None = None,
    ) -> object:
        """Run operation ``op`` (see :mod:`core.service.ops`) in the agent.

        ``vault``/``provider`` say which vault and provider the caller means; the agent
        answers :class:`AgentMismatch` if they are not the ones it holds.
        """
        message = {
            "op": "call",
            "v": protocol.PROTOCOL_VERSION,
            "name": op,
            "args": args,
            "vault": vault,
            "provider": provider,
        }
        return self.request(message, on_progress)

    def lock(self) -> None:
        """Tell the agent to forget the key and exit."""
        self.request({"op": "lock", "v": protocol.PROTOCOL_VERSION})


def call_once(
    paths: FastPaths, op: str, args: dict[str, Any], on_progress: ProgressFn | None = None
) -> object:
    """Connect, run ``op`` in the agent, disconnect.

    Raises :class:`AgentUnavailable` when no agent listens (the caller opens the vault
    itself), :class:`AgentMismatch`, or the core error the operation raised.
    """
    try:
        client = AgentClient.connect(paths.socket)
    except protocol.PeerRejected:
        raise AgentUnavailable("the agent socket is served by another user") from None
    if client is None:
        raise AgentUnavailable("no unlock agent is running")
    with client:
        return client.call(
            op, args, vault=paths.vault, provider=paths.provider, on_progress=on_progress
        )
