"""Child processes for the reliability suite (``python -m tests.reliability._child OP``).

Each operation works on the vault home named by ``VAULTUI_HOME`` (keys come from the
environment, never argv), prints ``ready`` once set up, then loops forever printing one
acknowledgement line on stdout *after* each operation returned. The parent kills it with
SIGKILL at a random moment and checks that every acknowledged line is still true.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def ack(line: str) -> None:
    """Acknowledge one completed operation (unbuffered, so a kill cannot lose it)."""
    os.write(1, (line + "\n").encode())


def _manager():  # type: ignore[no-untyped-def]
    from core.secrets_manager import SecretsManager

    return SecretsManager(source="api")


def store(tag: str) -> None:
    """store_secret in a loop: ack ``name value``."""
    mgr = _manager()
    ack("ready")
    i = 0
    while True:
        name, value = f"store/{i % 20}", f"{tag}-{i}"
        mgr.store_secret(name, value)
        ack(f"{name} {value}")
        i += 1


def rotate(tag: str, name: str) -> None:
    """rotate_secret(name) in a loop: ack the CURRENT version after each rotation."""
    mgr = _manager()
    ack("ready")
    while True:
        assert mgr.rotate_secret(name)
        ack(str(mgr.vault.record(name).version))


def backup(tag: str) -> None:
    """A write then a full or incremental backup, in a loop: ack the backup path."""
    mgr = _manager()
    ack("ready")
    i = 0
    while True:
        mgr.store_secret(f"bk/{tag}-{i}", f"v{i}")
        ack("write " + f"bk/{tag}-{i}")
        ack("backup " + Path(mgr.create_backup(incremental=bool(i % 2))).name)
        i += 1


def restore(tag: str) -> None:
    """Change every ``rs/*`` secret in one transaction, then restore backup 'base', in a
    loop. Acks ``changed N`` and ``restored``."""
    mgr = _manager()
    names = [r.name for r in mgr.vault.list() if r.name.startswith("rs/")]
    ack("ready")
    i = 0
    while True:
        with mgr.vault.transaction():
            for name in names:
                mgr.vault.put(name, f"changed-{tag}-{i}")
        ack(f"changed changed-{tag}-{i}")
        mgr.restore_backup("base")
        ack("restored")
        i += 1


def merge(tag: str, other: str) -> None:
    """Write a new secret into the other copy, then merge that copy in: ack the name."""
    from core.vault import KeySource, Vault

    mgr = _manager()
    other_vault = Vault.open(Path(other), KeySource.from_key_file(Path(os.environ["OTHER_KEY"])))
    ack("ready")
    i = 0
    while True:
        name = f"mg/{tag}-{i}"
        other_vault.put(name, f"merged-{i}")
        mgr.merge(other)
        ack(name)
        i += 1


def import_(tag: str, workdir: str) -> None:
    """``--batch import`` of a 30-line dotenv file, in a loop: ack the prefix."""
    from vaultui.cli import main

    ack("ready")
    i = 0
    while True:
        src = Path(workdir) / f"in-{tag}-{i}.env"
        src.write_text("".join(f"VAR_{k}=value-{i}-{k}\n" for k in range(30)))
        code = main(["--batch", "import", str(src), "--prefix", f"imp/{tag}-{i}/"])
        assert code == 0, code
        ack(f"imp/{tag}-{i}/")
        i += 1


def passwd(tag: str, pw_a: str, pw_b: str) -> None:
    """``--batch passwd`` back and forth between two passphrase files: ack the file now in
    force after each change."""
    from vaultui.cli import main

    ack("ready")
    current, new = pw_a, pw_b
    while True:
        os.environ["VAULTUI_PASSPHRASE_FILE"] = current
        os.environ["VAULTUI_NEW_PASSPHRASE_FILE"] = new
        code = main(["--batch", "--no-prompt", "passwd"])
        assert code == 0, code
        ack(new)
        current, new = new, current


def sync(tag: str, provider: str = "aws_secrets_manager") -> None:
    """A write then a sealed sync to ``provider`` (configured by the environment), in a
    loop."""
    mgr = _manager()
    ack("ready")
    i = 0
    while True:
        mgr.store_secret(f"sy/{tag}-{i}", f"synced-{i}")
        ack(f"write sy/{tag}-{i}")
        mgr.sync(provider, sealed=True)
        ack("synced")
        i += 1


def merge_sync(tag: str, other: str, seconds: str, pause: str = "0") -> None:
    """For ``seconds``: write a secret into the other copy and merge it in (ack ``merge
    NAME VALUE``), and every third round a sealed sync to AWS (ack ``synced``); rest
    ``pause`` seconds between rounds."""
    import time

    from core.vault import KeySource, Vault

    mgr = _manager()
    other_vault = Vault.open(Path(other), KeySource.from_key_file(Path(os.environ["OTHER_KEY"])))
    ack("ready")
    stop = time.monotonic() + float(seconds)
    i = 0
    while time.monotonic() < stop:
        name, value = f"other/{tag}-{i}", f"other-{i}"
        other_vault.put(name, value)
        mgr.merge(other)
        ack(f"merge {name} {value}")
        if i % 3 == 0:
            mgr.sync("aws_secrets_manager", sealed=True)
            ack("synced")
        i += 1
        time.sleep(float(pause))
    other_vault.close()
    mgr.close()


def disk_full(limit: str, size: str = "big") -> None:
    """Under RLIMIT_FSIZE=limit (SIGXFSZ ignored), store 64 KiB values (``small``: short
    ones) until an error.

    Prints each acknowledged name, then ``error <class> <module>`` for a VaultError or
    ``raw <class>`` for anything else (which is a bug)."""
    import resource
    import signal

    mgr = _manager()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), int(limit)))
    from core.errors import VaultError

    ack("ready")
    try:
        for i in range(10_000):
            value = f"small-{i}" if size == "small" else os.urandom(32 * 1024).hex()
            mgr.store_secret(f"big/{i}", value)
            ack(f"ok big/{i}")
    except VaultError as exc:
        ack(f"error {type(exc).__name__} {type(exc).__module__}")
        return
    except BaseException as exc:
        import traceback

        frame = traceback.extract_tb(exc.__traceback__)[-1]
        ack(f"raw {type(exc).__name__} {frame.filename}:{frame.lineno}")
        return
    ack("never-full")


if __name__ == "__main__":
    op = sys.argv[1]
    {"import": import_}.get(op, globals().get(op))(*sys.argv[2:])  # type: ignore[misc]
