"""The local encrypted vault file as a provider (``FEDZK_SECRETS_PROVIDER=local``).

It wraps a :class:`core.vault.Vault`, so the same contract tests, bulk helpers and
``vaultui --batch --provider local ...`` work on the vault file exactly as on a remote
provider. Versions are the vault's value versions ("1", "2", ...); deletion is a
tombstone (history kept, :meth:`Vault.undelete` brings it back), ``purge`` erases it.
Values keep their type natively; the limit is the vault's 1 MiB per value.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from core.errors import ConflictError, NotFoundError, StorageError, VaultError
from core.providers.base import (
    ABSENT,
    BulkResult,
    Provider,
    ProviderEntry,
    ProviderLimits,
    ProviderSecret,
    ProviderVersion,
)
from core.providers.retry import RateLimits, provider_error
from core.text import plural

if TYPE_CHECKING:
    from core.config import Settings
    from core.vault import KeySource, Vault
    from core.vault.codec import SecretValue


_CHUNK = 500


class LocalProvider(Provider):
    """Secrets in the local vault file.

    Extra constructor keywords: ``vault`` (an open :class:`~core.vault.Vault` to use; it
    stays open on :meth:`close`), ``key_source`` (to open the settings' vault with).
    """

    name = "local"
    display_name = "Local vault"
    extra = None
    sdk_modules = ()
    limits = ProviderLimits(
        max_value_bytes=1024 * 1024,
        name_alphabet="letters, digits and _ . - /",
        max_name_length=256,
    )
    default_rate_limits = RateLimits.unlimited()
    default_workers = 1  # one writer at a time: SQLite serializes writes anyway

    def __init__(
        self,
        settings: Settings,
        *,
        vault: Vault | None = None,
        key_source: KeySource | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(settings, **kwargs)
        if vault is None:
            from core.unlock import open_vault

            vault = open_vault(settings, key_source)
            self._owns = True
        else:
            self._owns = False
        self.vault = vault

    @classmethod
    def _check_settings(cls, settings: Settings) -> tuple[bool, str]:
        return True, f"ready: {settings.vault_path}"

    def _describe(self) -> str:
        return f"path={str(self.vault.path)!r}"

    def close(self) -> None:
        """Close the vault if this provider opened it."""
        if self._owns:
            self.vault.close()

    def _who(self) -> str:
        return self.settings.user

    # ------------------------------------------------------------------ interface

    def _get(
        self, name: str, version: str | None, known: dict[str, ProviderEntry] | None
    ) -> ProviderSecret | None:
        self.names.encode(name)
        wanted: int | None = None
        if version is not None:
            try:
                wanted = int(version)
            except ValueError:
                return None
        try:
            secret = self.vault.get(name, version=wanted)
        except NotFoundError:
            return None
        if secret is None:
            return None
        updated = secret.record.updated_at
        if wanted is not None and wanted != secret.record.version:
            updated = next(
                (v.created_at for v in self.vault.history(name) if v.version == wanted), None
            )
        return ProviderSecret(
            name=name,
            value=secret.value,
            version=str(secret.version),
            updated_at=updated,
            type=_type_of(secret.value),
        )

    def _put(
        self,
        name: str,
        value: SecretValue,
        *,
        expected_version: str | None,
        known: dict[str, ProviderEntry] | None,
    ) -> str:
        expected: int | None = None
        if expected_version is not None:
            try:
                expected = 0 if expected_version == ABSENT else int(expected_version)
            except ValueError:
                raise ConflictError(
                    f"Secret {name!r} has no local version {expected_version!r}"
                ) from None
        record = self.vault.put(
            name,
            value,
            expected_version=expected,
            who=self._who(),
            why="provider write",
            source="provider",
        )
        return str(record.version)

    def put_many(
        self,
        items: Mapping[str, SecretValue] | Iterable[tuple[str, SecretValue]],
        *,
        max_workers: int | None = None,
    ) -> BulkResult[str]:
        """Write many secrets in few transactions (one durable commit per 500 secrets).

        A chunk with an invalid item is rolled back and written again one secret at a
        time, so every valid secret is stored and every invalid one reported.
        """
        pairs = list(items.items() if isinstance(items, Mapping) else items)
        result: BulkResult[str] = BulkResult(self.display_name, total=len(pairs))
        started = time.perf_counter()
        for i in range(0, len(pairs), _CHUNK):
            chunk = pairs[i : i + _CHUNK]
            try:
                with self.vault.transaction():
                    done = {
                        name: self._put(name, value, expected_version=None, known=None)
                        for name, value in chunk
                    }
                result.done.update(done)
            except VaultError:
                one_by_one = self._run_bulk(
                    chunk,
                    lambda pair: self._put(pair[0], pair[1], expected_version=None, known=None),
                    key_name=lambda pair: pair[0],
                    max_workers=1,
                )
                result.done.update(one_by_one.done)
                result.failed.update(one_by_one.failed)
        result.seconds = time.perf_counter() - started
        return result

    def delete(self, name: str, *, purge: bool = False) -> bool:
        """Tombstone ``name`` (``purge``: erase it and its history)."""
        self.names.encode(name)
        if purge:
            if self.vault.record(name, include_deleted=True) is None:
                return False
            self.vault.purge(name)
            return True
        try:
            self.vault.delete(name, who=self._who(), why="provider delete")
        except NotFoundError:
            return False
        return True

    def _list(self, max_pages: int | None) -> Iterator[ProviderEntry]:
        for record in self.vault.list():
            yield ProviderEntry(
                name=record.name,
                version=str(record.version),
                updated_at=record.updated_at,
                type=record.type,
            )

    def versions(self, name: str) -> list[ProviderVersion]:
        """Every stored version, oldest first."""
        self.names.encode(name)
        record = self.vault.record(name, include_deleted=True)
        if record is None:
            return []
        try:
            history = self.vault.history(name)
        except NotFoundError:
            return []
        return [
            ProviderVersion(
                version=str(v.version),
                created_at=v.created_at,
                current=v.version == record.version and not record.deleted,
                state="deleted" if record.deleted and v.version == record.version else "enabled",
                stages=(v.stage,) if v.stage else (),
            )
            for v in history
        ]

    def _health(self) -> str:
        return f"{self.vault.path} ({plural(self.vault.count(), 'secret')})"

    def _map_error(self, exc: Exception) -> VaultError:
        return provider_error(StorageError, f"Local vault operation failed ({type(exc).__name__})")


def _type_of(value: object) -> str:
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, bytes | bytearray):
        return "bytes"
    return "str"
