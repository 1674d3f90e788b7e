"""Azure Key Vault secrets, through azure-keyvault-secrets and azure-identity.

Configuration: ``AZURE_VAULT_URL`` (``https://<vault>.vault.azure.net``); a service
principal from ``AZURE_CLIENT_ID``, ``AZURE_CLIENT_SECRET`` and ``AZURE_TENANT_ID``
(``ClientSecretCredential``), otherwise ``DefaultAzureCredential`` (managed identity,
Azure CLI login, workload identity...).

Layout: Key Vault names allow only letters, digits and ``-`` and ignore case, so vault
names are mapped with :data:`core.providers.names.AZURE_NAMES` (``db_password`` ->
``db--upassword``; ``my-api-key`` stays as it is). The value is the secret's string
value; the version's ``contentType`` records the type: ``text/plain; charset=utf-8``
(str), ``application/json`` (dict, stored as JSON) or ``application/octet-stream;
base64`` (bytes, stored as base64). A value is at most 25,600 bytes as stored.

Deletion is soft (Key Vault keeps the secret for its retention period); ``purge`` also
purges it. Writing a name that is soft deleted recovers it first, keeping its history.
Key Vault has no conditional write, so ``expected_version`` compares, then writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
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
from core.providers.codec import check_size, from_text, parse_time, to_text
from core.providers.error_tables import azure_facts, azure_rules
from core.providers.errors import map_error
from core.providers.names import AZURE_NAMES
from core.providers.retry import (
    RateLimits,
    error_code,
)

if TYPE_CHECKING:
    from core.config import Settings
    from core.vault.codec import SecretValue

log = logging.getLogger(__name__)

MAX_VALUE_BYTES = 25600
CONTENT_TYPES = {
    "str": "text/plain; charset=utf-8",
    "dict": "application/json",
    "bytes": "application/octet-stream; base64",
}
CONNECT_HINT = "check AZURE_VAULT_URL and your network access to the vault"
AUTH_HINT = (
    "check AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID (or the identity "
    "DefaultAzureCredential uses) and its Key Vault access policy or RBAC role"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def type_from_content_type(content_type: str | None) -> str | None:
    """The value type a content type records (None: plain text written by another tool)."""
    ct = (content_type or "").lower().replace(" ", "")
    if ct.startswith("application/json"):
        return "dict"
    if ct.startswith("application/octet-stream;base64") or ct == "application/x-pkcs12":
        return "bytes"  # certificate-backed secrets hold base64 PFX
    if ct.startswith("text/plain"):
        return "str"
    return None


class AzureKeyVaultProvider(Provider):
    """Native secrets in one Azure Key Vault.

    Extra constructor keywords: ``credential`` (any azure-core ``TokenCredential``),
    ``connection_verify`` (a CA bundle path, or False), ``verify_challenge_resource``
    (default True: the vault's auth challenge must name a Key Vault resource).
    """

    name = "azure_key_vault"
    display_name = "Azure Key Vault"
    extra = "azure"
    sdk_modules = ("azure.keyvault.secrets", "azure.identity")
    limits = ProviderLimits(
        max_value_bytes=MAX_VALUE_BYTES,
        name_alphabet="letters, digits and - (case-insensitive)",
        max_name_length=127,
        case_insensitive_names=True,
    )
    names = AZURE_NAMES
    # Published limit: 4,000 secret transactions per 10 seconds per vault, all kinds.
    default_rate_limits = RateLimits(combined=400)
    default_workers = 8
    default_page_size = 25

    def __init__(
        self,
        settings: Settings,
        *,
        credential: Any = None,
        connection_verify: str | bool | None = None,
        verify_challenge_resource: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(settings, **kwargs)
        self._import_sdk()
        if not settings.azure_vault_url:
            raise ConfigError(
                "Azure Key Vault is not configured: AZURE_VAULT_URL is not set",
                hint="set AZURE_VAULT_URL to https://<vault-name>.vault.azure.net",
            )
        self.vault_url = settings.azure_vault_url.rstrip("/")
        self._credential_kind = "injected" if credential is not None else self._cred_kind(settings)
        self._credential = credential if credential is not None else self._make_credential()
        self._client = self._make_client(connection_verify, verify_challenge_resource)

    @staticmethod
    def _cred_kind(settings: Settings) -> str:
        if settings.azure_client_id and settings.azure_client_secret and settings.azure_tenant_id:
            return "client secret"
        return "DefaultAzureCredential"

    @classmethod
    def _check_settings(cls, settings: Settings) -> tuple[bool, str]:
        if not settings.azure_vault_url:
            return False, "set AZURE_VAULT_URL (https://<vault-name>.vault.azure.net)"
        partial = [settings.azure_client_id, settings.azure_client_secret, settings.azure_tenant_id]
        if any(partial) and not all(partial):
            return False, "set all of AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID"
        return True, f"ready: {settings.azure_vault_url} ({cls._cred_kind(settings)})"

    def _make_credential(self) -> Any:
        s = self.settings
        if self._credential_kind == "client secret":
            from azure.identity import ClientSecretCredential

            return ClientSecretCredential(
                tenant_id=str(s.azure_tenant_id),
                client_id=str(s.azure_client_id),
                client_secret=str(s.azure_client_secret),
            )
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def _make_client(self, verify: str | bool | None, challenge: bool) -> Any:
        import requests
        from azure.keyvault.secrets import SecretClient

        from core.providers.http import ca_bundle, configure_session

        session = requests.Session()
        configure_session(session, self.vault_url, self.settings.env, pool_size=self.max_workers)
        extra: dict[str, Any] = {}
        if verify is None:
            verify = ca_bundle(self.settings.env)  # azure-core passes verify per request
        if verify is not None:
            extra["connection_verify"] = verify
        return SecretClient(
            self.vault_url,
            self._credential,
            verify_challenge_resource=challenge,
            retry_total=0,  # retries are ours
            connection_timeout=self.timeout,
            read_timeout=self.timeout,
            session=session,
            **extra,
        )

    def _describe(self) -> str:
        return f"vault={self.vault_url!r} credential={self._credential_kind!r}"

    def close(self) -> None:
        """Close the HTTP session."""
        try:
            self._client.close()
        except Exception:  # best effort
            log.debug("closing the Key Vault client failed", exc_info=True)

    # ------------------------------------------------------------------ interface

    def _get(
        self, name: str, version: str | None, known: dict[str, ProviderEntry] | None
    ) -> ProviderSecret | None:
        az = self.names.encode(name)
        try:
            secret = self._call("read", "get", lambda: self._client.get_secret(az, version or None))
        except NotFoundError:
            return None
        props = secret.properties
        value = from_text(secret.value or "", type_from_content_type(props.content_type))
        return ProviderSecret(
            name=name,
            value=value,
            version=str(props.version or ""),
            updated_at=parse_time(props.updated_on or props.created_on),
            type="dict"
            if isinstance(value, dict)
            else "bytes"
            if isinstance(value, bytes)
            else "str",
        )

    def _put(
        self,
        name: str,
        value: SecretValue,
        *,
        expected_version: str | None,
        known: dict[str, ProviderEntry] | None,
    ) -> str:
        az = self.names.encode(name)
        text, kind = to_text(value)
        check_size(
            self.display_name, name, len(text.encode("utf-8")), MAX_VALUE_BYTES, base64_bytes=True
        )
        if expected_version is not None:
            current = self._get(name, None, None)
            if expected_version == ABSENT and current is not None:
                raise ConflictError(
                    f"Secret {name!r} already exists in Azure Key Vault; nothing was written"
                )
            if expected_version != ABSENT and (
                current is None or current.version != expected_version
            ):
                raise ConflictError(
                    f"Secret {name!r} in Azure Key Vault is no longer at version "
                    f"{expected_version}: it changed since you read it; nothing was written"
                )
        content_type = CONTENT_TYPES[kind]

        def set_secret() -> Any:
            return self._client.set_secret(az, text, content_type=content_type)

        try:
            secret = self._call("write", "put", set_secret)
        except ConflictError as exc:
            if error_code(exc) != "ObjectIsDeletedButRecoverable":
                raise
            self._recover(az)
            secret = self._call("write", "put", set_secret)
        return str(secret.properties.version)

    def _recover(self, az: str) -> None:
        poller = self._call(
            "write", "recover", lambda: self._client.begin_recover_deleted_secret(az)
        )
        self._wait(poller)

    def _wait(self, poller: Any) -> None:
        try:
            poller.wait(timeout=max(30.0, self.timeout * 3))
        except Exception as exc:  # the poller re-raises the SDK error from its thread
            raise self._map_error(exc) from None

    def delete(self, name: str, *, purge: bool = False) -> bool:
        """Soft delete (recoverable for the vault's retention period); ``purge`` also
        purges it. A name that is already soft deleted is only purged (if asked)."""
        az = self.names.encode(name)
        deleted = True
        try:
            poller = self._call("write", "delete", lambda: self._client.begin_delete_secret(az))
            self._wait(poller)
        except NotFoundError:
            deleted = False
        if purge:
            try:
                self._call("write", "purge", lambda: self._client.purge_deleted_secret(az))
                deleted = True
            except NotFoundError:
                pass
        return deleted

    def _pages(
        self, start: Callable[[], Any], what: str, max_pages: int | None
    ) -> Iterator[list[Any]]:
        """Yield pages of an ItemPaged, each fetched with retries (resuming by nextLink)."""
        token: str | None = None
        pages = 0
        while True:
            pages += 1
            page_budget(max_pages, pages)

            def fetch(token: str | None = token) -> tuple[list[Any], str | None]:
                it = start().by_page(continuation_token=token)
                page = next(it, None)
                return (list(page) if page is not None else []), it.continuation_token

            items, token = self._call("read", what, fetch)
            yield items
            if not token:
                return

    def _list(self, max_pages: int | None) -> Iterator[ProviderEntry]:
        def start() -> Any:
            return self._client.list_properties_of_secrets(max_page_size=self.page_size)

        for page in self._pages(start, "list page", max_pages):
            for props in page:
                name = self.names.decode(str(props.name or ""))
                if name is None or props.enabled is False:
                    continue
                yield ProviderEntry(
                    name=name,
                    version=None,
                    updated_at=parse_time(props.updated_on or props.created_on),
                    type=type_from_content_type(props.content_type),
                )

    def versions(self, name: str) -> list[ProviderVersion]:
        """Every version, oldest first; the newest is the current one."""
        az = self.names.encode(name)

        def start() -> Any:
            return self._client.list_properties_of_secret_versions(az, max_page_size=self.page_size)

        found: list[Any] = []
        try:
            for page in self._pages(start, "versions page", None):
                found.extend(page)
        except NotFoundError:
            return []
        ordered = sorted(
            enumerate(found),
            key=lambda iv: (parse_time(iv[1].created_on) or _EPOCH, iv[0]),
        )
        out = []
        for i, (_, props) in enumerate(ordered):
            out.append(
                ProviderVersion(
                    version=str(props.version),
                    created_at=parse_time(props.created_on),
                    current=i == len(ordered) - 1 and props.enabled is not False,
                    state="disabled" if props.enabled is False else "enabled",
                )
            )
        return out

    def _health(self) -> str:
        next(
            self._pages(
                lambda: self._client.list_properties_of_secrets(max_page_size=1), "health", 1
            )
        )
        return f"{self.vault_url} ({self._credential_kind})"

    # ------------------------------------------------------------------ errors

    def _map_error(self, exc: Exception) -> VaultError:
        """The core error for an SDK exception: the first matching row of the table."""
        return map_error(self.display_name, azure_rules(), azure_facts(exc))
