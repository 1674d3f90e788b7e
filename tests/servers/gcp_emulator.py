"""A protocol-faithful GCP Secret Manager v1 REST emulator (HTTP on 127.0.0.1).

Google publishes no Secret Manager emulator. This one serves the v1 REST surface the
real ``google-cloud-secret-manager`` client uses with ``transport="rest"`` and an
``api_endpoint`` of ``http://127.0.0.1:<port>``:

- ``POST /v1/projects/{p}/secrets?secretId=ID`` (a ``replication`` is required),
  ``GET|PATCH|DELETE /v1/projects/{p}/secrets/{id}``, ``GET /v1/projects/{p}/secrets``
  (``pageSize``/``pageToken`` -> ``{"secrets", "nextPageToken", "totalSize"}``);
- ``POST /v1/{secret}:addVersion`` (``payload.data`` base64 with ``dataCrc32c`` checked,
  at most 65,536 bytes), ``GET /v1/{secret}/versions/{n|latest}[:access]``,
  ``GET /v1/{secret}/versions`` (newest first, paged), ``POST
  .../versions/{n}:disable|:enable|:destroy``;
- resource names come back with the project *number*, as Google's do; secret ids
  ``[A-Za-z0-9_-]{1,255}``; ``latest`` is the newest version whatever its state, and
  accessing a disabled or destroyed version fails with ``FAILED_PRECONDITION``;
- errors ``{"error": {"code": 404, "message": ..., "status": "NOT_FOUND"}}``; enums as
  integers when the client asks ``$alt=json;enum-encoding=int``;
- :class:`~tests.servers.http_base.Faults` (429 ``RESOURCE_EXHAUSTED``, 5xx
  ``UNAVAILABLE``, crashes). With ``token`` set, requests must carry that bearer token.

The JSON follows the proto3 JSON mapping the REST API uses: camelCase fields, base64
bytes, int64 as strings, RFC 3339 UTC times.

Run standalone (the benchmark does): ``python -m tests.servers.gcp_emulator --port N``.
"""

from __future__ import annotations

import argparse
import base64
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.servers.http_base import Faults, HttpServer, Request, Response, error_status_name

ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
MAX_PAYLOAD = 65536
DEFAULT_PAGE = 100
MAX_PAGE = 25000
ENABLED, DISABLED, DESTROYED = 1, 2, 3
_STATE_NAMES = {ENABLED: "ENABLED", DISABLED: "DISABLED", DESTROYED: "DESTROYED"}


