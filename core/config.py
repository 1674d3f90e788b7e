"""Environment variables and paths, read in one place.

Every setting vaultui reads from the environment is a field of :class:`Settings`;
nothing else in ``core`` touches ``os.environ``. Tests pass their own mapping.

The vault home is ``$VAULTUI_HOME`` or the user data dir from platformdirs. It holds
``vault.db`` (the vault file), ``vault.key`` (an auto-generated key file, when no other
key is configured), ``logs/`` and ``backups/``. Folders are created 0700, files 0600.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ConfigError, StorageError

VAULT_FILENAME = "vault.db"
KEY_FILENAME = "vault.key"

PROVIDER_NAMES = (
    "local",
    "hashicorp_vault",
    "aws_secrets_manager",
    "azure_key_vault",
    "gcp_secret_manager",
)


def default_home() -> Path:
    """The per-user data folder for vaultui (platformdirs)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("vaultui", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Everything vaultui reads from the environment.

    Build it with :meth:`from_env`; fields map one-to-one to the variables listed in
    :data:`core.env_vars.ENV_VARS` (the documentation's environment-variable reference).
    """

    home: Path
    provider: str = "local"
    master_key: str | None = field(default=None, repr=False)
    key_file: Path | None = None
    passphrase_file: Path | None = None
    identity: Path | None = None
    new_passphrase_file: Path | None = None
    log_level: str = "WARNING"
    sdk_wire_log: bool = False  # VAULTUI_SDK_WIRE_LOG=1: let the SDKs log requests (values!)
    user: str = "unknown"
    # provider settings (the seed's variables plus each SDK's usual ones)
    vault_addr: str | None = None
    vault_token: str | None = field(default=None, repr=False)
    vault_mount_point: str = "secret"
    vault_namespace: str | None = None
    vault_role_id: str | None = None
    vault_secret_id: str | None = field(default=None, repr=False)
    aws_region: str = "us-east-1"
    azure_vault_url: str | None = None
    azure_client_id: str | None = None
    azure_client_secret: str | None = field(default=None, repr=False)
    azure_tenant_id: str | None = None
    gcp_project: str | None = None
    gcp_endpoint: str | None = None
    # app / worker
    clipboard_clear_seconds: int = 45  # as pass -c: the app and `get --clip` alike
    # `--batch get --clip` clears after 45 s by default, as `pass -c` does
    idle_lock_seconds: int = 900
    rotation_interval_seconds: int = 3600
    sync_interval_seconds: int = 0  # 0: no background sync
    agent_socket: Path | None = None
    agent_max_ttl_seconds: int = 86400  # ceiling for `unlock --ttl` (VAULTUI_AGENT_MAX_TTL)
    argon2: tuple[int, int, int] | None = None  # (t, m KiB, p) for new key slots
    audit_rules_file: Path | None = None
    audit_hook: str | None = None
    backup_dirs: tuple[Path, ...] = ()  # VAULTUI_BACKUP_DIRS: more backup destinations
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    # where ``provider`` came from, so an error blames the right place (--provider)
    provider_origin: str = field(default="FEDZK_SECRETS_PROVIDER", compare=False)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, provider: str | None = None
    ) -> Settings:
        """Read settings from ``environ`` (default ``os.environ``).

        ``provider`` (a ``--provider`` option) wins over FEDZK_SECRETS_PROVIDER, and
        errors about it then name ``--provider`` as its origin.
        """
        env = dict(os.environ if environ is None else environ)
        home = Path(env["VAULTUI_HOME"]).expanduser() if env.get("VAULTUI_HOME") else None
        origin = "--provider" if provider else "FEDZK_SECRETS_PROVIDER"
        if provider:
            env["FEDZK_SECRETS_PROVIDER"] = provider
        provider = (env.get("FEDZK_SECRETS_PROVIDER") or "local").strip()
        return cls(
            home=home or default_home(),
            provider=provider,
            master_key=env.get("FEDZK_ENCRYPTION_MASTER_KEY") or None,
            key_file=_path(env.get("VAULTUI_KEY_FILE")),
            passphrase_file=_path(env.get("VAULTUI_PASSPHRASE_FILE")),
            identity=_path(env.get("VAULTUI_IDENTITY")),
            new_passphrase_file=_path(env.get("VAULTUI_NEW_PASSPHRASE_FILE")),
            log_level=(env.get("FEDZK_LOG_LEVEL") or "WARNING").upper(),
            sdk_wire_log=(env.get("VAULTUI_SDK_WIRE_LOG") or "").strip() == "1",
            user=env.get("VAULTUI_USER") or env.get("USER") or env.get("LOGNAME") or _uid_name(),
            vault_addr=env.get("VAULT_ADDR") or None,
            vault_token=env.get("VAULT_TOKEN") or None,
            vault_mount_point=env.get("VAULT_MOUNT_POINT") or "secret",
            vault_namespace=env.get("VAULT_NAMESPACE") or None,
            vault_role_id=env.get("VAULT_ROLE_ID") or None,
            vault_secret_id=env.get("VAULT_SECRET_ID") or None,
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            azure_vault_url=env.get("AZURE_VAULT_URL") or None,
            azure_client_id=env.get("AZURE_CLIENT_ID") or None,
            azure_client_secret=env.get("AZURE_CLIENT_SECRET") or None,
            azure_tenant_id=env.get("AZURE_TENANT_ID") or None,
            gcp_project=env.get("GOOGLE_CLOUD_PROJECT") or env.get("GCP_PROJECT") or None,
            gcp_endpoint=env.get("VAULTUI_GCP_ENDPOINT") or None,
            clipboard_clear_seconds=_int(env, "VAULTUI_CLIPBOARD_CLEAR", 45),
            idle_lock_seconds=_int(env, "VAULTUI_IDLE_LOCK", 900),
            rotation_interval_seconds=_int(env, "VAULTUI_ROTATION_INTERVAL", 3600),
            sync_interval_seconds=_int(env, "VAULTUI_SYNC_INTERVAL", 0),
            agent_socket=_path(env.get("VAULTUI_AGENT_SOCKET")),
            agent_max_ttl_seconds=_int(env, "VAULTUI_AGENT_MAX_TTL", 86400),
            argon2=_argon2(env.get("VAULTUI_ARGON2")),
            audit_rules_file=_path(env.get("VAULTUI_AUDIT_RULES")),
            audit_hook=env.get("VAULTUI_AUDIT_HOOK") or None,
            backup_dirs=_paths(env.get("VAULTUI_BACKUP_DIRS")),
            env=env,
            provider_origin=origin,
        )

    @property
    def vault_path(self) -> Path:
        """The vault file."""
        return self.home / VAULT_FILENAME

    @property
    def default_key_file(self) -> Path:
        """Where the auto-generated key file lives."""
        return self.home / KEY_FILENAME

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def audit_log_path(self) -> Path:
        return self.logs_dir / "secrets_audit.log"

    @property
    def audit_rules_path(self) -> Path:
        """Alert rules (JSON); the seed's two rules apply when the file is absent."""
        return self.audit_rules_file or self.home / "audit_alerts.json"

    @property
    def backups_dir(self) -> Path:
        return self.home / "backups"

    @property
    def agent_socket_path(self) -> Path:
        """The unlock agent's Unix socket (``VAULTUI_AGENT_SOCKET`` or ``<home>/agent.sock``)."""
        if self.agent_socket:
            return self.agent_socket
        return self.home / "agent.sock"

    def validate_provider(self) -> str:
        """Return the provider name, or raise :class:`ConfigError` for an unknown one."""
        if self.provider in PROVIDER_NAMES:
            return self.provider  # built-in: no need to scan package metadata
        from core.providers.registry import provider_names

        names = provider_names()
        if self.provider not in names:
            raise unknown_provider(self.provider, self.provider_origin, names)
        return self.provider


def unknown_provider(name: str, origin: str | None, names: Iterable[str]) -> ConfigError:
    """The error for a provider name nobody registered, naming where the value came from
    (``--provider``, ``FEDZK_SECRETS_PROVIDER``) and every valid choice."""
    choices = "choose one of: " + ", ".join(sorted(names))
    where = f" (from {origin})" if origin else ""
    return ConfigError(f"Unknown provider {name!r}{where}; {choices}", hint=choices)


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0700 and tighten it if it exists.

    Raises StorageError (with a hint) if the folder belongs to another user or cannot
    be created, read or changed.
    """
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = path.stat()
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(path, 0o700)
        if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied", str(path))
    except OSError as exc:
        raise folder_error(path, exc) from None
    return path


def folder_error(path: Path, exc: OSError) -> StorageError:
    """A clear error for a vault folder that cannot be used (owner, mode, disk)."""
    owner = ""
    with contextlib.suppress(OSError):
        uid = path.stat().st_uid
        if uid != os.geteuid():
            owner = f"; it belongs to user id {uid}, not to you ({os.geteuid()})"
    return StorageError(
        f"Cannot use the folder {path}: {exc.strerror or exc}{owner}",
        hint="use a folder you own: set VAULTUI_HOME, or fix it with chown/chmod 700",
    )


def ensure_home(settings: Settings) -> Path:
    """Create the vault home with ``logs/`` and ``backups/``, all 0700."""
    ensure_private_dir(settings.home)
    ensure_private_dir(settings.logs_dir)
    ensure_private_dir(settings.backups_dir)
    return settings.home


SDK_LOGGERS = (
    "azure",
    "google",
    "google_auth_httplib2",
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "requests",
    "requests_oauthlib",
    "oauthlib",
    "httpx",
    "httpcore",
    "hvac",
    "grpc",
    "msal",
)
"""Loggers of the provider SDKs and their HTTP stacks. At DEBUG some of them log request
and response bodies (botocore's ``"SecretString": ...``, azure-core's network trace),
that is, secret values and tokens."""

_log = logging.getLogger(__name__)


def sdk_log_level(settings: Settings) -> int:
    """The level the SDK loggers get: never below WARNING (no wire log, no values) unless
    ``VAULTUI_SDK_WIRE_LOG=1``; ERROR unless ``FEDZK_LOG_LEVEL`` is DEBUG (vaultui
    reports their errors in its own words)."""
    level = getattr(logging, settings.log_level, logging.WARNING)
    if not isinstance(level, int) or level > logging.DEBUG:
        return logging.ERROR
    return level if settings.sdk_wire_log else logging.WARNING


def cap_sdk_loggers(settings: Settings) -> None:
    """Set every SDK logger to :func:`sdk_log_level`, whatever the root logger says.

    Called when logging is configured and again whenever a provider is built, so an
    application that turned its root logger to DEBUG still gets no wire log.
    """
    sdk_level = sdk_log_level(settings)
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(sdk_level)


def configure_logging(settings: Settings) -> None:
    """Apply ``FEDZK_LOG_LEVEL`` to the ``core`` and ``vaultui`` loggers and cap the
    provider SDKs' loggers (:func:`cap_sdk_loggers`): no level logs a secret value."""
    level = getattr(logging, settings.log_level, None)
    if not isinstance(level, int):
        raise ConfigError(f"FEDZK_LOG_LEVEL={settings.log_level!r} is not a logging level")
    for name in ("core", "vaultui"):
        logging.getLogger(name).setLevel(level)
    cap_sdk_loggers(settings)
    if level <= logging.INFO and not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.sdk_wire_log and sdk_log_level(settings) <= logging.DEBUG:
        _log.warning(
            "VAULTUI_SDK_WIRE_LOG=1: the provider SDKs log their requests and responses, "
            "secret values and tokens included"
        )


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _paths(value: str | None) -> tuple[Path, ...]:
    """Folders separated by ``os.pathsep`` (``:``); empty entries skipped."""
    parts = (value or "").split(os.pathsep)
    return tuple(Path(p.strip()).expanduser() for p in parts if p.strip())


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer number of seconds") from None


def _argon2(raw: str | None) -> tuple[int, int, int] | None:
    """Parse VAULTUI_ARGON2='t=3,m=65536,p=4' (Argon2id cost for new key slots)."""
    if not raw:
        return None
    try:
        parts = dict(item.split("=", 1) for item in raw.replace(" ", "").split(","))
        t, m, p = int(parts["t"]), int(parts["m"]), int(parts["p"])
    except (ValueError, KeyError):
        raise ConfigError("VAULTUI_ARGON2 must look like 't=3,m=65536,p=4' (m in KiB)") from None
    from core.vault import kdf_bounds as b

    if not (
        b.MIN_TIME_COST <= t <= b.MAX_TIME_COST
        and b.MIN_PARALLELISM <= p <= b.MAX_PARALLELISM
        and 8 * p <= m <= b.MAX_MEMORY_KIB
    ):
        raise ConfigError(
            f"VAULTUI_ARGON2: {b.MIN_TIME_COST} <= t <= {b.MAX_TIME_COST}, "
            f"{b.MIN_PARALLELISM} <= p <= {b.MAX_PARALLELISM} and "
            f"8*p <= m <= {b.MAX_MEMORY_KIB} KiB are required"
        )
    return t, m, p


def _uid_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return "unknown"
