"""Every environment variable vaultui reads: name, default and meaning, in one table.

:class:`core.config.Settings` reads these variables; this table is what the
documentation renders (the environment-variable reference is generated from it) and
what a test compares with the names the code actually reads, so the two cannot drift.
Provider variables that the SDKs themselves also read (``AWS_PROFILE``, ...) are listed
where vaultui reads them explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnvVar:
    """One variable: its name, its default as a user would read it, what it does, and
    the group (``general``, ``app``, or a provider name) it is documented under."""

    name: str
    default: str
    description: str
    group: str = "general"


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("VAULTUI_HOME", "the per-user data folder (platformdirs)", "The vault home."),
    EnvVar(
        "FEDZK_SECRETS_PROVIDER",
        "`local`",
        "`local`, `hashicorp_vault`, `aws_secrets_manager`, `azure_key_vault`, "
        "`gcp_secret_manager` or a plugin provider; an unknown name is an error.",
    ),
    EnvVar(
        "FEDZK_ENCRYPTION_MASTER_KEY",
        "none (an auto-generated key file)",
        "A master key (Argon2id-derived) that opens the vault.",
    ),
    EnvVar(
        "VAULTUI_PASSPHRASE_FILE",
        "none",
        "A file holding the passphrase, for scripts.",
    ),
    EnvVar(
        "VAULTUI_NEW_PASSPHRASE_FILE",
        "none",
        "The new passphrase for `vaultui --batch passwd` without a terminal.",
    ),
    EnvVar("VAULTUI_KEY_FILE", "`$VAULTUI_HOME/vault.key`", "A key file that opens the vault."),
    EnvVar(
        "VAULTUI_IDENTITY",
        "none",
        "A team member's private key that opens a team vault: an OpenSSH key without a "
        "passphrase or an age identity file (see Team vaults).",
    ),
    EnvVar(
        "VAULTUI_ARGON2",
        "`t=3,m=65536,p=4`",
        "Argon2id cost for new passphrase slots, as `t=3,m=65536,p=4` (m in KiB).",
    ),
    EnvVar(
        "VAULTUI_BACKUP_DIRS",
        "none",
        "More backup destinations (folders, e.g. a mounted drive, separated by `:`); "
        "`vaultui --batch backup create --everywhere` writes to each.",
    ),
    EnvVar(
        "VAULTUI_GPG",
        "`gpg2` or `gpg` on `PATH`",
        "The GnuPG program `vaultui --batch import --format pass` decrypts with.",
    ),
    EnvVar(
        "VAULTUI_SDK_WIRE_LOG",
        "off",
        "`1` lets the provider SDKs log their requests and responses at `DEBUG` (values "
        "included; vaultui warns). Otherwise their loggers stay at `WARNING` or above "
        "whatever `FEDZK_LOG_LEVEL` says.",
    ),
    EnvVar(
        "VAULTUI_AGENT_MAX_TTL",
        "`86400` (24 h)",
        "The longest time to live `vaultui --batch unlock --ttl` accepts, in seconds; the "
        "agent forgets the key by then whatever it was asked.",
    ),
    EnvVar(
        "FEDZK_LOG_LEVEL",
        "`WARNING`",
        "`DEBUG`, `INFO`, `WARNING` or `ERROR`; no log line ever holds a value.",
    ),
    EnvVar(
        "VAULTUI_USER",
        "`$USER`",
        "The user name written to history and the audit trail.",
    ),
    EnvVar(
        "VAULTUI_AGENT_SOCKET",
        "`$VAULTUI_HOME/agent.sock`",
        "The unlock agent's Unix socket.",
    ),
    EnvVar(
        "VAULTUI_AUDIT_RULES",
        "`$VAULTUI_HOME/audit_alerts.json`, else the two default rules",
        "Alert rules (JSON) for the audit trail.",
    ),
    EnvVar(
        "VAULTUI_AUDIT_HOOK",
        "none",
        "A command run on each alert (value-free JSON on stdin).",
    ),
    EnvVar(
        "VAULTUI_CLIPBOARD_CLEAR",
        "`45`",
        "Seconds before a copied value is cleared, in the app and by "
        "`vaultui --batch get --clip` (`0`: never).",
        "app",
    ),
    EnvVar("VAULTUI_IDLE_LOCK", "`900`", "Seconds of inactivity before the app locks.", "app"),
    EnvVar(
        "VAULTUI_ROTATION_INTERVAL",
        "`3600`",
        "Seconds between rotation checks of the app's worker (`0` turns it off).",
        "app",
    ),
    EnvVar(
        "VAULTUI_SYNC_INTERVAL",
        "`0` (the stored setting applies)",
        "Seconds between background syncs with the configured remotes.",
        "app",
    ),
    EnvVar("VAULT_ADDR", "none", "The server's URL.", "hashicorp_vault"),
    EnvVar("VAULT_TOKEN", "none", "A token (or use AppRole below).", "hashicorp_vault"),
    EnvVar("VAULT_MOUNT_POINT", "`secret`", "The KV version 2 mount.", "hashicorp_vault"),
    EnvVar("VAULT_NAMESPACE", "none", "An Enterprise/OpenBao namespace.", "hashicorp_vault"),
    EnvVar("VAULT_ROLE_ID", "none", "AppRole login: the role id.", "hashicorp_vault"),
    EnvVar("VAULT_SECRET_ID", "none", "AppRole login: the secret id.", "hashicorp_vault"),
    EnvVar(
        "VAULT_CACERT",
        "the system's CAs",
        "A CA bundle for the server's TLS certificate.",
        "hashicorp_vault",
    ),
    EnvVar("VAULT_CAPATH", "the system's CAs", "A folder of CA certificates.", "hashicorp_vault"),
    EnvVar(
        "AWS_REGION",
        "`AWS_DEFAULT_REGION`, else `us-east-1`",
        "The region.",
        "aws_secrets_manager",
    ),
    EnvVar(
        "AWS_DEFAULT_REGION", "none", "The region, if `AWS_REGION` is unset.", "aws_secrets_manager"
    ),
    EnvVar(
        "AWS_ACCESS_KEY_ID",
        "the AWS credential chain",
        "With `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`): explicit credentials.",
        "aws_secrets_manager",
    ),
    EnvVar(
        "AWS_SECRET_ACCESS_KEY",
        "the AWS credential chain",
        "See `AWS_ACCESS_KEY_ID`.",
        "aws_secrets_manager",
    ),
    EnvVar(
        "AWS_SESSION_TOKEN",
        "none",
        "A session token for temporary explicit credentials.",
        "aws_secrets_manager",
    ),
    EnvVar(
        "AWS_PROFILE",
        "the default profile",
        "A named profile (used when no explicit keys are set).",
        "aws_secrets_manager",
    ),
    EnvVar(
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS",
        "Another endpoint for Secrets Manager (a local test server, a VPC endpoint).",
        "aws_secrets_manager",
    ),
    EnvVar(
        "AWS_ENDPOINT_URL",
        "AWS",
        "Another endpoint for every AWS service.",
        "aws_secrets_manager",
    ),
    EnvVar("AZURE_VAULT_URL", "none", "The key vault's URL.", "azure_key_vault"),
    EnvVar(
        "AZURE_CLIENT_ID",
        "`DefaultAzureCredential`",
        "A service principal: client id.",
        "azure_key_vault",
    ),
    EnvVar(
        "AZURE_CLIENT_SECRET",
        "`DefaultAzureCredential`",
        "A service principal: client secret.",
        "azure_key_vault",
    ),
    EnvVar(
        "AZURE_TENANT_ID",
        "`DefaultAzureCredential`",
        "A service principal: tenant id.",
        "azure_key_vault",
    ),
    EnvVar(
        "GOOGLE_CLOUD_PROJECT",
        "`GCP_PROJECT`",
        "The project (credentials: application default credentials).",
        "gcp_secret_manager",
    ),
    EnvVar(
        "GCP_PROJECT",
        "none",
        "The project, if `GOOGLE_CLOUD_PROJECT` is unset.",
        "gcp_secret_manager",
    ),
    EnvVar(
        "VAULTUI_GCP_ENDPOINT",
        "Google's endpoint",
        "Another REST endpoint (a local test server).",
        "gcp_secret_manager",
    ),
)
"""Every variable, in the order the reference shows them within each group."""

GROUPS: tuple[tuple[str, str], ...] = (
    ("general", "General"),
    ("app", "The app"),
    ("hashicorp_vault", "HashiCorp Vault (and OpenBao)"),
    ("aws_secrets_manager", "AWS Secrets Manager"),
    ("azure_key_vault", "Azure Key Vault"),
    ("gcp_secret_manager", "GCP Secret Manager"),
)
"""The groups of :data:`ENV_VARS` (key, title), in reading order."""


def markdown_table() -> str:
    """The variables as Markdown: one table per group, under a level-2 heading each."""
    out: list[str] = []
    for key, title in GROUPS:
        rows = [v for v in ENV_VARS if v.group == key]
        if not rows:
            continue
        out += [f"## {title}", "", "| variable | default | meaning |", "|---|---|---|"]
        out += [f"| `{v.name}` | {v.default} | {v.description} |" for v in rows]
        out.append("")
    return "\n".join(out)