def _rfc3339(when: datetime) -> str:
    """Google's JSON timestamp form: UTC, microseconds, ``Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Version:
    number: int
    created: datetime
    data: bytes
    crc: int
    state: int = ENABLED
    destroyed: datetime | None = None


@dataclass
class _Secret:
    secret_id: str
    created: datetime
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    replication: dict[str, Any] = field(default_factory=lambda: {"automatic": {}})
    versions: list[_Version] = field(default_factory=list)
    etag_n: int = 1


def _crc32c(data: bytes) -> int:
    import google_crc32c

    return int(google_crc32c.value(data))


class GcpSecretManagerEmulator:
    """State and request handling of one emulated Secret Manager (see module docstring)."""

    def __init__(
        self,
        *,
        project: str = "vaultui-test",
        project_number: str = "123456789012",
        token: str | None = None,
        port: int = 0,
    ) -> None:
        self.project = project
        self.project_number = project_number
        self.token = token
        self.faults = Faults()
        self._lock = threading.RLock()
        self._secrets: dict[str, _Secret] = {}
        self.requests: list[tuple[str, str]] = []
        self.server = HttpServer(self, port=port)

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The ``api_endpoint`` (``VAULTUI_GCP_ENDPOINT``)."""
        return self.server.url

    def start(self) -> GcpSecretManagerEmulator:
        """Start serving."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving (state is kept for :meth:`start`)."""
        self.server.stop()

    def reset(self) -> None:
        """Forget every secret, fault and request record."""
        with self._lock:
            self._secrets.clear()
            self.requests.clear()
        self.faults.clear()

    def names(self) -> list[str]:
        """Secret ids (for assertions)."""
        with self._lock:
            return sorted(self._secrets)

    def raw(self, secret_id: str) -> dict[str, Any] | None:
        """The latest payload and labels as stored (for assertions)."""
        with self._lock:
            s = self._secrets.get(secret_id)
            if s is None or not s.versions:
                return None
            return {"data": s.versions[-1].data, "labels": dict(s.labels)}

    # ------------------------------------------------------------------ responses

    @staticmethod
    def _error(status: int, message: str, name: str | None = None) -> Response:
        return Response(
            status,
            {
                "error": {
                    "code": status,
                    "message": message,
                    "status": name or error_status_name(status),
                }
            },
        )

    def fault_response(self, kind: str, status: int, retry_after: float | None) -> Response:
        """What Google's front end sends when throttling or failing."""
        if kind == "throttle":
            resp = self._error(
                status or 429,
                "Quota exceeded for quota metric 'Access requests' and limit 'Access "
                "requests per minute per project'.",
                "RESOURCE_EXHAUSTED",
            )
            if retry_after is not None:
                resp.headers["Retry-After"] = str(retry_after)
            return resp
        if kind == "deny":
            return self._error(
                403, "Permission 'secretmanager.versions.access' denied.", "PERMISSION_DENIED"
            )
        return self._error(status or 503, "The service is currently unavailable.", "UNAVAILABLE")

    def _secret_name(self, s: _Secret) -> str:
        return f"projects/{self.project_number}/secrets/{s.secret_id}"

    def _secret_json(self, s: _Secret) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self._secret_name(s),
            "replication": s.replication,
            "createTime": _rfc3339(s.created),
            "etag": f'"{s.etag_n}"',
        }
        if s.labels:
            out["labels"] = s.labels
        if s.annotations:
            out["annotations"] = s.annotations
        return out

    def _version_json(self, s: _Secret, v: _Version, ints: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": f"{self._secret_name(s)}/versions/{v.number}",
            "createTime": _rfc3339(v.created),
            "state": v.state if ints else _STATE_NAMES[v.state],
            "etag": f'"{v.number}-{v.state}"',
            "clientSpecifiedPayloadChecksum": True,
        }
        if v.destroyed is not None:
            out["destroyTime"] = _rfc3339(v.destroyed)
        return out

    # ------------------------------------------------------------------ dispatch

    def handle(self, req: Request) -> Response:
        """Answer one request."""
        with self._lock:
            self.requests.append((req.method, req.path))
            if (
                self.token is not None
                and req.headers.get("authorization") != f"Bearer {self.token}"
            ):
                return self._error(
                    401,
                    "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential.",
                )
            ints = "enum-encoding=int" in (req.param("$alt") or "")
            path = req.path
            if not path.startswith("/v1/projects/"):
                return self._error(404, "Not found")
            rest = path[len("/v1/projects/") :]
            project, _, rest = rest.partition("/")
            if project not in (self.project, self.project_number):
                return self._error(
                    403, f"Permission denied on resource project {project}.", "PERMISSION_DENIED"
                )
            if rest == "secrets":
                if req.method == "POST":
                    return self._create(req)
                if req.method == "GET":
                    return self._list_secrets(req)
                return self._error(405, "Method not allowed")
            if not rest.startswith("secrets/"):
                return self._error(404, "Not found")
            rest = rest[len("secrets/") :]
            secret_id, _, tail = rest.partition("/")
            verb = ""
            if ":" in secret_id:
                secret_id, verb = secret_id.split(":", 1)
            secret = self._secrets.get(secret_id)
            missing = self._error(
                404, f"Secret [projects/{self.project_number}/secrets/{secret_id}] not found."
            )
            if not tail:
                if secret is None:
                    return missing
                if verb == "addVersion" and req.method == "POST":
                    return self._add_version(req, secret, ints)
                if verb:
                    return self._error(404, "Not found")
                if req.method == "GET":
                    return Response(200, self._secret_json(secret))
                if req.method == "PATCH":
                    return self._update(req, secret)
                if req.method == "DELETE":
                    etag = req.param("etag")
                    if etag and etag != f'"{secret.etag_n}"':
                        return self._error(
                            400, "The etag provided does not match.", "FAILED_PRECONDITION"
                        )
                    del self._secrets[secret_id]
                    return Response(200, {})
                return self._error(405, "Method not allowed")
            if secret is None:
                return missing
            if tail == "versions" and req.method == "GET":
                return self._list_versions(req, secret, ints)
            if tail.startswith("versions/"):
                ref = tail[len("versions/") :]
                verb = ""
                if ":" in ref:
                    ref, verb = ref.split(":", 1)
                return self._version_op(req, secret, ref, verb, ints)
            return self._error(404, "Not found")

    def _create(self, req: Request) -> Response:
        secret_id = req.param("secretId") or ""
        if not ID_RE.match(secret_id):
            return self._error(
                400,
                "Secret id must be 1-255 characters of letters, numbers, underscores and hyphens.",
            )
        if secret_id in self._secrets:
            return self._error(
                409,
                f"Secret [projects/{self.project_number}/secrets/{secret_id}] already exists.",
            )
        try:
            body = req.json() or {}
        except ValueError:
            return self._error(400, "Invalid JSON payload received.")
        replication = body.get("replication")
        if not replication:
            return self._error(400, "Secret.replication is required.")
        labels = body.get("labels") or {}
        for key in labels:
            if not re.match(r"^[a-z][a-z0-9_-]{0,62}$", key):
                return self._error(400, f"Invalid label key: {key}")
        secret = _Secret(
            secret_id=secret_id,
            created=datetime.now(UTC),
            labels=dict(labels),
            annotations=dict(body.get("annotations") or {}),
            replication=replication,
        )
        self._secrets[secret_id] = secret
        return Response(200, self._secret_json(secret))

    def _update(self, req: Request, secret: _Secret) -> Response:
        mask = [m.strip() for m in (req.param("updateMask") or "").split(",") if m.strip()]
        if not mask:
            return self._error(400, "update_mask is required.")
        body = req.json() or {}
        for path in mask:
            if path == "labels":
                secret.labels = dict(body.get("labels") or {})
            elif path == "annotations":
                secret.annotations = dict(body.get("annotations") or {})
            else:
                return self._error(400, f"Unsupported update_mask path: {path}")
        secret.etag_n += 1
        return Response(200, self._secret_json(secret))

    def _page(self, req: Request, items: list[Any]) -> tuple[list[Any], str | None] | Response:
        raw = req.param("pageSize")
        try:
            size = int(raw) if raw else DEFAULT_PAGE
        except ValueError:
            return self._error(400, "page_size must be an integer.")
        if size < 0 or size > MAX_PAGE:
            return self._error(400, f"page_size must be between 0 and {MAX_PAGE}.")
        size = size or DEFAULT_PAGE
        start = 0
        token = req.param("pageToken")
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError:
                return self._error(400, "Invalid page token.")
        page = items[start : start + size]
        nxt = None
        if start + size < len(items):
            nxt = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return page, nxt

    def _list_secrets(self, req: Request) -> Response:
        items = [s for _, s in sorted(self._secrets.items())]
        paged = self._page(req, items)
        if isinstance(paged, Response):
            return paged
        page, nxt = paged
        body: dict[str, Any] = {
            "secrets": [self._secret_json(s) for s in page],
            "totalSize": len(items),
        }
        if nxt:
            body["nextPageToken"] = nxt
        return Response(200, body)

    def _list_versions(self, req: Request, secret: _Secret, ints: bool) -> Response:
        items = list(reversed(secret.versions))
        paged = self._page(req, items)
        if isinstance(paged, Response):
            return paged
        page, nxt = paged
        body: dict[str, Any] = {
            "versions": [self._version_json(secret, v, ints) for v in page],
            "totalSize": len(items),
        }
        if nxt:
            body["nextPageToken"] = nxt
        return Response(200, body)

    def _add_version(self, req: Request, secret: _Secret, ints: bool) -> Response:
        try:
            body = req.json() or {}
            payload = body.get("payload") or {}
            data = base64.b64decode(payload.get("data") or "", validate=True)
        except ValueError:
            return self._error(400, "Invalid JSON payload received.")
        if len(data) > MAX_PAYLOAD:
            return self._error(
                400, f"Secret Payload cannot be larger than {MAX_PAYLOAD // 1024}KiB."
            )
        crc = _crc32c(data)
        given = payload.get("dataCrc32c")
        if given is not None and int(given) != crc:
            return self._error(
                400,
                "Checksum mismatch: the data_crc32c does not match the payload.",
                "INVALID_ARGUMENT",
            )
        number = (secret.versions[-1].number + 1) if secret.versions else 1
        version = _Version(number=number, created=datetime.now(UTC), data=data, crc=crc)
        secret.versions.append(version)
        return Response(200, self._version_json(secret, version, ints))

    def _version_op(
        self, req: Request, secret: _Secret, ref: str, verb: str, ints: bool
    ) -> Response:
        if ref == "latest":
            version = secret.versions[-1] if secret.versions else None
        else:
            try:
                number = int(ref)
            except ValueError:
                return self._error(400, f"Invalid version id: {ref}")
            version = next((v for v in secret.versions if v.number == number), None)
        if version is None:
            return self._error(
                404,
                f"Secret Version [{self._secret_name(secret)}/versions/{ref}] not found.",
            )
        if verb == "access" and req.method == "GET":
            if version.state != ENABLED:
                state = "DISABLED" if version.state == DISABLED else "DESTROYED"
                return self._error(
                    400,
                    f"Secret Version [{self._secret_name(secret)}/versions/{version.number}] "
                    f"is in {state} state.",
                    "FAILED_PRECONDITION",
                )
            return Response(
                200,
                {
                    "name": f"{self._secret_name(secret)}/versions/{version.number}",
                    "payload": {
                        "data": base64.b64encode(version.data).decode(),
                        "dataCrc32c": str(version.crc),
                    },
                },
            )
        if not verb and req.method == "GET":
            return Response(200, self._version_json(secret, version, ints))
        if req.method == "POST" and verb in ("disable", "enable", "destroy"):
            if version.state == DESTROYED:
                return self._error(
                    400, "Secret Version is in DESTROYED state.", "FAILED_PRECONDITION"
                )
            if verb == "disable":
                version.state = DISABLED
            elif verb == "enable":
                version.state = ENABLED
            else:
                version.state = DESTROYED
                version.data = b""
                version.destroyed = datetime.now(UTC)
            return Response(200, self._version_json(secret, version, ints))
        return self._error(404, "Not found")


def main() -> None:
    """Serve an emulator until killed (used by the benchmark)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every response")
    parser.add_argument("--project", default="vaultui-test")
    args = parser.parse_args()
    emu = GcpSecretManagerEmulator(project=args.project, port=args.port).start()
    emu.faults.set_latency(args.latency_ms / 1000)
    print(emu.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
