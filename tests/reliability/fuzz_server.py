"""An HTTP(S) server on 127.0.0.1 that answers with damaged responses, for fuzzing the
provider classes through their real SDKs.

    server = MutatingServer(app, tls=emulator.tls).start()
    server.plan([Mutation("status", status=503), Mutation("pass"), Mutation("drop")])
    server.url                  # point the provider here

``app`` is anything with ``handle(Request) -> Response``: an emulator of
:mod:`tests.servers` (Azure, GCP) served in-process, or a
:class:`tests.servers.fault_proxy.FaultProxy` forwarding to a real server (OpenBao,
moto). Each request is answered by the app first; the next planned :class:`Mutation`
then damages that answer (status, body, headers, or the connection itself). When the
plan is used up, answers pass through unchanged.

Every damaged answer closes the connection afterwards, so one damaged response never
garbles the next one on a kept-alive connection (each example stays deterministic).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from tests.servers.http_base import EmulatorHandler, HttpServer, Request, Response, TLSFiles

DELETE = object()
"""A :class:`Mutation` ``replacement`` that removes the chosen JSON field instead."""


class Answering(Protocol):
    """What :class:`MutatingServer` serves (an emulator or a FaultProxy)."""

    def handle(self, req: Request) -> Response:
        """Answer one request."""
        ...


@dataclass
class Mutation:
    """How to damage one response.

    Kinds:

    - ``pass``: unchanged;
    - ``status``: the same body with another ``status``;
    - ``body``: ``status`` with ``data`` as the whole body (JSON content type);
    - ``json``: the body's JSON with the node reached by ``path`` replaced by
      ``replacement`` (or removed, with :data:`DELETE`); non-JSON bodies pass;
    - ``truncate``: the first ``frac`` of the body, with a matching Content-Length;
    - ``short``: the full Content-Length but only ``frac`` of the body, then the
      connection closes (a server dying mid-response);
    - ``drop``: the connection closes without any answer;
    - ``ctype``: the same body labelled with ``ctype`` (empty: no Content-Type);
    - ``encoding``: ``Content-Encoding: ctype`` on a body that is not encoded so;
    - ``retry_after``: ``status`` (429/503) with ``Retry-After: header`` and the body;
    - ``huge``: a body of about ``size`` bytes (the JSON with one huge string field,
      or, when ``data`` is ``b"["``, ``size`` nested arrays).
    """

    kind: str
    status: int = 200
    data: bytes = b""
    frac: float = 0.5
    path: list[int] = field(default_factory=list)
    replacement: Any = None
    ctype: str = ""
    header: str = ""
    size: int = 0

    def __repr__(self) -> str:  # short, for hypothesis' falsifying examples
        keep = {
            "pass": (),
            "status": ("status",),
            "body": ("status", "data"),
            "json": ("path", "replacement"),
            "truncate": ("frac",),
            "short": ("frac",),
            "drop": (),
            "ctype": ("ctype",),
            "encoding": ("ctype",),
            "retry_after": ("status", "header"),
            "huge": ("size", "data"),
        }.get(self.kind, ())
        args = ", ".join(f"{k}={_short(getattr(self, k))}" for k in keep)
        return f"Mutation({self.kind!r}{', ' if args else ''}{args})"


def _short(value: Any) -> str:
    if value is DELETE:
        return "DELETE"
    text = repr(value)
    return text if len(text) <= 60 else text[:40] + f"...<{len(text)} chars>"


@dataclass
class Wire:
    """A response about to be written: status, headers, body, and how to send it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    send_bytes: int | None = None  # write only this many body bytes, then close
    close: bool = False
    no_answer: bool = False


def to_wire(resp: Response) -> Wire:
    """Serialize an app's :class:`Response` the way tests.servers.http_base does."""
    headers = [(k, v) for k, v in resp.headers.items() if k.lower() != "content-type"]
    ctype = resp.headers.get("Content-Type")
    if isinstance(resp.body, bytes | bytearray):
        body = bytes(resp.body)
        ctype = ctype or "application/octet-stream"
    elif resp.body is None:
        body = b""
        ctype = ctype or "application/json"
    else:
        body = json.dumps(resp.body).encode()
        ctype = "application/json; charset=utf-8"
    if body or resp.status not in (204, 304):
        headers.append(("Content-Type", ctype))
    return Wire(resp.status, headers, body)


