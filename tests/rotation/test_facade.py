"""The seed's rotation calls through the facade (core.secrets_manager), as written."""

from __future__ import annotations

import json

import pytest

from core.config import Settings
from core.errors import RotationError
from core.rotation import SecretRotationPolicy
from core.secrets_manager import SecretsManager


@pytest.fixture
def secrets(settings: Settings):
    mgr = SecretsManager(settings)
    yield mgr
    mgr.close()


def test_seed_rotation_calls(secrets):
    secrets.store_secret("api_key", "sk-123456789", "Production API key")
    secrets.store_secret("deploy_key", "dk-1", "Deployment key")
    secrets.set_rotation_policy("api_key", SecretRotationPolicy.DAILY)
    secrets.set_rotation_policy("deploy_key", "DAILY")  # a string, as the deploy script does
    meta = secrets.list_secrets()
    assert meta["api_key"].rotation_policy is SecretRotationPolicy.DAILY
    assert meta["deploy_key"].rotation_policy is SecretRotationPolicy.DAILY
    assert secrets.rotate_secret("api_key")
    assert secrets.retrieve_secret("api_key") != "sk-123456789"
    assert secrets.retrieve_secret("api_key", stage="PREVIOUS") == "sk-123456789"
    assert secrets.list_secrets()["api_key"].last_rotated is not None


def test_rotation_active_follows_the_scheduler(secrets):
    assert secrets.get_status()["rotation_active"] is False
    secrets.rotation_manager.start_rotation_scheduler()
    assert secrets.get_status()["rotation_active"] is True
    secrets.rotation_manager.stop_rotation_scheduler()
    assert secrets.get_status()["rotation_active"] is False


def test_on_access_read_returns_current_then_next_read_is_new(secrets):
    secrets.store_secret("one_time", "first")
    secrets.set_rotation_policy("one_time", "ON_ACCESS", generator="token:hex:16")
    first = secrets.retrieve_secret("one_time")
    second = secrets.retrieve_secret("one_time")
    third = secrets.retrieve_secret("one_time")
    assert first == "first"
    assert len({first, second, third}) == 3 and len(second) == 32
    # reading a past stage does not rotate
    previous = secrets.retrieve_secret("one_time", stage="PREVIOUS")
    assert secrets.retrieve_secret("one_time", stage="PREVIOUS") == previous


def test_a_failed_rotation_is_in_the_audit_log(secrets, settings):
    secrets.store_secret("k", "current-value")
    secrets.set_rotation_policy("k", "DAILY", hooks={"verify": "false"})
    try:  # raising RotationError or returning False are both fine for the seed's API
        ok = secrets.rotate_secret("k")
    except RotationError as exc:
        ok = False
        assert "verify hook exited with status 1" in str(exc)
    assert ok is False
    assert secrets.retrieve_secret("k") == "current-value"
    lines = [
        secrets.audit_log.open(json.loads(x))
        for x in settings.audit_log_path.read_text().splitlines()
        if x
    ]
    rotate = [e for e in lines if e["operation"] == "rotate"]
    assert rotate and rotate[-1]["success"] is False
    assert "verify hook exited with status 1" in rotate[-1]["error_message"]
    assert "current-value" not in settings.audit_log_path.read_text()


def test_the_rotation_worker_makes_the_scheduled_backup(secrets) -> None:
    """One worker for both: each cycle also runs the scheduled daily backup."""
    secrets.store_secret("a", "1")
    secrets.backup_manager.set_schedule(enabled=True, interval_hours=24)
    assert secrets.list_backups() == []
    secrets.rotation_manager.run_daemon(max_cycles=1)
    backups = secrets.list_backups()
    assert len(backups) == 1 and backups[0]["secret_count"] == 1
    secrets.rotation_manager.run_daemon(max_cycles=1)  # not due again for a day
    assert len(secrets.list_backups()) == 1
