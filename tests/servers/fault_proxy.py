"""An HTTP proxy that injects faults in front of a real server (OpenBao, moto).

    proxy = FaultProxy(upstream="http://127.0.0.1:8200", style="vault").start()
    proxy.url                      # point the client here instead of the server
    proxy.faults.throttle(3)       # the next 3 requests get the service's 429 body
    proxy.faults.server_errors(2)  # then two 503s
    proxy.faults.stop_after(50)    # then, after 50 more requests, a crash
    proxy.server.restart()         # back up (the real server never went away)

Faults answer with the body the real service sends (``style``): HashiCorp Vault's
``{"errors": [...]}`` or AWS's JSON protocol ``{"__type": "ThrottlingException"}``.
Everything else is forwarded unchanged over a keep-alive connection per thread.
"""

from __future__ import annotations

import argparse
import http.client
import threading
from urllib.parse import urlsplit

from tests.servers.http_base import Faults, HttpServer, Request, Response

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


def aws_fault(kind: str, status: int, retry_after: float | None) -> Response:
    """An AWS JSON-protocol error answer: ``deny``, ``throttle`` or a server error."""
    extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if kind == "deny":
        return Response(
            400,
            {"__type": "AccessDeniedException", "message": "not authorized"},
            {"x-amzn-ErrorType": "AccessDeniedException"},
        )
    if kind == "throttle":
        return Response(
            400,
            {"__type": "ThrottlingException", "message": "Rate exceeded"},
            {"x-amzn-ErrorType": "ThrottlingException", **extra},
        )
    return Response(
        status or 500,
        {"__type": "InternalServiceError", "message": "An error occurred on the server side."},
        {"x-amzn-ErrorType": "InternalServiceError"},
    )


class FaultProxy:
    """Forwards to ``upstream``; :attr:`faults` decides which requests fail instead."""

    def __init__(self, upstream: str, *, style: str = "vault", port: int = 0) -> None:
        split = urlsplit(upstream)
        self.upstream_host = split.hostname or "127.0.0.1"
        self.upstream_port = split.port or 80
        self.style = style
        self.faults = Faults()
        self.server = HttpServer(self, port=port)
        self._local = threading.local()

    @property
    def url(self) -> str:
        """The proxy's URL."""
        return self.server.url

    def start(self) -> FaultProxy:
        """Start listening."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.server.stop()

    def fault_response(self, kind: str, status: int, retry_after: float | None) -> Response:
        """The service's own throttling / error body."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if self.style == "aws":
            return aws_fault(kind, status, retry_after)
        if kind == "throttle":
            return Response(
                status or 429, {"errors": ['request path "x": rate limit quota exceeded']}, headers
            )
        return Response(
            status or 503,
            {"errors": ["Vault is sealed"]} if status == 503 else {"errors": ["internal error"]},
        )

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
            self._local.conn = conn
        return conn

    def handle(self, req: Request) -> Response:
        """Forward one request to the upstream server."""
        target = req.target or req.path
        headers = {k: v for k, v in req.headers.items() if k not in _HOP}
        for attempt in range(2):
            conn = self._conn()
            try:
                conn.request(req.method, target, body=req.body or None, headers=headers)
                upstream = conn.getresponse()
                body = upstream.read()
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt:
                    return Response(502, {"errors": ["upstream unreachable"]})
        out_headers = {k: v for k, v in upstream.getheaders() if k.lower() not in _HOP}
        ctype = upstream.getheader("Content-Type")
        if ctype:
            out_headers["Content-Type"] = ctype
        return Response(upstream.status, body, out_headers)


def main() -> None:
    """Run a proxy until killed (the benchmark uses it to add network latency)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--style", choices=("vault", "aws"), default="vault")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    proxy = FaultProxy(args.upstream, style=args.style, port=args.port).start()
    proxy.faults.set_latency(args.latency_ms / 1000)
    print(proxy.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
