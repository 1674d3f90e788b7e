"""``vaultui --demo``: a throwaway vault with realistic (obviously fake) sample secrets.

The demo lives in a fresh temporary home opened with a generated key file (no
passphrase), uses the local provider whatever the environment says, and is deleted when
the app exits. Every value is a made-up demo value (they all contain "demo" or
"DEMO"/"EXAMPLE"), so showing them in screenshots leaks nothing. Timestamps are fixed,
so screens and snapshots of the demo are the same on every run.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.config import Settings, ensure_home
from core.service.types import KeySource, Vault, write_new_key_file

DEMO_EPOCH = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
"""The demo's first change; every later one is a fixed offset from it."""

_CERT = (
    "-----BEGIN CERTIFICATE-----\n"
    "DEMO-CERTIFICATE-NOT-REAL-MIIBszCCAVmgAwIBAgIUDEMO\n"
    "-----END CERTIFICATE-----\n"
)

_DEMO_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nDEMO-NOT-A-REAL-KEY\n-----END OPENSSH PRIVATE KEY-----\n"
)

# (name, [(value, days after DEMO_EPOCH, why), ...], description, tags, rotation)
DEMO_SECRETS: list[
    tuple[str, list[tuple[Any, float, str]], str, dict[str, str], dict[str, Any]]
] = [
    (
        "prod/db/password",
        [
            ("demo-initial-password", 0, "created"),
            ("demo-rotated-password-2", 30, "rotation (monthly)"),
            ("demo-password-not-real", 60, "rotation (monthly)"),
        ],
        "Postgres password for the orders service",
        {"env": "prod", "team": "platform"},
        {
            "policy": "monthly",
            "generator": "password:length=24,classes=ulds",
            "last_rotated": "2025-05-02T09:00:00+00:00",
        },
    ),
    (
        "prod/db/config",
        [
            (
                {
                    "host": "db.demo.internal",
                    "port": 5432,
                    "username": "orders",
                    "password": "demo-db-pass-1",
                    "sslmode": "require",
                },
                1,
                "created",
            ),
            (
                {
                    "host": "db.demo.internal",
                    "port": 5432,
                    "username": "orders",
                    "password": "demo-db-pass-2",
                    "sslmode": "require",
                },
                45,
                "password change",
            ),
        ],
        "Connection settings for the orders database",
        {"env": "prod", "team": "platform"},
        {"policy": "90d", "generator": "field:password:password:length=24"},
    ),
    (
        "prod/stripe/api_key",
        [("sk_test_DEMO0000000000000000000000", 2, "created")],
        "Stripe secret key (test mode, demo)",
        {"env": "prod", "team": "payments", "pci": ""},
        {},
    ),
    (
        "prod/aws/deploy",
        [
            (
                {
                    "access_key_id": "AKIADEMO00000EXAMPLE",
                    "secret_access_key": "demo/EXAMPLE/secret/key/0000000000",
                },
                3,
                "created",
            ),
            (
                {
                    "access_key_id": "AKIADEMO00001EXAMPLE",
                    "secret_access_key": "demo/EXAMPLE/secret/key/1111111111",
                },
                33,
                "key rotation",
            ),
        ],
        "CI deploy user",
        {"env": "prod", "team": "platform"},
        {"policy": "monthly", "generator": "field:secret_access_key:token:urlsafe:30"},
    ),
    (
        "prod/tls/wildcard_cert",
        [(_CERT, 4, "created")],
        "*.demo.example TLS certificate",
        {"env": "prod"},
        {},
    ),
    (
        "staging/db/password",
        [
            ("demo-staging-pass-1", 5, "created"),
            ("demo-staging-pass-2", 12, "rotation (weekly)"),
            ("demo-staging-pass-3", 19, "rotation (weekly)"),
            ("demo-staging-pass-4", 26, "rotation (weekly)"),
        ],
        "Staging Postgres password",
        {"env": "staging", "team": "platform"},
        {
            "policy": "weekly",
            "generator": "password:length=20",
            "last_rotated": "2025-03-29T09:00:00+00:00",
        },
    ),
    (
        "staging/redis/url",
        [("redis://:demo-redis-pass@redis.staging.demo:6379/0", 6, "created")],
        "Session cache",
        {"env": "staging"},
        {},
    ),
    (
        "dev/github/token",
        [
            ("ghp_DEMO0000000000000000000000000000000", 7, "created"),
            ("ghp_DEMO1111111111111111111111111111111", 40, "expired"),
        ],
        "Personal access token for the release bot",
        {"env": "dev", "team": "devex"},
        {"policy": "daily", "generator": "token:hex:20"},
    ),
    (
        "shared/slack/webhook",
        [("https://hooks.slack.com/services/DEMO/DEMO/demo-not-real", 8, "created")],
        "Alerts channel webhook",
        {"team": "devex"},
        {},
    ),
    (
        "ci/npm/token",
        [("npm_DEMO000000000000000000000000000000", 9, "created")],
        "Publishes @demo packages",
        {"env": "ci", "team": "devex"},
        {},
    ),
    (
        "ssh/deploy_key",
        [
            (
                {
                    "algorithm": "ed25519",
                    "public_key": "ssh-ed25519 AAAADEMOKEYNOTREAL demo@vaultui",
                    "private_key": _DEMO_KEY,
                },
                10,
                "created",
            )
        ],
        "Deploy key for the infra repo",
        {"env": "prod", "team": "platform"},
        {},
    ),
    (
        "api/jwt_signing_key",
        [("demo0000000000000000000000000000000000000000000000000000000000ff", 11, "created")],
        "HS256 key for session tokens",
        {"env": "prod", "team": "identity"},
        {"policy": "weekly", "generator": "token:hex:32"},
    ),
]


