"""Child processes for the backup crash and concurrency tests (run with ``python -m``).

Keys are passed as a file path, never in argv.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from core.backup import BackupManager
from core.vault import KeySource, Vault


def _open(vault_path: str, key_file: str) -> Vault:
    passphrase = Path(key_file).read_text()
    return Vault.open(Path(vault_path), KeySource.passphrase(passphrase))


def restore_and_hang(vault_path: str, key_file: str, backups: str, name: str, marker: str) -> None:
    """Restore ``name``; once half of the writes are made (inside the transaction),
    create ``marker`` and wait to be killed."""

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "writing" and total and done >= total // 2:
            Path(marker).write_text(f"{done}/{total}")
            time.sleep(120)

    vault = _open(vault_path, key_file)
    BackupManager(vault, Path(backups)).restore_backup(name, progress=progress)


def make_incrementals(vault_path: str, key_file: str, backups: str, ident: str, n: str) -> None:
    """Write a secret and make an incremental backup, ``n`` times."""
    vault = _open(vault_path, key_file)
    manager = BackupManager(vault, Path(backups))
    for i in range(int(n)):
        vault.put(f"proc{ident}/s{i}", f"{ident}-{i}")
        manager.create_backup(incremental=True)


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
