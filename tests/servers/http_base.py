"""Plumbing shared by the emulators and the fault proxy: an HTTP/1.1 server on 127.0.0.1
(optionally HTTPS with a throwaway test CA) that can be stopped, "crash" mid-request,
restart on the same port with its state intact, and inject faults.

An *app* object holds the state and answers requests::

    class App:
        faults: Faults
        def handle(self, req: Request) -> Response: ...

:class:`HttpServer` serves one app; stopping and restarting the server keeps the app
(and so every stored secret), as a real service keeps its data across an outage.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class TLSFiles:
    """A test CA and a leaf certificate for 127.0.0.1 / localhost (PEM files)."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_test_tls(directory: Path) -> TLSFiles:
    """Create a CA and a server certificate (SAN IP:127.0.0.1, DNS:localhost) in ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vaultui test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TLSFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    base_url: str
    target: str = ""
    """The request target exactly as sent (path and query)."""

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body parsed as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None


@dataclass
class Response:
    """What an app answers; ``body`` may be bytes or a JSON-able object."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class App(Protocol):
    """What :class:`HttpServer` serves."""

    faults: Faults

    def handle(self, req: Request) -> Response:
        """Answer one request."""
        ...

    def fault_response(self, kind: str, status: int, retry_after: float | None) -> Response:
        """The service's own response for an injected fault ("throttle", "error", "deny")."""
        ...


@dataclass
class _Fault:
    kind: str  # "throttle" | "error" | "deny" | "stop"
    status: int = 0
    retry_after: float | None = None


class Faults:
    """A thread-safe plan of faults, consulted once per request, in order.

    - :meth:`throttle` the next ``n`` requests (429, optional ``Retry-After``);
    - :meth:`server_errors`: the next ``n`` requests fail with a 5xx;
    - :meth:`deny`: the next ``n`` requests are refused as unauthorized (403);
    - :meth:`stop_after`: after ``n`` more requests are served, the server drops the
      next one and stops listening (a crash) until restarted.

    ``requests`` counts every request seen; ``injected`` counts faults served.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plan: deque[_Fault] = deque()
        self._stop_countdown: int | None = None
        self._match: Callable[[Request], bool] | None = None
        self.requests = 0
        self.injected = 0
        self.latency = 0.0

    def set_latency(self, seconds: float) -> None:
        """Delay every response by ``seconds`` (a network round trip to a cloud region)."""
        self.latency = max(0.0, float(seconds))

    def throttle(self, n: int, *, retry_after: float | None = None, status: int = 429) -> None:
        """Answer the next ``n`` requests with a throttling response."""
        with self._lock:
            self._plan.extend(_Fault("throttle", status, retry_after) for _ in range(n))

    def deny(self, n: int) -> None:
        """Answer the next ``n`` requests with the service's "access denied" response."""
        with self._lock:
            self._plan.extend(_Fault("deny", 403) for _ in range(n))

    def server_errors(self, n: int, status: int = 503) -> None:
        """Answer the next ``n`` requests with ``status`` (a 5xx)."""
        with self._lock:
            self._plan.extend(_Fault("error", status) for _ in range(n))

    def stop_after(self, n: int) -> None:
        """Serve ``n`` more requests, then crash (drop the next one and stop listening)."""
        with self._lock:
            self._stop_countdown = n

    def only(self, match: Callable[[Request], bool] | None) -> None:
        """Apply planned faults only to requests ``match`` accepts (None: all)."""
        with self._lock:
            self._match = match

    def clear(self) -> None:
        """Forget every planned fault and reset the counters."""
        with self._lock:
            self._plan.clear()
            self._stop_countdown = None
            self._match = None
            self.requests = 0
            self.injected = 0
            self.latency = 0.0

    def next(self, req: Request) -> _Fault | None:
        """The fault for this request, if any (called by the server)."""
        with self._lock:
            self.requests += 1
            if self._stop_countdown is not None:
                if self._stop_countdown <= 0:
                    self._stop_countdown = None
                    self.injected += 1
                    return _Fault("stop")
                self._stop_countdown -= 1
            if self._plan and (self._match is None or self._match(req)):
                self.injected += 1
                return self._plan.popleft()
            return None


class TrackingServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP (or, with ``owner.ssl_context``, HTTPS) server on ``addr`` that
    keeps its open connections, so :meth:`stop` can cut them like a dying server."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], handler: type, owner: Any) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (or a crash or cut we caused) are part of the tests

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.conn_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def finish_request(self, request: Any, client_address: Any) -> None:
        ctx = self.owner.ssl_context
        if ctx is None:
            self.RequestHandlerClass(request, client_address, self)
            return
        try:
            request.settimeout(10)
            wrapped = ctx.wrap_socket(request, server_side=True)  # detaches ``request``
        except (ssl.SSLError, OSError):
            return  # a client that gave up on TLS (or rejected our CA)
        wrapped.settimeout(None)
        with self.conn_lock:
            self.connections.discard(request)
            self.connections.add(wrapped)
        try:
            self.RequestHandlerClass(wrapped, client_address, self)
        finally:
            with self.conn_lock:
                self.connections.discard(wrapped)
            with contextlib.suppress(OSError):
                wrapped.close()

    def stop(self) -> None:
        """Stop serving, close the socket and cut every open connection."""
        self.shutdown()
        self.server_close()
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class EmulatorHandler(http.server.BaseHTTPRequestHandler):
    """Answers each request with ``server.owner.app`` (faults applied); subclasses may
    override :meth:`_dispatch` and reuse :meth:`_read_request`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60
    server: TrackingServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _read_request(self) -> Request:
        """The request being handled, body read, as a :class:`Request`."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        return Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            base_url=self.server.owner.url,
            target=self.path,
        )

    def _dispatch(self) -> None:
        owner = self.server.owner
        if owner.down:
            self.close_connection = True
            return
        req = self._read_request()
        faults = owner.app.faults
        if faults.latency:
            time.sleep(faults.latency)
        fault = faults.next(req)
        if fault is not None and fault.kind == "stop":
            self.close_connection = True
            owner.crash()
            return
        if fault is not None:
            resp = owner.app.fault_response(fault.kind, fault.status, fault.retry_after)
        else:
            try:
                resp = owner.app.handle(req)
            except Exception as exc:  # an emulator bug: answer 500 like a real service
                resp = Response(500, {"error": {"code": 500, "message": type(exc).__name__}})
        self._send(resp)

    def _send(self, resp: Response) -> None:
        if isinstance(resp.body, bytes | bytearray):
            data = bytes(resp.body)
            ctype = resp.headers.get("Content-Type", "application/octet-stream")
        elif resp.body is None:
            data = b""
            ctype = resp.headers.get("Content-Type", "application/json")
        else:
            data = json.dumps(resp.body).encode()
            ctype = "application/json; charset=utf-8"
        self.send_response(resp.status)
        for key, value in resp.headers.items():
            if key.lower() != "content-type":
                self.send_header(key, value)
        if data or resp.status not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_LIST = _dispatch


class HttpServer:
    """Serves an app on 127.0.0.1 (HTTPS when ``tls`` is given) in a background thread;
    ``handler`` answers each request."""

    handler: type[EmulatorHandler] = EmulatorHandler

    def __init__(self, app: App, *, tls: TLSFiles | None = None, port: int = 0) -> None:
        self.app = app
        self.tls = tls
        self.port = port
        self.down = True
        self.ssl_context: ssl.SSLContext | None = None
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file))
            self.ssl_context = ctx
        self._server: TrackingServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """``http(s)://127.0.0.1:<port>``."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> HttpServer:
        """Start listening (on the same port as before, after a stop)."""
        with self._lock:
            if self._server is not None:
                return self
            server = TrackingServer(("127.0.0.1", self.port), self.handler, self)
            self.port = server.server_address[1]
            self._server = server
            self.down = False
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (the app keeps its state)."""
        with self._lock:
            server, self._server = self._server, None
            self.down = True
        if server is not None:
            server.stop()

    def crash(self) -> None:
        """Stop from inside a request handler (without waiting on ourselves)."""
        self.down = True
        threading.Thread(target=self.stop, daemon=True).start()

    def restart(self) -> None:
        """Start again on the same port after :meth:`stop` or a crash."""
        self.stop()
        self.start()


def error_status_name(status: int) -> str:
    """The canonical google.rpc status name for an HTTP status (used by GCP bodies)."""
    return {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        409: "ALREADY_EXISTS",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        502: "UNAVAILABLE",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }.get(status, "UNKNOWN")
