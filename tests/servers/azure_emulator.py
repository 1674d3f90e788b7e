"""A protocol-faithful Azure Key Vault *secrets* emulator (HTTPS on 127.0.0.1).

Azure publishes no emulator, so this one follows the REST reference ("Key Vault
secrets", api-version 7.x/2025+) closely enough for the real ``azure-keyvault-secrets``
client to run unchanged against it:

- HTTPS with a throwaway test CA (the SDK refuses bearer tokens over plain HTTP);
- the bearer *challenge*: a request without a token gets ``401`` with
  ``WWW-Authenticate: Bearer authorization=..., resource=https://vault.azure.net``;
- ``PUT /secrets/{name}``, ``GET /secrets/{name}/`` (latest), ``GET|PATCH
  /secrets/{name}/{version}``, ``GET /secrets`` and ``GET /secrets/{name}/versions``
  (``{"value": [...], "nextLink": <absolute url or null>}``, ``maxresults`` 1..25),
  ``DELETE /secrets/{name}`` (soft delete), ``GET|DELETE /deletedsecrets/{name}``
  (purge answers 204), ``GET /deletedsecrets``, ``POST /deletedsecrets/{name}/recover``;
- names ``^[0-9a-zA-Z-]{1,127}$`` compared case-insensitively, values up to 25,600
  bytes, 32-hex version ids, integer unix-second timestamps, ``409`` when setting a name
  that is soft deleted, a disabled version answers 403, error bodies
  ``{"error": {"code": ..., "message": ...}}``;
- :class:`~tests.servers.http_base.Faults` for throttling (429 + ``Retry-After``), 5xx
  bursts and crashes.

Run standalone (the benchmark does): ``python -m tests.servers.azure_emulator --port N
--tls-dir DIR --token T``; it prints the URL and serves until killed.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers.http_base import (
    Faults,
    HttpServer,
    Request,
    Response,
    TLSFiles,
    make_test_tls,
)

NAME_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
MAX_VALUE_BYTES = 25600
MAX_PAGE = 25
RECOVERABLE_DAYS = 90


@dataclass
class _Version:
    id: str
    value: str
    content_type: str | None
    tags: dict[str, str] | None
    enabled: bool
    created: int
    updated: int


@dataclass
class _Secret:
    name: str  # as first created (case kept)
    versions: list[_Version] = field(default_factory=list)

    @property
    def latest(self) -> _Version:
        """The newest version (what ``GET /secrets/{name}/`` returns)."""
        return self.versions[-1]


@dataclass
class _Deleted:
    secret: _Secret
    deleted: int


class _StaticCredential:
    """A real ``TokenCredential``: any object with ``get_token`` returning AccessToken."""

    def __init__(self, token: str) -> None:
        self._token = token
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """A token valid for an hour."""
        from azure.core.credentials import AccessToken as AzureAccessToken

        self.calls += 1
        return AzureAccessToken(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "<StaticCredential>"


class AzureKeyVaultEmulator:
    """State and request handling of one emulated key vault (see module docstring)."""

    def __init__(
        self,
        *,
        token: str = "emulator-token",  # noqa: S107 - the emulator's own test token
        tenant: str = "72f988bf-86f1-41af-91ab-2d7cd011db47",
        tls: TLSFiles | None = None,
        port: int = 0,
    ) -> None:
        self.token = token
        self.tenant = tenant
        self.faults = Faults()
        self._lock = threading.RLock()
        self._secrets: dict[str, _Secret] = {}
        self._deleted: dict[str, _Deleted] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if tls is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="vaultui-azure-tls-")
            tls = make_test_tls(Path(self._tmp.name))
        self.tls = tls
        self.server = HttpServer(self, tls=tls, port=port)
        self.requests: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The vault URL (``AZURE_VAULT_URL``)."""
        return self.server.url

    @property
    def ca_file(self) -> str:
        """The test CA to trust (``connection_verify``)."""
        return str(self.tls.ca_file)

    def start(self) -> AzureKeyVaultEmulator:
        """Start serving."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving (state is kept for :meth:`start`)."""
        self.server.stop()

    def close(self) -> None:
        """Stop and remove the TLS files."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def reset(self) -> None:
        """Forget every secret, deleted secret, fault and request record."""
        with self._lock:
            self._secrets.clear()
            self._deleted.clear()
            self.requests.clear()
        self.faults.clear()

    def credential(self, token: str | None = None) -> _StaticCredential:
        """A credential the real SDK accepts (with this vault's token unless given)."""
        return _StaticCredential(token or self.token)

    def names(self) -> list[str]:
        """Names of live secrets (for assertions)."""
        with self._lock:
            return sorted(s.name for s in self._secrets.values())

    def raw(self, name: str) -> dict[str, Any] | None:
        """The latest version as stored (value, content type), for assertions."""
        with self._lock:
            secret = self._secrets.get(name.lower())
            if secret is None:
                return None
            v = secret.latest
            return {"value": v.value, "contentType": v.content_type, "tags": v.tags}

    # ------------------------------------------------------------------ responses

    @staticmethod
    def _error(status: int, code: str, message: str, inner: str | None = None) -> Response:
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        if inner:
            body["error"]["innererror"] = {"code": inner}
        return Response(status, body)

    def fault_response(self, kind: str, status: int, retry_after: float | None) -> Response:
        """The body Key Vault sends when throttling or failing."""
        if kind == "throttle":
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            resp = self._error(
                status or 429,
                "Throttled",
                "Request was not processed because too many requests were received. "
                "Reason: VaultRequestTypeLimitReached",
            )
            resp.headers.update(headers)
            return resp
        if kind == "deny":
            return self._error(
                403,
                "Forbidden",
                "The user, group or application does not have secrets get permission on key vault.",
                inner="ForbiddenByPolicy",
            )
        return self._error(
            status or 503, "ServiceUnavailable", "The service is temporarily unavailable."
        )

    def _challenge(self, message: str) -> Response:
        resp = self._error(401, "Unauthorized", message)
        resp.headers["WWW-Authenticate"] = (
            f'Bearer authorization="https://login.microsoftonline.com/{self.tenant}", '
            'resource="https://vault.azure.net"'
        )
        return resp

    def _attributes(self, v: _Version) -> dict[str, Any]:
        return {
            "enabled": v.enabled,
            "created": v.created,
            "updated": v.updated,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": RECOVERABLE_DAYS,
        }

    def _bundle(self, base: str, s: _Secret, v: _Version, *, value: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": f"{base}/secrets/{s.name}/{v.id}",
            "attributes": self._attributes(v),
        }
        if value:
            out["value"] = v.value
        if v.content_type is not None:
            out["contentType"] = v.content_type
        if v.tags:
            out["tags"] = v.tags
        return out

    def _deleted_bundle(self, base: str, d: _Deleted, *, item: bool = False) -> dict[str, Any]:
        v = d.secret.latest
        out = self._bundle(base, d.secret, v, value=False)
        if item:
            out["id"] = f"{base}/secrets/{d.secret.name}"
        out.update(
            recoveryId=f"{base}/deletedsecrets/{d.secret.name}",
            deletedDate=d.deleted,
            scheduledPurgeDate=d.deleted + RECOVERABLE_DAYS * 86400,
        )
        return out

    @staticmethod
    def _not_found(name: str, version: str | None = None) -> Response:
        ident = f"{name}/{version}" if version else name
        return AzureKeyVaultEmulator._error(
            404,
            "SecretNotFound",
            f"A secret with (name/id) {ident} was not found in this key vault. If you "
            "recently deleted this secret you may be able to recover it using the "
            "correct recovery command.",
        )

    # ------------------------------------------------------------------ paging

    def _page(self, req: Request, items: list[dict[str, Any]], path: str) -> Response:
        raw = req.param("maxresults")
        try:
            size = int(raw) if raw else MAX_PAGE
        except ValueError:
            return self._error(400, "BadParameter", "maxresults must be an integer")
        if not 1 <= size <= MAX_PAGE:
            return self._error(400, "BadParameter", f"maxresults must be between 1 and {MAX_PAGE}")
        token = req.param("$skiptoken")
        start = 0
        if token:
            try:
                start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
            except (ValueError, KeyError, TypeError):
                return self._error(400, "BadParameter", "Invalid $skiptoken")
        page = items[start : start + size]
        next_link = None
        if start + size < len(items):
            skip = base64.urlsafe_b64encode(json.dumps({"o": start + size}).encode()).decode()
            version = req.param("api-version") or ""
            next_link = (
                f"{req.base_url}{path}?api-version={version}&$skiptoken={skip}&maxresults={size}"
            )
        return Response(200, {"value": page, "nextLink": next_link})

    # ------------------------------------------------------------------ dispatch

    def handle(self, req: Request) -> Response:
        """Answer one request."""
        with self._lock:
            self.requests.append((req.method, req.path))
        auth = req.headers.get("authorization")
        if not auth:
            return self._challenge("AKV10000: Request is missing a Bearer or PoP token.")
        if auth != f"Bearer {self.token}":
            return self._challenge("AKV10032: Invalid issuer or token.")
        if not req.param("api-version"):
            return self._error(400, "BadParameter", "The api-version query parameter is missing")
        parts = [p for p in req.path.split("/") if p]
        trailing = req.path.endswith("/")
        base = req.base_url
        with self._lock:
            if parts[:1] == ["secrets"]:
                return self._secrets_route(req, parts[1:], trailing, base)
            if parts[:1] == ["deletedsecrets"]:
                return self._deleted_route(req, parts[1:], base)
        return self._error(404, "NotFound", "The requested resource was not found")

    def _secrets_route(self, req: Request, rest: list[str], trailing: bool, base: str) -> Response:
        m = req.method
        if not rest:
            if m != "GET":
                return self._error(405, "MethodNotAllowed", "Method not allowed")
            items = [
                {
                    "id": f"{base}/secrets/{s.name}",
                    "attributes": self._attributes(s.latest),
                    **({"contentType": s.latest.content_type} if s.latest.content_type else {}),
                    **({"tags": s.latest.tags} if s.latest.tags else {}),
                }
                for _, s in sorted(self._secrets.items())
            ]
            return self._page(req, items, "/secrets")
        name = rest[0]
        if not NAME_RE.match(name):
            return self._error(
                400,
                "BadParameter",
                "The request URI contains an invalid name: the name must be 1-127 "
                "characters of 0-9, a-z, A-Z and -",
            )
        key = name.lower()
        secret = self._secrets.get(key)
        if len(rest) == 1:
            if m == "PUT":
                return self._set(req, name, key, secret, base)
            if m == "DELETE":
                return self._delete(key, secret, name, base)
            if m == "GET" and trailing:
                if secret is None:
                    return self._not_found(name)
                return self._get(secret, secret.latest, base)
            return self._error(405, "MethodNotAllowed", "Method not allowed")
        if rest[1] == "versions" and len(rest) == 2 and m == "GET":
            if secret is None:
                return self._not_found(name)
            items = [
                {
                    "id": f"{base}/secrets/{secret.name}/{v.id}",
                    "attributes": self._attributes(v),
                    **({"contentType": v.content_type} if v.content_type else {}),
                    **({"tags": v.tags} if v.tags else {}),
                }
                for v in secret.versions
            ]
            return self._page(req, items, f"/secrets/{secret.name}/versions")
        if len(rest) == 2:
            version = rest[1]
            if secret is None:
                return self._not_found(name, version)
            found = next((v for v in secret.versions if v.id == version.lower()), None)
            if found is None:
                return self._not_found(name, version)
            if m == "GET":
                return self._get(secret, found, base)
            if m == "PATCH":
                return self._update(req, secret, found, base)
        return self._error(405, "MethodNotAllowed", "Method not allowed")

    def _get(self, secret: _Secret, v: _Version, base: str) -> Response:
        if not v.enabled:
            return self._error(
                403,
                "Forbidden",
                "Operation get is not allowed on a disabled secret.",
                inner="SecretDisabled",
            )
        return Response(200, self._bundle(base, secret, v))

    def _set(
        self, req: Request, name: str, key: str, secret: _Secret | None, base: str
    ) -> Response:
        try:
            body = req.json()
        except ValueError:
            return self._error(400, "BadParameter", "The request body is not valid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            return self._error(400, "BadParameter", "Property 'value' is required")
        value = body["value"]
        if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
            return self._error(
                400,
                "BadParameter",
                f"Secret is beyond the maximum permitted length of {MAX_VALUE_BYTES} characters.",
            )
        if key in self._deleted:
            return self._error(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its "
                "name cannot be reused; in this state, the secret can only be recovered "
                "or purged.",
                inner="ObjectIsDeletedButRecoverable",
            )
        now = int(time.time())
        attrs = body.get("attributes") or {}
        version = _Version(
            id=uuid.uuid4().hex,
            value=value,
            content_type=body.get("contentType"),
            tags=body.get("tags") or None,
            enabled=bool(attrs.get("enabled", True)),
            created=now,
            updated=now,
        )
        if secret is None:
            secret = _Secret(name=name)
            self._secrets[key] = secret
        secret.versions.append(version)
        return Response(200, self._bundle(base, secret, version))

    def _update(self, req: Request, secret: _Secret, v: _Version, base: str) -> Response:
        body = req.json() or {}
        if "contentType" in body:
            v.content_type = body["contentType"]
        if "tags" in body:
            v.tags = body["tags"] or None
        attrs = body.get("attributes") or {}
        if "enabled" in attrs:
            v.enabled = bool(attrs["enabled"])
        v.updated = int(time.time())
        return Response(200, self._bundle(base, secret, v, value=False))

    def _delete(self, key: str, secret: _Secret | None, name: str, base: str) -> Response:
        if secret is None:
            return self._not_found(name)
        del self._secrets[key]
        deleted = _Deleted(secret, int(time.time()))
        self._deleted[key] = deleted
        return Response(200, self._deleted_bundle(base, deleted))

    def _deleted_route(self, req: Request, rest: list[str], base: str) -> Response:
        m = req.method
        if not rest:
            if m != "GET":
                return self._error(405, "MethodNotAllowed", "Method not allowed")
            items = [
                self._deleted_bundle(base, d, item=True) for _, d in sorted(self._deleted.items())
            ]
            return self._page(req, items, "/deletedsecrets")
        key = rest[0].lower()
        deleted = self._deleted.get(key)
        if deleted is None:
            return self._error(404, "SecretNotFound", f"Deleted Secret not found: {rest[0]}")
        if len(rest) == 1 and m == "GET":
            return Response(200, self._deleted_bundle(base, deleted))
        if len(rest) == 1 and m == "DELETE":
            del self._deleted[key]
            return Response(204)
        if len(rest) == 2 and rest[1] == "recover" and m == "POST":
            del self._deleted[key]
            self._secrets[key] = deleted.secret
            return Response(200, self._bundle(base, deleted.secret, deleted.secret.latest))
        return self._error(405, "MethodNotAllowed", "Method not allowed")


def main() -> None:
    """Serve an emulator until killed (used by the benchmark)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every response")
    parser.add_argument("--tls-dir", type=Path, required=True)
    parser.add_argument("--token", default="emulator-token")
    args = parser.parse_args()
    tls = make_test_tls(args.tls_dir)
    emu = AzureKeyVaultEmulator(token=args.token, tls=tls, port=args.port).start()
    emu.faults.set_latency(args.latency_ms / 1000)
    print(emu.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
