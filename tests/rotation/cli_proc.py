"""Run one rotation command in its own process, as ``vaultui --batch`` would.

Usage: python -m tests.rotation.cli_proc VAULT KEYFILE COMMAND...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import VaultError
from core.rotation import RotationManager
from core.vault import KeySource, Vault
from vaultui.batch.commands import rotation as commands_rotation


def main() -> int:
    vault_path, key_file, *argv = sys.argv[1:]
    parser = argparse.ArgumentParser(prog="vaultui --batch")
    commands_rotation.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    vault = Vault.open(Path(vault_path), KeySource.from_key_file(Path(key_file)))
    manager = RotationManager(vault, env={"PATH": "/usr/bin:/bin"})
    try:
        return args.rotation_handler(args, manager)
    except VaultError as exc:
        print(f"{exc.title}: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        vault.close()


if __name__ == "__main__":
    sys.exit(main())
