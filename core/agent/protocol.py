"""The unlock agent's wire protocol: framing, encoding and peer checks.

Built from interpreter built-ins only (``_socket``, ``marshal``, ``os``; plus
:mod:`core.errors`, plain classes): the ``--batch``
client imports this module on its fast path, where importing ``socket``, ``json`` or
``re`` would cost more than the whole request (see docs/batch.md, "Speed").

A frame is a 4-byte big-endian length followed by a ``marshal`` (format 4) encoding of
one value made only of None, bool, int, float, str, bytes, list, tuple and dict.
``marshal`` is used instead of JSON because it is built in and keeps ``bytes`` and
``dict`` values typed; it is safe here because both ends check that the other end runs
as the same user (``SO_PEERCRED``) before reading anything, the socket is 0600, and
:func:`decode` rejects every type outside that list (code objects included).
"""

from __future__ import annotations

import _socket
import marshal
import os
import sys

from core.errors import VaultError

# typing costs milliseconds to import (the batch fast path loads this module): annotations only
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PROTOCOL_VERSION = 1
MAX_FRAME = 256 * 1024 * 1024
"""Largest frame accepted (a full export of a big vault fits)."""

_ALLOWED = (type(None), bool, int, float, str, bytes)
_UNIX_PATH_MAX = 100  # sun_path is 108 bytes; keep a margin


class ProtocolError(VaultError):
    """The peer sent something that is not a valid frame, or went away mid-frame."""

    title = "Unlock agent protocol error"


class PeerRejected(ProtocolError):
    """The process at the other end runs as another user."""


def encode(obj: Any) -> bytes:  # Any: typeshed's marshallable type is private
    """One frame (length prefix + payload) for ``obj``."""
    payload = marshal.dumps(obj, 4)
    if len(payload) > MAX_FRAME:
        raise ProtocolError("message too large for the agent protocol")
    return len(payload).to_bytes(4, "big") + payload


def decode(payload: bytes) -> object:
    """The value in a frame's payload; ProtocolError for anything but plain data."""
    try:
        obj = marshal.loads(payload)  # noqa: S302 - same-uid peer, checked below
    except (EOFError, ValueError, TypeError):
        raise ProtocolError("malformed frame from the agent peer") from None
    _check(obj, 0)
    return obj


def _check(obj: object, depth: int) -> None:
    if depth > 64:
        raise ProtocolError("frame nested too deeply")
    if isinstance(obj, _ALLOWED):
        return
    if isinstance(obj, list | tuple):
        for item in obj:
            _check(item, depth + 1)
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            _check(key, depth + 1)
            _check(value, depth + 1)
        return
    raise ProtocolError(f"unexpected {type(obj).__name__} in a frame")


def send(sock: _socket.socket, obj: object) -> None:
    """Write one frame."""
    sock.sendall(encode(obj))


def recv(sock: _socket.socket) -> object:
    """Read one frame; ProtocolError if the peer closes mid-frame or sends garbage."""
    head = _read_exact(sock, 4)
    size = int.from_bytes(head, "big")
    if size > MAX_FRAME:
        raise ProtocolError("frame too large")
    return decode(_read_exact(sock, size))


def _read_exact(sock: _socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ProtocolError("the agent connection closed unexpectedly")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def peer_credentials(sock: _socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a Unix socket (SO_PEERCRED)."""
    raw = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    order = sys.byteorder
    return (
        int.from_bytes(raw[0:4], order, signed=True),
        int.from_bytes(raw[4:8], order),
        int.from_bytes(raw[8:12], order),
    )


def check_peer(sock: _socket.socket) -> int:
    """Return the peer's pid, or raise PeerRejected unless it runs as our uid."""
    pid, uid, _gid = peer_credentials(sock)
    if uid != os.getuid():
        raise PeerRejected(f"the agent peer runs as uid {uid}, not {os.getuid()}")
    return pid


class ShortPath:
    """A socket address for ``path`` that fits ``sun_path`` (108 bytes on Linux).

    Long paths are reached through ``/proc/self/fd/N/<name>`` with ``N`` an ``O_PATH``
    descriptor of the folder, which Linux resolves like the real path. Use as a context
    manager; the descriptor is closed on exit.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> str:
        if len(os.fsencode(self.path)) <= _UNIX_PATH_MAX:
            return self.path
        folder, name = os.path.split(self.path)
        flags = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY
        self._fd = os.open(folder or ".", flags)
        return f"/proc/self/fd/{self._fd}/{name}"

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