def populate(vault: Vault) -> int:
    """Write the demo secrets into ``vault``; returns how many secrets it made."""
    with vault.transaction():
        for name, versions, description, tags, rotation in DEMO_SECRETS:
            for i, (value, days, why) in enumerate(versions):
                last = i == len(versions) - 1
                vault.put(
                    name,
                    value,
                    description=description,
                    tags=tags,
                    rotation=rotation if last and rotation else None,
                    who="demo",
                    why=why,
                    source="demo",
                    at=DEMO_EPOCH + timedelta(days=days),
                )
    return len(DEMO_SECRETS)


PROVIDER_PREFIXES = ("VAULT_", "AWS_", "AZURE_", "GOOGLE_", "GCP_", "VAULTUI_GCP_")
"""Environment variables a demo home never sees: the demo's sync remotes must not reach
the user's real servers with demo secrets (a sync then fails at once: not configured)."""


def create_demo_home(
    settings: Settings, parent: Path | None = None, *, activity: bool = True
) -> Settings:
    """Make a temporary home holding a populated demo vault; return settings for it.

    With ``activity`` the home also gets an audit trail with an alert, a backup chain,
    sync remotes and a conflict to review (:mod:`vaultui.demo_activity`), so every pane
    of the app has something to show.

    The returned settings keep the user's app preferences (idle lock, clipboard) but
    point at the new home, use the local provider and the home's own key file (any
    configured master key, key file or passphrase file is ignored), and carry no
    provider address or credentials and no background sync.
    """
    home = Path(tempfile.mkdtemp(prefix="vaultui-demo-", dir=parent))
    demo = dataclasses.replace(
        settings,
        home=home,
        provider="local",
        master_key=None,
        key_file=None,
        passphrase_file=None,
        user="demo",
        agent_socket=None,
        vault_addr=None,
        vault_token=None,
        vault_role_id=None,
        vault_secret_id=None,
        vault_namespace=None,
        azure_vault_url=None,
        azure_client_id=None,
        azure_client_secret=None,
        azure_tenant_id=None,
        gcp_project=None,
        gcp_endpoint=None,
        sync_interval_seconds=0,
        env={k: v for k, v in settings.env.items() if not k.startswith(PROVIDER_PREFIXES)},
    )
    ensure_home(demo)
    key_path = write_new_key_file(demo.default_key_file)
    vault = Vault.create(demo.vault_path, KeySource.from_key_file(key_path))
    try:
        populate(vault)
    finally:
        vault.close()
    if activity:
        from vaultui.demo_activity import add_activity

        add_activity(demo)
    return demo


def remove_demo_home(settings: Settings) -> None:
    """Delete a home made by :func:`create_demo_home` (only if it looks like one)."""
    if settings.home.name.startswith("vaultui-demo-"):
        shutil.rmtree(settings.home, ignore_errors=True)
