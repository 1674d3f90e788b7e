"""Finding the key and opening (or creating) the vault in the vault home.

Key precedence, first match wins:

1. an explicit :class:`KeySource` (the app's passphrase prompt, the unlock agent);
2. ``VAULTUI_PASSPHRASE_FILE`` (a file holding the passphrase);
3. ``FEDZK_ENCRYPTION_MASTER_KEY`` (the seed's master key);
4. ``VAULTUI_KEY_FILE``;
5. ``VAULTUI_IDENTITY`` (a member's private key: an OpenSSH key without a passphrase
   or an age identity file; it opens an existing team vault, never creates one);
6. the home's own key file ``vault.key``;
7. nothing configured and no vault yet: a random key file is generated in the home
   (0600) and ``get_status()['key_source']`` says "auto-generated key file" (the seed's
   "Auto-generated" default).

A vault that exists with none of these available raises :class:`KeyMissingError` with
the seed's troubleshooting text.
"""

from __future__ import annotations

from pathlib import Path

from core.config import Settings, ensure_home
from core.errors import ConfigError, KeyMissingError, NotFoundError
from core.vault import Argon2Params, KeySource, Vault, write_new_key_file


def read_passphrase_file(path: Path) -> str:
    """The passphrase in ``path`` (one trailing newline stripped)."""
    from core.input_limits import MAX_KEY_FILE_BYTES, read_bounded

    try:
        with open(path, "rb") as f:
            text = read_bounded(
                f, MAX_KEY_FILE_BYTES, str(path), "a passphrase is one line"
            ).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"VAULTUI_PASSPHRASE_FILE {path} does not exist") from None
    except UnicodeDecodeError:  # its text would quote a byte of the passphrase
        raise ConfigError(f"VAULTUI_PASSPHRASE_FILE {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(
            f"VAULTUI_PASSPHRASE_FILE {path} cannot be read: {exc.strerror}"
        ) from None
    return text[:-1] if text.endswith("\n") else text


def configured_key_source(settings: Settings) -> KeySource | None:
    """The key the environment configures (2-6 above), or None."""
    if settings.passphrase_file:
        return KeySource.passphrase(
            read_passphrase_file(settings.passphrase_file), label="VAULTUI_PASSPHRASE_FILE"
        )
    if settings.master_key:
        return KeySource.master_key(settings.master_key)
    if settings.key_file:
        return KeySource.from_key_file(settings.key_file)
    if settings.identity:
        return KeySource.identity(settings.identity)
    if settings.default_key_file.exists():
        # the home's own key file is the one vaultui generated (7 below): saying so on
        # every later run keeps status truthful after the run that made it
        return KeySource.from_key_file(settings.default_key_file, auto_generated=True)
    return None


def vault_exists(settings: Settings) -> bool:
    """True if the home already holds a vault file; StorageError (with a hint) if the
    home cannot be looked into (another user's folder, mode 000)."""
    from core.config import folder_error

    path = settings.vault_path
    try:
        return path.stat().st_size > 0
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise folder_error(path.parent, exc) from None


def open_vault(
    settings: Settings,
    key_source: KeySource | None = None,
    *,
    create: bool = True,
    kdf: Argon2Params | None = None,
) -> Vault:
    """Open the home's vault with the best available key, creating it if allowed.

    Raises KeyMissingError when a vault exists and no key is available, NotFoundError when
    no vault exists and ``create`` is False, WrongKeyError / IntegrityError from opening.
    """
    ks = key_source or configured_key_source(settings)
    kdf = kdf or kdf_from_settings(settings)
    if vault_exists(settings):
        if ks is None:
            raise KeyMissingError(
                "Master encryption key not found",
                hint="set FEDZK_ENCRYPTION_MASTER_KEY (or VAULTUI_KEY_FILE / "
                "VAULTUI_PASSPHRASE_FILE / VAULTUI_IDENTITY), or unlock the vault with its "
                "passphrase",
            )
        return Vault.open(settings.vault_path, ks)
    if ks is not None and ks.kind == "age":
        raise NotFoundError(
            f"No vault at {settings.vault_path}",
            hint="VAULTUI_IDENTITY opens an existing team vault (an owner adds you with "
            "`vaultui --batch members add`); it cannot create one",
        )
    if not create:
        raise NotFoundError(f"No vault at {settings.vault_path}")
    ensure_home(settings)
    if ks is None:
        key_path = write_new_key_file(settings.default_key_file)
        ks = KeySource.from_key_file(key_path, auto_generated=True)
    return Vault.create(settings.vault_path, ks, kdf=kdf)


def kdf_from_settings(settings: Settings) -> Argon2Params | None:
    """Argon2 cost for new passphrase slots from VAULTUI_ARGON2, or None for the default."""
    if settings.argon2 is None:
        return None
    t, m, p = settings.argon2
    return Argon2Params(time_cost=t, memory_kib=m, parallelism=p)


def slot_kinds(settings: Settings) -> list[str]:
    """Which kinds of key open the home's vault ('passphrase', 'keyfile'); no key needed."""
    return Vault.slot_kinds(settings.vault_path)


def describe_key_source(ks: KeySource) -> str:
    """A short, secret-free description for ``get_status()['key_source']``."""
    if ks.auto_generated:
        return f"auto-generated {ks.label}"
    return ks.label or ks.kind