def _set_header(wire: Wire, name: str, value: str | None) -> None:
    wire.headers = [(k, v) for k, v in wire.headers if k.lower() != name.lower()]
    if value is not None:
        wire.headers.append((name, value))


def _json_replace(doc: Any, path: list[int], replacement: Any) -> Any:
    """``doc`` with the node ``path`` leads to replaced (indices pick keys/items modulo)."""
    if not path or not isinstance(doc, dict | list) or not doc:
        return doc if replacement is DELETE else replacement
    step, rest = path[0], path[1:]
    if isinstance(doc, dict):
        key = list(doc)[step % len(doc)]
        if not rest and replacement is DELETE:
            return {k: v for k, v in doc.items() if k != key}
        return {**doc, key: _json_replace(doc[key], rest, replacement)}
    i = step % len(doc)
    if not rest and replacement is DELETE:
        return doc[:i] + doc[i + 1 :]
    return [*doc[:i], _json_replace(doc[i], rest, replacement), *doc[i + 1 :]]


def mutate(wire: Wire, m: Mutation) -> Wire:
    """Apply ``m`` to ``wire`` (see :class:`Mutation`)."""
    if m.kind == "pass":
        return wire
    wire.close = True
    if m.kind == "status":
        wire.status = m.status
    elif m.kind == "body":
        wire.status, wire.body = m.status, m.data
        _set_header(wire, "Content-Type", "application/json")
    elif m.kind == "json":
        try:
            doc = json.loads(wire.body)
        except ValueError:
            return wire
        wire.body = json.dumps(_json_replace(doc, m.path, m.replacement)).encode()
    elif m.kind == "truncate":
        wire.body = wire.body[: int(len(wire.body) * m.frac)]
    elif m.kind == "short":
        wire.send_bytes = int(len(wire.body) * m.frac)
    elif m.kind == "drop":
        wire.no_answer = True
    elif m.kind == "ctype":
        _set_header(wire, "Content-Type", m.ctype or None)
    elif m.kind == "encoding":
        _set_header(wire, "Content-Encoding", m.ctype)
    elif m.kind == "retry_after":
        wire.status = m.status
        _set_header(wire, "Retry-After", m.header)
    elif m.kind == "huge":
        if m.data == b"[":
            wire.body = b"[" * m.size + b"]" * m.size
        else:
            try:
                doc = json.loads(wire.body)
            except ValueError:
                doc = None
            filler = "x" * m.size
            doc = {**doc, "padding": filler} if isinstance(doc, dict) else filler
            wire.body = json.dumps(doc).encode()
    return wire


class _Handler(EmulatorHandler):
    """Answers with the app, then damages the answer as the server's plan says."""

    timeout = 30

    def _dispatch(self) -> None:
        owner = self.server.owner
        req = self._read_request()
        try:
            resp = owner.app.handle(req)
        except Exception as exc:  # an emulator bug: answer 500 as a service would
            resp = Response(500, {"error": {"code": 500, "message": type(exc).__name__}})
        wire = mutate(to_wire(resp), owner.next_mutation())
        if wire.no_answer:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(wire.status)
        for key, value in wire.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(wire.body)))
        if wire.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        data = wire.body if wire.send_bytes is None else wire.body[: wire.send_bytes]
        if data and self.command != "HEAD":
            with contextlib.suppress(OSError):
                self.wfile.write(data)
        if wire.send_bytes is not None:
            with contextlib.suppress(OSError):
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_LIST = _dispatch


class MutatingServer(HttpServer):
    """Serves ``app`` on 127.0.0.1 (HTTPS with ``tls``), damaging answers as planned."""

    handler = _Handler

    def __init__(self, app: Answering, *, tls: TLSFiles | None = None) -> None:
        super().__init__(app, tls=tls)  # type: ignore[arg-type]
        self._plan: deque[Mutation] = deque()
        self._plan_lock = threading.Lock()
        self.requests = 0
        self.damaged = 0

    def plan(self, mutations: list[Mutation]) -> None:
        """Damage the next requests' answers with ``mutations``, one each, in order."""
        with self._plan_lock:
            self._plan = deque(mutations)

    def clear(self) -> None:
        """Forget what is left of the plan (answers pass through again)."""
        self.plan([])

    def next_mutation(self) -> Mutation:
        """The mutation for the request being answered (``pass`` once the plan is done)."""
        with self._plan_lock:
            self.requests += 1
            if not self._plan:
                return Mutation("pass")
            m = self._plan.popleft()
            if m.kind != "pass":
                self.damaged += 1
            return m
