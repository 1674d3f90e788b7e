"""The demo's activity: what a vault in use has besides its secrets.

:func:`add_activity` gives a fresh demo home (see :mod:`vaultui.demo`) an audit trail
with reads, copies, failures and one alert, a backup chain (a full backup, verified,
and an incremental one after it), two configured sync remotes, and a merged copy of the
vault that left one conflict for review. Everything is local: no remote is contacted
(the sync pane reads its state from the vault file), and every value written is a demo
value with a fixed timestamp, so the secrets browser looks the same on every run.
"""

from __future__ import annotations

import contextlib
import shutil
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Settings
    from core.secrets_manager import SecretsManager

USB_COPY = "usb/vault-usb-copy.db"
"""A diverged copy of the demo vault (as if carried on a USB stick); merged, then removed.
In a folder of its own: beside the vault its name would read as a file-sync conflict
copy, absorbed when the manager opens, before the demo merges it."""

DEMO_REMOTES = (("hashicorp_vault", "sealed"), ("hashicorp_vault", "native"))
"""The sync remotes the demo configures (provider, mode): shown, never contacted (the
demo home has no server address, see :data:`vaultui.demo.PROVIDER_PREFIXES`)."""

PROBED_NAME = "prod/aws/root"
"""A name that does not exist: the demo's failed reads of it raise the audit alert."""


def add_activity(settings: Settings) -> None:
    """Give the demo home in ``settings`` its audit trail, backups and sync state.

    ``settings`` must be a demo home made by :func:`vaultui.demo.create_demo_home`
    (local provider, its own key file). Takes a fraction of a second.
    """
    from core.secrets_manager import SecretsManager
    from core.service.types import KeySource

    _diverged_copy(settings)
    manager = SecretsManager(
        settings, key_source=KeySource.from_key_file(settings.default_key_file), source="demo"
    )
    try:
        _audit_events(manager)
        manager.backup_manager.create_backup("demo-full")
        manager.backup_manager.verify_backup("demo-full")
        _sync_state(manager, settings)
        # the merge changed the conflicted secret: the incremental backup holds that change
        manager.backup_manager.create_backup("demo-incremental", incremental=True)
    finally:
        manager.close()


def _audit_events(manager: SecretsManager) -> None:
    """Reads, copies and failures; enough failed reads of one name to raise an alert."""
    log = manager.audit_log
    for name in ("prod/stripe/api_key", "ci/npm/token", "prod/tls/wildcard_cert"):
        manager.retrieve_secret(name)
    log.log("copy", "shared/slack/webhook", success=True, version=1)
    manager.retrieve_secret("shared/slack/webhook")
    log.log("unlock", success=False, error_message="Wrong passphrase", source="app")
    log.log("copy", "dev/github/token", success=True, version=2)
    # the default rule alerts on more than 10 failures per secret within an hour
    for _ in range(11):
        log.log("read", PROBED_NAME, success=False, error_message="Secret not found")


def _sync_state(manager: SecretsManager, settings: Settings) -> None:
    """Two remotes and the merge of the diverged copy (one conflict to review)."""
    from core.service.sync import Remote, add_remote

    copy = settings.home / USB_COPY
    try:
        manager.merge(str(copy))
    finally:
        copy.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            copy.parent.rmdir()
    for provider, mode in DEMO_REMOTES:
        add_remote(manager.vault, Remote(provider, mode))


CONFLICTED = "shared/slack/webhook"
"""The secret changed differently in the two copies (before the demo's last change, so
the browser's order by update time is the same with or without the activity)."""


def _diverged_copy(settings: Settings) -> None:
    """Copy the demo vault, then change :data:`CONFLICTED` differently in each copy."""
    from core.service.types import KeySource, Vault
    from vaultui.demo import DEMO_EPOCH

    key = KeySource.from_key_file(settings.default_key_file)
    (settings.home / USB_COPY).parent.mkdir(exist_ok=True)
    shutil.copy2(settings.vault_path, settings.home / USB_COPY)
    edits = [
        (settings.home / USB_COPY, "laptop", 50),
        (settings.vault_path, "desktop", 51),
    ]
    for path, device, days in edits:
        vault = Vault.open(path, key, device_id=f"demo-{device}")
        try:
            vault.put(
                CONFLICTED,
                f"https://hooks.slack.com/services/DEMO/DEMO/demo-new-{device}",
                who="demo",
                why=f"new webhook made on the {device}",
                source="demo",
                at=DEMO_EPOCH + timedelta(days=days),
            )
        finally:
            vault.close()
