"""Starting, finding and stopping the unlock agent.

:func:`start_agent` runs ``python -m core.agent`` in a new session, hands it the data
key through a pipe (never argv or the environment) and returns once the agent answers
on its socket. :func:`agent_info` says whether one is running; :func:`stop_agent`
locks it (or removes a stale socket).
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core.agent import expiry, protocol
from core.agent.client import AgentClient
from core.agent.server import check_socket_path, remove_stale_socket, socket_is_live
from core.config import Settings
from core.errors import ConfigError, ValidationError, VaultError

START_TIMEOUT = 60.0
"""Seconds to wait for a new agent to report that it is ready."""

# Variables that hold or point at key material: the agent gets the data key instead.
_KEY_VARS = ("FEDZK_ENCRYPTION_MASTER_KEY", "VAULTUI_PASSPHRASE_FILE", "VAULTUI_KEY_FILE")


def agent_env(settings: Settings) -> dict[str, str]:
    """The environment for a new agent: the caller's settings with absolute paths, the
    chosen provider, and no key material."""
    env = {k: v for k, v in settings.env.items() if k not in _KEY_VARS}
    if not env:
        env = {k: v for k, v in os.environ.items() if k not in _KEY_VARS}
    env["VAULTUI_HOME"] = str(Path(settings.home).absolute())
    env["VAULTUI_AGENT_SOCKET"] = str(Path(settings.agent_socket_path).absolute())
    env["FEDZK_SECRETS_PROVIDER"] = settings.provider
    if env.get("PYTHONPATH"):  # the agent runs in /
        env["PYTHONPATH"] = os.pathsep.join(
            os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p
        )
    return env


def agent_info(settings: Settings) -> dict[str, Any] | None:
    """The running agent's ``hello`` (pid, vault, provider, expires_at), or None."""
    try:
        client = AgentClient.connect(str(settings.agent_socket_path), timeout=5.0)
    except protocol.PeerRejected:
        return None
    if client is None:
        return None
    with client:
        try:
            return client.hello()
        except Exception:
            return None


def stop_agent(settings: Settings, wait: float = 5.0) -> str:
    """Lock the agent. Returns 'stopped', 'stale' (a dead socket was removed) or 'none'.

    Also forgets an expired agent's note (the user has seen to it)."""
    path = Path(settings.agent_socket_path)
    expiry.clear_note(path)
    try:
        client = AgentClient.connect(str(path), timeout=5.0)
    except protocol.PeerRejected:
        raise ConfigError(
            f"The socket {path} is served by another user; refusing to talk to it"
        ) from None
    if client is None:
        return "stale" if remove_stale_socket(path) else "none"
    with client, contextlib.suppress(Exception):
        client.lock()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and path.exists() and socket_is_live(path):
        time.sleep(0.02)
    return "stopped"


def check_ttl(settings: Settings, ttl: float) -> None:
    """Refuse a time to live above the ceiling (VAULTUI_AGENT_MAX_TTL, default 24h)."""
    ceiling = float(settings.agent_max_ttl_seconds)
    if ttl > ceiling:
        raise ValidationError(
            f"--ttl {expiry.describe_span(ttl)} is longer than the unlock agent's ceiling "
            f"of {expiry.describe_span(ceiling)}",
            hint="use a shorter --ttl, or raise VAULTUI_AGENT_MAX_TTL (seconds)",
        )


def start_agent(settings: Settings, data_key: bytes, ttl: float) -> dict[str, Any]:
    """Start an agent holding ``data_key`` for ``ttl`` seconds, replacing a running one.

    Returns its ``hello``. Raises the core error the new agent reported (for example
    WrongKeyError) or ConfigError if it did not start. ``ttl`` above
    ``settings.agent_max_ttl_seconds`` is refused (ValidationError).
    """
    check_ttl(settings, ttl)
    path = Path(settings.agent_socket_path)
    check_socket_path(path)
    stop_agent(settings)
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.agent"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        cwd="/",
        env=agent_env(settings),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(protocol.encode({"key": bytes(data_key), "ttl": float(ttl)}))
        proc.stdin.close()
        reply = _read_reply(proc.stdout.fileno())
    finally:
        proc.stdout.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    if isinstance(reply, dict) and isinstance(reply.get("ok"), dict):
        ok: dict[str, Any] = reply["ok"]
        return ok
    if isinstance(reply, dict) and isinstance(reply.get("error"), dict):
        from core.agent.client import error_from_wire

        raise error_from_wire(reply["error"])
    raise ConfigError("The unlock agent did not start", hint="see FEDZK_LOG_LEVEL=DEBUG output")


def _read_reply(fd: int) -> object:
    """One frame from the new agent's stdout, within START_TIMEOUT."""
    deadline = time.monotonic() + START_TIMEOUT
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
        if len(data) >= 4 and len(data) >= 4 + int.from_bytes(data[:4], "big"):
            break
    if len(data) < 4:
        return None
    try:
        return protocol.decode(data[4 : 4 + int.from_bytes(data[:4], "big")])
    except protocol.ProtocolError:
        return None


def _agent_main() -> int:
    """Body of ``python -m core.agent``: read the key from stdin, detach, serve."""
    from core.agent.server import AgentServer, harden_process

    raw = sys.stdin.buffer.read()
    try:
        init = protocol.decode(raw[4:]) if len(raw) >= 4 else None
    except protocol.ProtocolError:
        init = None
    if not isinstance(init, dict) or not isinstance(init.get("key"), bytes):
        return 2
    # Detach: the launcher reaps this process; the grandchild keeps the stdout pipe
    # until it reports ready, then serves on its own.
    if os.fork():
        os._exit(0)
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    os.close(devnull)
    harden_process()
    try:
        settings = Settings.from_env()
        server = AgentServer(settings, init["key"], ttl=float(init.get("ttl", 900.0)))
        init.clear()
        server.open()
        server.bind()
    except VaultError as exc:
        from core.agent.server import error_reply

        out.write(protocol.encode(error_reply(exc)))
        out.close()
        return exc.exit_code
    server.install_signal_handlers()
    server.audit("agent_start", ttl=round(server.expires_at - server.started_at))
    out.write(protocol.encode({"ok": server.info()}))
    out.close()
    server.serve_forever()
    return 0
