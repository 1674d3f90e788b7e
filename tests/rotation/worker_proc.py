"""A rotation worker in its own process (used by test_two_processes.py).

Usage: python -m tests.rotation.worker_proc VAULT KEYFILE NOW_ISO CYCLES forward|reverse
Prints one JSON line: the names this process rotated.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

from core.rotation import RotationManager
from core.vault import KeySource, Vault


def main() -> None:
    vault_path, key_file, now_iso, cycles, order = sys.argv[1:6]
    now = datetime.fromisoformat(now_iso)
    vault = Vault.open(Path(vault_path), KeySource.from_key_file(Path(key_file)))
    manager = RotationManager(vault, clock=lambda: now, env={"PATH": "/usr/bin:/bin"})
    rotated: list[str] = []
    for _ in range(int(cycles)):
        # the due list is read once per cycle and goes stale while the other worker
        # rotates: walking it in opposite orders makes the two workers cross
        due = manager.due()
        names = reversed(due) if order == "reverse" else due
        rotated += [r.name for r in manager.rotate_due(names=names) if r.rotated]
    vault.close()
    print(json.dumps({"rotated": rotated}))


if __name__ == "__main__":
    main()
