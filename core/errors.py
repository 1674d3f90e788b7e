"""The one exception hierarchy of vaultui's core.

Every error that leaves ``core`` is a :class:`VaultError`. No SQLite, cryptography,
JSON or SDK exception escapes raw, and no message ever contains a secret value.

    VaultError
    ├── ConfigError                 bad environment, unknown provider name
    ├── KeyMissingError             no passphrase, key file or master key available
    ├── WrongKeyError               the key does not open this vault
    ├── LockedError                 the vault (or agent) is locked
    ├── IntegrityError              a tampered vault file, record, backup or audit chain
    │   ├── BackupIntegrityError
    │   └── KdfBoundsError          key-derivation cost in a file outside the bounds
    ├── ValidationError             bad input, nothing written
    │   ├── InvalidNameError
    │   └── ValueTooLargeError
    ├── NotFoundError               a named thing does not exist
    ├── ConflictError               check-and-set failed: someone else changed it first
    ├── StorageError                disk full, I/O error, vault busy
    ├── ProviderError               an external provider failed
    │   ├── ProviderNotInstalledError
    │   ├── ProviderUnavailableError
    │   ├── ProviderAuthError
    │   ├── ProviderThrottledError
    │   └── ProviderLimitError
    ├── RotationError               a rotation (or one of its hooks) failed
    ├── BackupError                 backup creation, lookup or restore failed
    ├── AuditError                  the audit log cannot be written or read
    └── SyncError                   sync or merge failed

Each class carries a ``title`` (a short headline for the app's error modal), an
``exit_code`` (what ``vaultui --batch`` returns) and, where the seed documented one, a
``hint`` with the troubleshooting text.
"""

from __future__ import annotations

# Exit codes of `vaultui --batch`, documented in docs/batch.md.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_WRONG_KEY = 4
EXIT_INTEGRITY = 5
EXIT_PROVIDER = 6
EXIT_CONFLICT = 7


class VaultError(Exception):
    """Base of every error raised by vaultui's core.

    ``str(error)`` is a complete human sentence (message plus hint). Messages name
    secrets by name at most, never by value.
    """

    title = "Vault error"
    exit_code = EXIT_ERROR
    hint: str | None = None

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        self.message = message or self.title
        if hint is not None:
            self.hint = hint
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.hint and self.hint not in self.message:
            return f"{self.message}: {self.hint}"
        return self.message


class ConfigError(VaultError):
    """The configuration (environment variables, settings) is invalid."""

    title = "Configuration error"
    exit_code = EXIT_USAGE


class KeyMissingError(VaultError):
    """No key is available to open or create the vault."""

    title = "Master encryption key not found"
    exit_code = EXIT_WRONG_KEY
    hint = (
        "set FEDZK_ENCRYPTION_MASTER_KEY, VAULTUI_KEY_FILE or VAULTUI_PASSPHRASE_FILE, "
        "or unlock with a passphrase"
    )


class WrongKeyError(VaultError):
    """The passphrase, key file or master key does not open this vault."""

    title = "Wrong passphrase or key"
    exit_code = EXIT_WRONG_KEY


class LockedError(VaultError):
    """The vault is locked; unlock it first."""

    title = "Vault is locked"
    exit_code = EXIT_WRONG_KEY


class IntegrityError(VaultError):
    """Stored data failed authentication: it was tampered with or is corrupt."""

    title = "Integrity check failed"
    exit_code = EXIT_INTEGRITY
    hint = (
        "the file was modified outside vaultui or is corrupt; restore from a backup with "
        "'vaultui --batch backup recover' (or Ctrl+R on the app's unlock screen), which "
        "moves the damaged file aside (never deleted) and restores the latest backup"
    )


class BackupIntegrityError(IntegrityError):
    """A backup file failed verification."""

    title = "Backup integrity check failed"
    hint = "verify the backup file hasn't been tampered with"


class KdfBoundsError(IntegrityError):
    """A file asks for a key-derivation cost (or salt, or slot count) outside the bounds
    in ``core/vault/kdf_bounds.py``; nothing was derived."""

    title = "Key-derivation cost out of bounds"
    hint = (
        "the file asks for more key-derivation work than vaultui ever writes: it was "
        "modified or crafted; use a trusted copy"
    )


class ValidationError(VaultError):
    """Input was rejected; nothing was written."""

    title = "Invalid input"
    exit_code = EXIT_USAGE


class InvalidNameError(ValidationError):
    """A secret name is outside the documented alphabet or length."""

    title = "Invalid secret name"


class ValueTooLargeError(ValidationError):
    """A value exceeds the vault's or a provider's size limit."""

    title = "Value too large"


class NotFoundError(VaultError):
    """A secret, version, backup or other named object does not exist."""

    title = "Not found"
    exit_code = EXIT_NOT_FOUND


class ConflictError(VaultError):
    """A check-and-set write lost: the record changed since it was read."""

    title = "Changed by someone else"
    exit_code = EXIT_CONFLICT
    hint = "reload and apply your change again"


class StorageError(VaultError):
    """The vault file could not be read or written (disk full, I/O error, busy)."""

    title = "Storage error"


class ProviderError(VaultError):
    """An external secrets provider failed."""

    title = "Provider error"
    exit_code = EXIT_PROVIDER


class ProviderNotInstalledError(ProviderError):
    """The provider's SDK is not installed."""

    title = "Provider not installed"


class ProviderUnavailableError(ProviderError):
    """The provider could not be reached (network, DNS, TLS, server down)."""

    title = "Provider unavailable"


class ProviderAuthError(ProviderError):
    """The provider refused the credentials or the operation."""

    title = "Provider denied access"


class ProviderThrottledError(ProviderError):
    """The provider kept throttling after all retries."""

    title = "Provider throttling"


class ProviderLimitError(ProviderError, ValidationError):
    """A name or value does not fit a provider's limits."""

    title = "Provider limit exceeded"
    exit_code = EXIT_PROVIDER


class RotationError(VaultError):
    """A rotation or one of its hooks failed; CURRENT is untouched."""

    title = "Secret rotation failed"
    hint = "check rotation policy and secret permissions"


class BackupError(VaultError):
    """A backup could not be created, found or restored."""

    title = "Backup error"


class AuditError(VaultError):
    """The audit log could not be written or read."""

    title = "Audit log error"


class SyncError(VaultError):
    """Sync with a provider or merge with another vault file failed."""

    title = "Sync error"
