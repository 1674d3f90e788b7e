"""GCP Secret Manager, through google-cloud-secret-manager (REST transport).

Configuration: ``GOOGLE_CLOUD_PROJECT`` (the project id) and application default
credentials (``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default
login``, or the metadata server on GCE/GKE/Cloud Run). ``VAULTUI_GCP_ENDPOINT`` points
the client at another API endpoint; a plain ``http://`` endpoint (a local emulator) is
used without credentials, so no token ever travels unencrypted.

Layout: secret ids allow letters, digits, ``_`` and ``-``, so vault names are mapped
with :data:`core.providers.names.GCP_NAMES` (``db_password`` stays as it is,
``prod/db`` -> ``prod--sdb``). Each value is a secret version's payload: UTF-8 for
``str``, the raw bytes for ``bytes``, JSON for ``dict``, at most 65,536 bytes. The
secret's label ``vaultui-type`` records the type (one per secret: the type of the
latest write; an older version of another type that no longer parses as it is returned
as text or bytes). Versions are "1", "2", ...; ``latest`` is the newest. Deletion is
permanent (GCP has no soft delete). GCP has no conditional write for versions, so
``expected_version`` compares, then writes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from core.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    ProviderAuthError,
    ProviderError,
    VaultError,
)
from core.providers.base import (
    ABSENT,
    Provider,
    ProviderEntry,
    ProviderLimits,
    ProviderSecret,
    ProviderVersion,
    page_budget,
)
from core.providers.codec import check_size, from_bytes, parse_time, to_bytes
from core.providers.error_tables import gcp_facts, gcp_rules
from core.providers.errors import map_error
from core.providers.names import GCP_NAMES
from core.providers.retry import (
    RateLimits,
)

if TYPE_CHECKING:
    from core.config import Settings
    from core.vault.codec import SecretValue

log = logging.getLogger(__name__)

MAX_VALUE_BYTES = 65536
TYPE_LABEL = "vaultui-type"
CONNECT_HINT = (
    "check VAULTUI_GCP_ENDPOINT (if set) and network access to secretmanager.googleapis.com"
)
AUTH_HINT = (
    "check GOOGLE_CLOUD_PROJECT and the application default credentials "
    "(GOOGLE_APPLICATION_CREDENTIALS or `gcloud auth application-default login`) and "
    "their Secret Manager roles"
)
_STATES = {1: "enabled", 2: "disabled", 3: "destroyed"}


class GcpSecretManagerProvider(Provider):
    """Native secrets in one GCP project's Secret Manager.

    Extra constructor keywords: ``credentials`` (google-auth credentials),
    ``api_endpoint`` (overrides ``VAULTUI_GCP_ENDPOINT``), ``transport`` ("rest" or
    "grpc"; default "rest").
    """

    name = "gcp_secret_manager"
    display_name = "GCP Secret Manager"
    extra = "gcp"
    sdk_modules = ("google.cloud.secretmanager", "google_crc32c")
    limits = ProviderLimits(
        max_value_bytes=MAX_VALUE_BYTES,
        name_alphabet="letters, digits, _ and -",
        max_name_length=255,
    )
    names = GCP_NAMES
    # Per-project quotas: 90,000 access requests/min; admin reads and writes are far
    # lower (thousands per minute). Throttling beyond these is retried with backoff.
    default_rate_limits = RateLimits(read=1500, write=100)
    default_workers = 8
    default_page_size = 250
    bulk_prefetch = True

    def __init__(
        self,
        settings: Settings,
        *,
        credentials: Any = None,
        api_endpoint: str | None = None,
        transport: str = "rest",
        **kwargs: Any,
    ) -> None:
        super().__init__(settings, **kwargs)
        self._import_sdk()
        if not settings.gcp_project:
            raise ConfigError(
                "GCP Secret Manager is not configured: GOOGLE_CLOUD_PROJECT is not set",
                hint="set GOOGLE_CLOUD_PROJECT to your project id",
            )
        self.project = settings.gcp_project
        self.endpoint = api_endpoint or settings.gcp_endpoint
        self._parent = f"projects/{self.project}"
        if credentials is not None:
            self._cred_kind = "injected"
        elif self.endpoint and self.endpoint.startswith("http://"):
            from google.auth.credentials import AnonymousCredentials

            credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]  # google-auth: unannotated
            self._cred_kind = "anonymous (plain-http endpoint)"
        else:
            credentials, self._cred_kind = self._default_credentials(), "application default"
        self._client = self._make_client(credentials, transport)

    @staticmethod
    def _default_credentials() -> Any:
        import google.auth
        import google.auth.exceptions

        try:
            creds, _ = google.auth.default(
                scopes=["https://www.googleapis.com/auth/cloud-platform"]
            )
        except google.auth.exceptions.DefaultCredentialsError:
            raise ProviderAuthError(
                "No Google application default credentials found", hint=AUTH_HINT
            ) from None
        return creds

    @classmethod
    def _check_settings(cls, settings: Settings) -> tuple[bool, str]:
        if not settings.gcp_project:
            return False, "set GOOGLE_CLOUD_PROJECT to your project id"
        if settings.gcp_endpoint and settings.gcp_endpoint.startswith("http://"):
            return True, f"ready: project {settings.gcp_project} at {settings.gcp_endpoint}"
        try:
            cls._default_credentials()
        except ProviderAuthError:
            return False, "no application default credentials: " + AUTH_HINT
        return True, f"ready: project {settings.gcp_project}"

    def _make_client(self, credentials: Any, transport: str) -> Any:
        from google.cloud import secretmanager

        options = {"api_endpoint": self.endpoint} if self.endpoint else None
        client = secretmanager.SecretManagerServiceClient(
            credentials=credentials, transport=transport, client_options=options
        )
        # The REST transport keeps its google-auth session in ``_session`` (declared on
        # the class); tune it when present, else the defaults simply stay.
        session = getattr(client.transport, "_session", None)
        if session is not None and hasattr(session, "mount"):
            from core.providers.http import configure_session

            url = self.endpoint or "https://secretmanager.googleapis.com"
            configure_session(session, url, self.settings.env, pool_size=self.max_workers)
        return client

    def _describe(self) -> str:
        where = f" endpoint={self.endpoint!r}" if self.endpoint else ""
        return f"project={self.project!r}{where} credentials={self._cred_kind!r}"

    def close(self) -> None:
        """Close the transport."""
        try:
            self._client.transport.close()
        except Exception:  # best effort
            log.debug("closing the Secret Manager client failed", exc_info=True)

    # ------------------------------------------------------------------ helpers

    def _path(self, name: str) -> str:
        return f"{self._parent}/secrets/{self.names.encode(name)}"

    def _rpc(self, kind: str, what: str, method: str, request: dict[str, Any]) -> Any:
        fn = getattr(self._client, method)
        return self._call(kind, what, lambda: fn(request=request, retry=None, timeout=self.timeout))

    @staticmethod
    def _version_of(resource_name: str) -> str:
        return resource_name.rsplit("/", 1)[-1]

    # ------------------------------------------------------------------ interface

    def _get(
        self, name: str, version: str | None, known: dict[str, ProviderEntry] | None
    ) -> ProviderSecret | None:
        path = self._path(name)
        try:
            resp = self._rpc(
                "read",
                "access",
                "access_secret_version",
                {"name": f"{path}/versions/{version or 'latest'}"},
            )
        except NotFoundError:
            return None
        data = bytes(resp.payload.data)
        self._check_crc(name, data, resp.payload)
        if known is not None and name in known:
            kind = known[name].type
        else:
            try:
                secret = self._rpc("read", "labels", "get_secret", {"name": path})
            except NotFoundError:
                return None  # deleted between the two calls
            kind = dict(secret.labels).get(TYPE_LABEL)
        value = from_bytes(data, kind)
        return ProviderSecret(
            name=name,
            value=value,
            version=self._version_of(resp.name),
            updated_at=None,
            type="dict"
            if isinstance(value, dict)
            else "bytes"
            if isinstance(value, bytes)
            else "str",
        )

    def _check_crc(self, name: str, data: bytes, payload: Any) -> None:
        import google_crc32c

        expected = getattr(payload, "data_crc32c", None)
        if expected and int(expected) != int(google_crc32c.value(data)):
            raise ProviderError(
                f"GCP Secret Manager returned a corrupted payload for {name!r} (CRC32C mismatch)",
                hint="try again; report it to Google if it persists",
            )

    def _put(
        self,
        name: str,
        value: SecretValue,
        *,
        expected_version: str | None,
        known: dict[str, ProviderEntry] | None,
    ) -> str:
        import google_crc32c

        payload, kind = to_bytes(value)
        check_size(self.display_name, name, len(payload), MAX_VALUE_BYTES)
        path = self._path(name)
        sid = path.rsplit("/", 1)[-1]
        if expected_version == ABSENT:
            try:
                self._create(sid, kind)
            except ConflictError:
                raise ConflictError(
                    f"Secret {name!r} already exists in GCP Secret Manager; nothing was written"
                ) from None
        else:
            if expected_version is not None:
                self._compare(name, path, expected_version)
            self._ensure_secret(name, path, sid, kind, known)
        resp = self._rpc(
            "write",
            "add version",
            "add_secret_version",
            {
                "parent": path,
                "payload": {"data": payload, "data_crc32c": int(google_crc32c.value(payload))},
            },
        )
        return self._version_of(resp.name)

    def _compare(self, name: str, path: str, expected: str) -> None:
        try:
            latest = self._rpc(
                "read", "latest version", "get_secret_version", {"name": f"{path}/versions/latest"}
            )
            current: str | None = self._version_of(latest.name)
        except NotFoundError:
            current = None
        if current != expected:
            raise ConflictError(
                f"Secret {name!r} in GCP Secret Manager is no longer at version {expected}: "
                "it changed since you read it; nothing was written"
            )

    def _create(self, sid: str, kind: str) -> None:
        self._rpc(
            "write",
            "create",
            "create_secret",
            {
                "parent": self._parent,
                "secret_id": sid,
                "secret": {
                    "replication": {"automatic": {}},
                    "labels": {TYPE_LABEL: kind, "managed-by": "vaultui"},
                },
            },
        )

    def _ensure_secret(
        self, name: str, path: str, sid: str, kind: str, known: dict[str, ProviderEntry] | None
    ) -> None:
        """Create the secret, or relabel it when the value type changes."""
        if known is not None:
            entry = known.get(name)
            if entry is None:
                try:
                    self._create(sid, kind)
                    return
                except ConflictError:
                    pass  # created meanwhile: check its label below
            elif entry.type == kind:
                return
        try:
            secret = self._rpc("read", "get secret", "get_secret", {"name": path})
        except NotFoundError:
            try:
                self._create(sid, kind)
                return
            except ConflictError:
                secret = self._rpc("read", "get secret", "get_secret", {"name": path})
        labels = dict(secret.labels)
        if labels.get(TYPE_LABEL) != kind:
            labels[TYPE_LABEL] = kind
            self._rpc(
                "write",
                "relabel",
                "update_secret",
                {"secret": {"name": path, "labels": labels}, "update_mask": {"paths": ["labels"]}},
            )

    def delete(self, name: str, *, purge: bool = False) -> bool:
        """Delete the secret and every version (GCP deletes permanently either way)."""
        try:
            self._rpc("write", "delete", "delete_secret", {"name": self._path(name)})
        except NotFoundError:
            return False
        return True

    def _list(self, max_pages: int | None) -> Iterator[ProviderEntry]:
        token = ""
        pages = 0
        while True:
            pages += 1
            page_budget(max_pages, pages)
            request = {"parent": self._parent, "page_size": self.page_size, "page_token": token}
            pager = self._rpc("read", "list page", "list_secrets", request)
            resp = next(iter(pager.pages))
            for secret in resp.secrets:
                name = self.names.decode(self._version_of(secret.name))
                if name is None:
                    continue
                yield ProviderEntry(
                    name=name,
                    version=None,
                    updated_at=None,
                    type=dict(secret.labels).get(TYPE_LABEL),
                )
            token = resp.next_page_token
            if not token:
                return

    def versions(self, name: str) -> list[ProviderVersion]:
        """Every version (enabled, disabled or destroyed), oldest first."""
        path = self._path(name)
        found: list[Any] = []
        token = ""
        while True:
            request = {"parent": path, "page_size": self.page_size, "page_token": token}
            try:
                pager = self._rpc("read", "versions page", "list_secret_versions", request)
            except NotFoundError:
                return []
            resp = next(iter(pager.pages))
            found.extend(resp.versions)
            token = resp.next_page_token
            if not token:
                break
        found.sort(key=lambda v: int(self._version_of(v.name)))
        newest = found[-1] if found else None
        return [
            ProviderVersion(
                version=self._version_of(v.name),
                created_at=parse_time(v.create_time),
                current=int(v.state) == 1 and v is newest,
                state=_STATES.get(int(v.state), "enabled"),
            )
            for v in found
        ]

    def _health(self) -> str:
        self._rpc("read", "health", "list_secrets", {"parent": self._parent, "page_size": 1})
        where = self.endpoint or "secretmanager.googleapis.com"
        return f"{where} (project {self.project})"

    # ------------------------------------------------------------------ errors

    def _map_error(self, exc: Exception) -> VaultError:
        """The core error for an SDK exception: the first matching row of the table."""
        return map_error(self.display_name, gcp_rules(), gcp_facts(exc))
