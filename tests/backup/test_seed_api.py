"""The seed's "Backup and Recovery" section, run as written against the facade."""

from __future__ import annotations

import re
from pathlib import Path

from core.backup import body, container
from core.secrets_manager import SecretsManager


def test_seed_backup_and_recovery(manager: SecretsManager) -> None:
    secrets = manager
    secrets.store_secret("db_password", "my_secret_password", "Database password")
    secrets.store_secret("api_key", "k-123")
    assert secrets.retrieve_secret("db_password") == "my_secret_password"

    backup_path = secrets.create_backup("weekly_backup_2024_01_15")
    assert Path(backup_path).is_file()
    assert Path(backup_path).parent == manager.settings.backups_dir
    auto_path = secrets.create_backup()  # Uses timestamp
    assert re.fullmatch(r"backup_\d{8}_\d{6}(_\d+)?\.vbak", Path(auto_path).name)

    backups = secrets.list_backups()
    assert [b["name"] for b in backups] == ["weekly_backup_2024_01_15", Path(auto_path).stem]
    for backup in backups:
        assert backup["created_at"]
        assert backup["secret_count"] == 2
        assert f"{backup['size_mb']:.2f}" == "0.00"
        assert backup["type"] == "full"

    secrets.store_secret("db_password", "changed", None)
    secrets.delete_secret("api_key")
    secrets.store_secret("new_one", "created later")

    result = secrets.restore_backup("weekly_backup_2024_01_15", dry_run=True)
    assert result["restored_secrets"] == 2
    assert result["changed"] == ["db_password"] and result["added"] == ["api_key"]
    assert result["kept"] == ["new_one"]
    assert secrets.retrieve_secret("db_password") == "changed"  # dry run wrote nothing

    result = secrets.restore_backup("weekly_backup_2024_01_15")
    assert result["restored_secrets"] == 2
    assert result["errors"] == []
    assert secrets.retrieve_secret("db_password") == "my_secret_password"
    assert secrets.retrieve_secret("api_key") == "k-123"
    assert secrets.retrieve_secret("new_one") == "created later"
    # the restore is a new version: undo it with a rollback
    assert [h.version for h in secrets.history("db_password")] == [1, 2, 3]
    secrets.rollback_secret("db_password", 2)
    assert secrets.retrieve_secret("db_password") == "changed"

    deleted = secrets.backup_manager.cleanup_old_backups(keep_days=30)
    assert deleted == 0
    assert secrets.verify_backup("weekly_backup_2024_01_15")["valid"]
    assert secrets.list_backups()[0]["verified"] is True


def test_backups_carry_recent_audit_events_and_are_audited(manager: SecretsManager) -> None:
    manager.store_secret("audited", "value-never-logged")
    manager.retrieve_secret("audited")
    path = Path(manager.create_backup("with_audit"))
    root = manager.vault.derive_key("backup")
    opened = container.open_file(path, root, manager.vault.vault_id)
    events = body.decode(opened.body, path.name).audit
    assert opened.manifest["counts"]["audit_events"] == len(events) > 0
    assert {"write", "read"} <= {e["operation"] for e in events}
    assert any(e.get("secret_name") == "audited" for e in events)
    assert all("value-never-logged" not in str(e) for e in events)

    manager.restore_backup("with_audit", dry_run=True)
    manager.verify_backup("with_audit")
    operations = [e["operation"] for e in manager.audit_log.get_audit_events(limit=10)]
    assert "backup_create" in operations and "backup_verify" in operations
    assert "backup_restore" not in operations  # a dry run changes nothing
    manager.restore_backup("with_audit")
    assert manager.audit_log.get_audit_events(limit=1)[0]["operation"] == "backup_restore"
