"""Coverage-guided fuzzing (atheris, i.e. libFuzzer for Python) of the vault-file and
backup parsers. Opt-in: not collected by pytest and not run by CI.

    pip install atheris                      # a manylinux wheel; no clang needed
    python -m tests.reliability.atheris_parsers vault  -atheris_runs=20000
    python -m tests.reliability.atheris_parsers backup -max_total_time=300

The first argument picks the target; the rest go to libFuzzer (``-atheris_runs=N``,
``-max_total_time=S``, ``-jobs``, a corpus directory...). With no corpus directory given,
one is made in a temporary folder and seeded with the real file, so libFuzzer mutates a
valid vault file (or backup) instead of starting from nothing.

- ``vault``: the bytes become ``vault.db`` and are opened with the right key file; the
  only acceptable outcomes are a :class:`core.errors.VaultError` or exactly the original
  data (values, history, names, ``Vault.verify()``).
- ``backup``: the bytes become ``incr.vbak`` (an incremental backup whose chain includes
  ``full.vbak``); ``verify_backup`` and ``restore_backup(dry_run=True)`` must give a
  result or a VaultError, and changed bytes must never verify as valid.

Anything else (a raw ``sqlite3``, ``json``, ``struct``, ``KeyError``... exception, or a
failed assertion) is a crash: libFuzzer stops and writes the input to ``crash-<sha1>``.
hypothesis covers the same parsers in CI (``test_fuzz.py``).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["core"]):
    from core.backup import BackupManager
    from core.errors import VaultError
    from core.vault import KeySource, Vault

from tests.reliability.harness import build_fuzz_seed, check_seed_vault

ROOT = Path(tempfile.mkdtemp(prefix="vaultui-atheris-"))
SEED = ROOT / "seed"
SEED.mkdir()
build_fuzz_seed(SEED)
KEY = KeySource.from_key_file(SEED / "k.key")
WORK = ROOT / "work"
WORK.mkdir()


def fuzz_vault_file(data: bytes) -> None:
    """One input for the vault-file target (see the module docstring)."""
    path = WORK / "vault.db"
    for leftover in (path, WORK / "vault.db-journal"):
        leftover.unlink(missing_ok=True)
    path.write_bytes(data)
    try:
        with Vault.open(path, KEY) as v:
            check_seed_vault(v)
    except VaultError:
        return


_ORIGINAL_INCR = (SEED / "backups" / "incr.vbak").read_bytes()
_SEED_VAULT = Vault.open(SEED / "vault.db", KEY)


def fuzz_backup(data: bytes) -> None:
    """One input for the backup target (see the module docstring)."""
    backups = WORK / "backups"
    shutil.rmtree(backups, ignore_errors=True)
    shutil.copytree(SEED / "backups", backups)
    (backups / "incr.vbak").write_bytes(data)
    manager = BackupManager(_SEED_VAULT, backups)
    try:
        result = manager.verify_backup("incr")
    except VaultError:
        return
    if data != _ORIGINAL_INCR:
        assert not result["valid"], "a changed backup verified as valid"
    try:
        manager.restore_backup("incr", dry_run=True)
    except VaultError:
        return


TARGETS = {"vault": (fuzz_vault_file, SEED / "vault.db"), "backup": (fuzz_backup, None)}


def main() -> None:
    """``python -m tests.reliability.atheris_parsers {vault|backup} [libFuzzer args]``."""
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(TARGETS)}}} [libFuzzer options]")
    name = sys.argv[1]
    target, seed_file = TARGETS[name]
    seed_file = seed_file or SEED / "backups" / "incr.vbak"
    args = [sys.argv[0], *sys.argv[2:]]
    if not any(not a.startswith("-") for a in args[1:]):  # no corpus directory given
        corpus = ROOT / f"corpus-{name}"
        corpus.mkdir()
        shutil.copy(seed_file, corpus / "seed")
        args.append(str(corpus))
    print(f"[atheris] target={name} work={ROOT}", flush=True)
    atheris.Setup(args, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
