"""Every call of the FEDzk secrets manager's README works as written (FEDzk-compatible API)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from core.errors import ConfigError, KeyMissingError, WrongKeyError


def test_issue_two_session(home: Path) -> None:
    from core.secrets_manager import (
        SecretRotationPolicy,
        get_secrets_manager,
        reset_secrets_manager,
        store_secret,
    )

    try:
        secrets = get_secrets_manager()
        secrets.store_secret("db_password", "my_secret_password", "Database password")
        secrets.store_secret(
            "database_config", {"host": "h", "port": 5432}, "Database configuration"
        )
        assert secrets.retrieve_secret("database_config")["port"] == 5432
        assert secrets.list_secrets()["db_password"].description == "Database password"
        assert secrets.retrieve_secret("db_password") == "my_secret_password"
        secrets.delete_secret("db_password")
        assert secrets.retrieve_secret("db_password") is None
        store_secret("api_key", "sk-123456789", "Production API key")
        metadata = secrets.list_secrets()["api_key"]
        metadata.description = "Rotated production key"
        metadata.tags = {"team": "payments"}
        assert secrets.update_secret_metadata("api_key", metadata)
        meta = secrets.list_secrets()["api_key"]
        assert meta.description == "Rotated production key"
        assert meta.tags == {"team": "payments"}
        assert meta.rotation_policy is SecretRotationPolicy.NEVER
        assert secrets.retrieve_secret("api_key") == "sk-123456789"  # value untouched
        status = secrets.get_status()
        assert status["provider"] == "local"
        assert status["total_secrets"] == 2
        assert status["rotation_active"] is False
        assert status["vault_path"] == str(home / "vault.db")
        assert "auto-generated" in status["key_source"]
    finally:
        reset_secrets_manager()


def test_module_level_functions(home: Path) -> None:
    from core import secrets_manager as sm

    try:
        assert sm.store_secret("deploy_key", "k-1", "Deployment key for prod")
        assert sm.get_secret("deploy_key") == "k-1"
        assert sm.retrieve_secret("deploy_key") == "k-1"
        assert "deploy_key" in sm.list_secrets()
        assert sm.delete_secret("deploy_key") is True
        assert sm.delete_secret("deploy_key") is False
        assert sm.retrieve_secret("deploy_key") is None
    finally:
        sm.reset_secrets_manager()


def test_list_secrets_metadata_fields(manager) -> None:
    manager.store_secret("k", b"\x00\x01", "bytes key", tags=["infra"])
    assert manager.retrieve_secret("k") == b"\x00\x01"
    manager.retrieve_secret("k")
    meta = manager.list_secrets()["k"]
    assert meta.name == "k" and meta.type == "bytes"
    assert meta.tags == {"infra": ""}
    assert meta.created_at is not None and meta.updated_at is not None
    assert meta.version == 1 and meta.provider == "local"
    assert meta.access_count == 2
    assert meta.last_accessed is not None


def test_home_layout_and_permissions(manager, home: Path) -> None:
    manager.store_secret("a", "b")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for sub in ("logs", "backups"):
        assert stat.S_IMODE((home / sub).stat().st_mode) == 0o700
    for f in ("vault.db", "vault.key"):
        assert stat.S_IMODE((home / f).stat().st_mode) == 0o600
    assert (home / "logs" / "secrets_audit.log").exists()


def test_master_key_takes_precedence_over_auto_generation(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.config import Settings
    from core.secrets_manager import SecretsManager

    monkeypatch.setenv("FEDZK_ENCRYPTION_MASTER_KEY", "a long master key from the environment")
    m = SecretsManager(Settings.from_env())
    m.store_secret("x", "y")
    assert m.get_status()["key_source"] == "FEDZK_ENCRYPTION_MASTER_KEY"
    m.close()
    assert not (home / "vault.key").exists()
    monkeypatch.setenv("FEDZK_ENCRYPTION_MASTER_KEY", "a different key")
    with pytest.raises(WrongKeyError):
        SecretsManager(Settings.from_env())
    monkeypatch.delenv("FEDZK_ENCRYPTION_MASTER_KEY")
    with pytest.raises(
        KeyMissingError, match="Master encryption key not found: set FEDZK_ENCRYPTION_MASTER_KEY"
    ):
        SecretsManager(Settings.from_env())


def test_passphrase_file(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import Settings
    from core.secrets_manager import SecretsManager

    pf = tmp_path / "pass.txt"
    pf.write_text("correct horse battery staple\n")
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pf))
    m = SecretsManager(Settings.from_env())
    m.store_secret("x", "y")
    assert m.get_status()["key_source"] == "VAULTUI_PASSPHRASE_FILE"
    m.close()
    pf.write_text("wrong\n")
    with pytest.raises(WrongKeyError):
        SecretsManager(Settings.from_env())


def test_unknown_provider_is_a_clear_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import Settings
    from core.secrets_manager import SecretsManager

    monkeypatch.setenv("FEDZK_SECRETS_PROVIDER", "hashicorp_vualt")
    with pytest.raises(
        ConfigError, match=r"Unknown provider 'hashicorp_vualt' \(from FEDZK_SECRETS_PROVIDER\)"
    ):
        SecretsManager(Settings.from_env())


def test_nothing_logged_holds_a_value(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from core.config import Settings
    from core.secrets_manager import SecretsManager

    monkeypatch.setenv("FEDZK_LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    canary = "CANARY-9e1f-do-not-log"
    m = SecretsManager(Settings.from_env())
    m.store_secret("c", canary, "canary")
    m.retrieve_secret("c")
    m.list_secrets()
    with pytest.raises(Exception):
        m.store_secret("bad name!", canary)
    m.close()
    assert logging.getLogger("core").level == logging.DEBUG
    assert canary not in caplog.text
    for path in home.rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path


def test_errors_never_contain_the_value(manager) -> None:
    from core.errors import VaultError

    canary = "CANARY-value-in-error?"
    for call in (
        lambda: manager.store_secret("bad name", canary),
        lambda: manager.store_secret("ok", {"k": object(), "v": canary}),
        lambda: manager.store_secret("ok", canary * 100_000),
    ):
        with pytest.raises(VaultError) as info:
            call()
        assert "CANARY" not in str(info.value)
        assert "CANARY" not in repr(info.value)


def test_log_level_env_is_validated(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import Settings
    from core.secrets_manager import SecretsManager

    monkeypatch.setenv("FEDZK_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError, match="FEDZK_LOG_LEVEL"):
        SecretsManager(Settings.from_env())
    assert os.environ["FEDZK_LOG_LEVEL"] == "LOUD"


def test_facade_merges_a_diverged_copy(manager, home: Path) -> None:
    import shutil

    manager.store_secret("shared", "v1")
    copy = home.parent / "copy.db"
    shutil.copy(home / "vault.db", copy)
    from core.vault import KeySource, Vault

    with Vault.open(copy, KeySource.from_key_file(home / "vault.key")) as other:
        other.put("from-usb", "usb-value")
    manager.store_secret("local-only", "here")
    manager.merge(str(copy))
    assert manager.retrieve_secret("from-usb") == "usb-value"
    assert manager.retrieve_secret("local-only") == "here"


def test_updating_a_value_keeps_description_and_tags(manager) -> None:
    manager.store_secret("api_key", "v1", "Production API key", tags={"team": "pay"})
    manager.store_secret("api_key", "v2")
    meta = manager.list_secrets()["api_key"]
    assert (meta.description, meta.tags, meta.version) == ("Production API key", {"team": "pay"}, 2)
    manager.store_secret("api_key", "v3", "")
    assert manager.list_secrets()["api_key"].description == ""


def test_sdk_warnings_stay_off_stderr_unless_debugging(tmp_path: Path) -> None:
    """azure-core logs a warning with a traceback when an error body is not JSON; with
    no logging configured Python prints it on stderr. vaultui reports the error itself,
    so the SDKs' own warnings show only with FEDZK_LOG_LEVEL=DEBUG."""
    import subprocess
    import sys

    script = (
        "import logging\n"
        "from core.config import Settings, configure_logging\n"
        "configure_logging(Settings.from_env())\n"
        "logging.getLogger('azure.core.pipeline').warning('SDK-NOISE deserialization error')\n"
        "logging.getLogger('core.providers').warning('OWN-WARNING')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "VAULTUI_HOME": str(tmp_path)}
    quiet = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert "SDK-NOISE" not in quiet.stderr and "OWN-WARNING" in quiet.stderr
    loud = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "FEDZK_LOG_LEVEL": "DEBUG"},
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert "SDK-NOISE" in loud.stderr
