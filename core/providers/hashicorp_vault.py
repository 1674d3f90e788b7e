"""HashiCorp Vault (and OpenBao) KV version 2, through hvac.

Configuration (:class:`core.config.Settings`): ``VAULT_ADDR``, ``VAULT_TOKEN``,
``VAULT_MOUNT_POINT`` (default ``secret``), ``VAULT_NAMESPACE``; AppRole with
``VAULT_ROLE_ID`` + ``VAULT_SECRET_ID`` when no token is set (a token that expires is
renewed by logging in again). hvac's own ``VAULT_CACERT``/``VAULT_CAPATH`` apply.

Layout: the secret ``db/password`` is the KV path ``<mount>/data/db/password``. A
``dict`` value is stored as the secret's own fields (``vault kv get`` shows them); a
``str`` as ``{"value": ..., "vaultui_type": "str"}`` and ``bytes`` as base64 in
``value`` with ``vaultui_type: bytes``, so ``vault kv get -field=value`` prints it.
A KV secret written by another tool without that marker reads back as a ``dict``.
Writes with ``expected_version`` use KV's check-and-set (``cas``), atomically.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from core.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    ProviderAuthError,
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
from core.providers.codec import from_text, parse_time, to_bytes, to_text, value_type
from core.providers.error_tables import vault_facts, vault_rules
from core.providers.errors import map_error
from core.providers.retry import RateLimits, guard_malformed

if TYPE_CHECKING:
    from core.config import Settings
    from core.vault.codec import SecretValue

log = logging.getLogger(__name__)

TYPE_FIELD = "vaultui_type"
VALUE_FIELD = "value"
CONNECT_HINT = "check VAULT_ADDR and VAULT_TOKEN"
AUTH_HINT = (
    "check VAULT_TOKEN (or VAULT_ROLE_ID and VAULT_SECRET_ID) and that its policy allows this path"
)


class HashiCorpVaultProvider(Provider):
    """Native secrets in a HashiCorp Vault / OpenBao KV v2 mount.

    Extra constructor keywords: ``session`` (a ``requests.Session`` to use).
    """

    name = "hashicorp_vault"
    display_name = "HashiCorp Vault"
    extra = "vault"
    sdk_modules = ("hvac",)
    limits = ProviderLimits(max_value_bytes=None, name_alphabet="letters, digits and _ . - /")
    default_rate_limits = RateLimits.unlimited()  # Vault has no request quota by default
    default_workers = 16

    def __init__(self, settings: Settings, *, session: Any = None, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._import_sdk()
        ok, reason = self._check_settings(settings)
        if not ok:
            raise ConfigError(f"HashiCorp Vault is not configured: {reason}")
        self.addr = str(settings.vault_addr).rstrip("/")
        self.mount = settings.vault_mount_point.strip("/") or "secret"
        self.namespace = settings.vault_namespace
        self._approle = not settings.vault_token
        self._login_lock = threading.Lock()
        self._client = self._make_client(session)
        self._logged_in = not self._approle

    @classmethod
    def _check_settings(cls, settings: Settings) -> tuple[bool, str]:
        if not settings.vault_addr:
            return False, "set VAULT_ADDR and VAULT_TOKEN (or VAULT_ROLE_ID and VAULT_SECRET_ID)"
        if not settings.vault_token and not (settings.vault_role_id and settings.vault_secret_id):
            return False, "no credentials: set VAULT_TOKEN (or VAULT_ROLE_ID and VAULT_SECRET_ID)"
        auth = "token" if settings.vault_token else "AppRole"
        return True, f"ready: {settings.vault_addr} ({auth} auth)"

    def _describe(self) -> str:
        auth = "approle" if self._approle else "token"
        ns = f" namespace={self.namespace!r}" if self.namespace else ""
        return f"addr={self.addr!r} mount={self.mount!r}{ns} auth={auth}"

    def _make_client(self, session: Any) -> Any:
        import hvac
        import requests

        from core.providers.http import ca_bundle, configure_session

        verify: Any = None  # hvac's default: VAULT_CACERT / VAULT_CAPATH, else verify
        if session is None:
            session = requests.Session()
            configure_session(session, self.addr, self.settings.env, pool_size=self.max_workers)
            env = self.settings.env
            bundle = ca_bundle(env)
            if bundle and not (env.get("VAULT_CACERT") or env.get("VAULT_CAPATH")):
                verify = bundle  # hvac passes verify per request, so set it here
        # token="" (not None) keeps hvac from falling back to ~/.vault-token in AppRole mode
        return hvac.Client(
            url=self.addr,
            token=self.settings.vault_token or "",
            namespace=self.namespace,
            timeout=self.timeout,
            session=session,
            verify=verify,
        )

    def close(self) -> None:
        """Close the HTTP session."""
        try:
            self._client.adapter.close()
        except Exception:  # closing is best effort
            log.debug("closing the hvac session failed", exc_info=True)

    # ------------------------------------------------------------------ auth

    def _login(self, *, force: bool = False) -> None:
        with self._login_lock:
            if self._logged_in and not force:
                return
            role_id, secret_id = self.settings.vault_role_id, self.settings.vault_secret_id
            self._call(
                "write",
                "approle login",
                lambda: self._client.auth.approle.login(role_id=role_id, secret_id=secret_id),
            )
            self._logged_in = True

    def _vcall(self, kind: str, what: str, fn: Any) -> Any:
        if not self._logged_in:
            self._login()
        try:
            return self._call(kind, what, fn)
        except ProviderAuthError:
            if not self._approle:
                raise
            self._login(force=True)  # the AppRole token may have expired
            return self._call(kind, what, fn)

    @property
    def _kv(self) -> Any:
        return self._client.secrets.kv.v2

    # ------------------------------------------------------------------ values

    @staticmethod
    def _to_data(value: SecretValue) -> dict[str, Any]:
        kind = value_type(value)
        if kind == "dict":
            to_bytes(value)  # validates JSON-likeness and the size limit
            assert isinstance(value, dict)
            if TYPE_FIELD not in value:
                return dict(value)
        text, kind = to_text(value)
        return {VALUE_FIELD: text, TYPE_FIELD: kind}

    @staticmethod
    def _from_data(data: dict[str, Any]) -> tuple[SecretValue, str]:
        kind = data.get(TYPE_FIELD)
        if (
            kind in ("str", "bytes", "dict")
            and len(data) == 2
            and isinstance(data.get(VALUE_FIELD), str)
        ):
            value = from_text(data[VALUE_FIELD], kind)
            return value, value_type(value)
        return dict(data), "dict"

    # ------------------------------------------------------------------ interface

    @guard_malformed
    def _get(
        self, name: str, version: str | None, known: dict[str, ProviderEntry] | None
    ) -> ProviderSecret | None:
        path = self.names.encode(name)
        wanted: int | None = None
        if version is not None:
            try:
                wanted = int(version)
            except ValueError:
                return None
        try:
            resp = self._vcall(
                "read",
                "get",
                lambda: self._kv.read_secret_version(
                    path=path,
                    version=wanted,
                    mount_point=self.mount,
                    raise_on_deleted_version=False,
                ),
            )
        except NotFoundError:
            return None
        body = (resp or {}).get("data") or {}
        data, meta = body.get("data"), body.get("metadata") or {}
        if data is None or meta.get("deletion_time") or meta.get("destroyed"):
            return None
        value, kind = self._from_data(data)
        return ProviderSecret(
            name=name,
            value=value,
            version=str(meta.get("version", "")),
            updated_at=parse_time(meta.get("created_time")),
            type=kind,
        )

    @guard_malformed
    def _put(
        self,
        name: str,
        value: SecretValue,
        *,
        expected_version: str | None,
        known: dict[str, ProviderEntry] | None,
    ) -> str:
        path = self.names.encode(name)
        data = self._to_data(value)
        cas: int | None = None
        if expected_version is not None:
            try:
                cas = 0 if expected_version == ABSENT else int(expected_version)
            except ValueError:
                raise ConflictError(
                    f"Secret {name!r} has no HashiCorp Vault version {expected_version!r}"
                ) from None
        try:
            resp = self._vcall(
                "write",
                "put",
                lambda: self._kv.create_or_update_secret(
                    path=path, secret=data, cas=cas, mount_point=self.mount
                ),
            )
        except ConflictError:
            expected = "absent" if cas == 0 else f"at version {cas}"
            raise ConflictError(
                f"Secret {name!r} in HashiCorp Vault is no longer {expected}: it changed "
                "since you read it; nothing was written"
            ) from None
        return str(resp["data"]["version"])

    def _metadata(self, path: str) -> dict[str, Any] | None:
        try:
            resp = self._vcall(
                "read",
                "metadata",
                lambda: self._kv.read_secret_metadata(path=path, mount_point=self.mount),
            )
        except NotFoundError:
            return None
        return (resp or {}).get("data") or None

    @staticmethod
    def _version_state(info: dict[str, Any]) -> str:
        if info.get("destroyed"):
            return "destroyed"
        if info.get("deletion_time"):
            return "deleted"
        return "enabled"

    @guard_malformed
    def delete(self, name: str, *, purge: bool = False) -> bool:
        """Soft delete: the latest version is marked deleted (``vault kv undelete``
        brings it back); ``purge``: the metadata and every version are removed."""
        path = self.names.encode(name)
        meta = self._metadata(path)
        if meta is None:
            return False
        if purge:
            self._vcall(
                "write",
                "purge",
                lambda: self._kv.delete_metadata_and_all_versions(
                    path=path, mount_point=self.mount
                ),
            )
            return True
        current = (meta.get("versions") or {}).get(str(meta.get("current_version")), {})
        if self._version_state(current) != "enabled":
            return False
        self._vcall(
            "write",
            "delete",
            lambda: self._kv.delete_latest_version_of_secret(path=path, mount_point=self.mount),
        )
        return True

    @guard_malformed
    def versions(self, name: str) -> list[ProviderVersion]:
        """Every version KV still keeps, with its state."""
        meta = self._metadata(self.names.encode(name))
        if meta is None:
            return []
        current = str(meta.get("current_version"))
        out = [
            ProviderVersion(
                version=str(v),
                created_at=parse_time(info.get("created_time")),
                current=str(v) == current and self._version_state(info) == "enabled",
                state=self._version_state(info),
            )
            for v, info in (meta.get("versions") or {}).items()
        ]
        return sorted(out, key=lambda pv: int(pv.version))

    @guard_malformed
    def _list(self, max_pages: int | None) -> Iterator[ProviderEntry]:
        paths = self._walk(max_pages)
        if not paths:
            return
        workers = min(self.max_workers, len(paths))
        with ThreadPoolExecutor(workers, thread_name_prefix="vaultui-vault-list") as pool:
            for path, meta in zip(paths, pool.map(self._metadata, paths), strict=True):
                if not meta:
                    continue
                current = str(meta.get("current_version"))
                info = (meta.get("versions") or {}).get(current, {})
                if self._version_state(info) != "enabled":
                    continue
                name = self.names.decode(path)
                if name is None:
                    continue
                yield ProviderEntry(
                    name=name,
                    version=current,
                    updated_at=parse_time(info.get("created_time") or meta.get("updated_time")),
                )

    def _walk(self, max_pages: int | None) -> list[str]:
        """Every secret path under the mount (KV LIST is per folder: walk them all)."""
        out: list[str] = []
        folders = [""]
        pages = 0
        while folders:
            folder = folders.pop()
            pages += 1
            page_budget(max_pages, pages)
            try:
                resp = self._vcall(
                    "read",
                    "list",
                    lambda folder=folder: self._kv.list_secrets(
                        path=folder, mount_point=self.mount
                    ),
                )
            except NotFoundError:
                continue
            for key in ((resp or {}).get("data") or {}).get("keys") or []:
                if key.endswith("/"):
                    folders.append(folder + key)
                else:
                    out.append(folder + key)
        return sorted(out)

    def _health(self) -> str:
        self._vcall("read", "health", lambda: self._client.auth.token.lookup_self())
        return f"{self.addr}, KV v2 at {self.mount}/"

    # ------------------------------------------------------------------ errors

    def _map_error(self, exc: Exception) -> VaultError:
        """The core error for an SDK exception: the first matching row of the table."""
        return map_error(self.display_name, vault_rules(), vault_facts(exc))
