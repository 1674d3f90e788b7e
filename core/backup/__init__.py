"""Full and incremental encrypted backups: create, list, verify, restore, clean up.

::

    from core.backup import BackupManager, restore_backup_file

    backups = BackupManager(vault, settings.backups_dir, audit=audit_log)
    backups.create_backup("weekly")                 # full
    backups.create_backup(incremental=True)          # only what changed since the last one
    backups.verify_backup("weekly")["valid"]
    backups.restore_backup("weekly", dry_run=True)   # what would change
    backups.restore_backup(None, point_in_time="2d") # the state two days ago
    backups.cleanup_old_backups(keep_days=30, keep_last=5)
    backups.run_scheduled()                          # the daily job (rotation worker)

    # a new machine, only the backup file and the passphrase:
    restore_backup_file("weekly.vbak", "~/.local/share/vaultui/vault.db",
                        KeySource.passphrase("..."))

See docs/backup.md for the file format and the restore rules.
"""

from core.backup.catalog import BackupInfo
from core.backup.container import EXTENSION, FORMAT
from core.backup.manager import BackupManager, parse_when
from core.backup.recovery import recover as restore_backup_file
from core.backup.schedule import Schedule

__all__ = [
    "EXTENSION",
    "FORMAT",
    "BackupInfo",
    "BackupManager",
    "Schedule",
    "parse_when",
    "restore_backup_file",
]
