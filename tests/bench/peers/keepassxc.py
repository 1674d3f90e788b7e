"""KeePassXC as a benchmark peer: build KDBX fixtures and time ``keepassxc-cli``.

Fixtures are KDBX 4 files built with pykeepass (adding 10,000 entries one
``keepassxc-cli add`` at a time would take hours): one entry per secret in the root
group, Title = the secret's name, Password = its value (a protected field), Notes = its
description, Tags = its tag values. The KDF is set explicitly so both sides pay the same
key-derivation cost: Argon2id with the same time cost, memory and lanes as the vault's
slot (KeePassXC's own ``--decryption-time`` can only calibrate iterations).

The password is always sent on stdin, never in argv.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KEEPASSXC_CLI = shutil.which("keepassxc-cli") or "/usr/bin/keepassxc-cli"


@dataclass(frozen=True)
class Argon2Cost:
    """Argon2id cost: iterations, memory in KiB, lanes."""

    time_cost: int
    memory_kib: int
    parallelism: int

    @property
    def label(self) -> str:
        """Short text, e.g. 't=3 m=64MiB p=4'."""
        mem = (
            f"{self.memory_kib // 1024}MiB"
            if self.memory_kib % 1024 == 0
            else f"{self.memory_kib}KiB"
        )
        return f"t={self.time_cost} m={mem} p={self.parallelism}"

    @property
    def key(self) -> str:
        """A file-name-safe form for fixture cache keys."""
        return f"t{self.time_cost}m{self.memory_kib}p{self.parallelism}"


def available() -> bool:
    """True if keepassxc-cli can be run here."""
    return Path(KEEPASSXC_CLI).exists()


def version() -> str:
    """keepassxc-cli's version string (e.g. '2.7.4'), or 'missing'."""
    if not available():
        return "missing"
    out = subprocess.run(
        [KEEPASSXC_CLI, "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    return out.stdout.strip() or "unknown"


def set_kdf(kp: object, cost: Argon2Cost) -> None:
    """Set a pykeepass database's KDF to Argon2id with ``cost`` (applies on save)."""
    from pykeepass.kdbx_parsing.kdbx4 import kdf_uuids

    params = kp.kdbx.header.value.dynamic_header.kdf_parameters.data.dict  # type: ignore[attr-defined]
    params["$UUID"].value = kdf_uuids["argon2id"]
    params["I"].value = cost.time_cost
    params["M"].value = cost.memory_kib * 1024
    params["P"].value = cost.parallelism


def build(
    path: Path,
    entries: Iterable[tuple[str, str, str, dict[str, str]]],
    password: str,
    cost: Argon2Cost,
) -> None:
    """Write a KDBX 4 file at ``path`` holding ``entries`` (name, value, description, tags)."""
    from pykeepass import create_database
    from pykeepass.entry import Entry

    tmp = path.with_suffix(".building.kdbx")
    kp = create_database(str(tmp), password=password)
    set_kdf(kp, cost)
    group = kp.root_group._element
    for name, value, description, tags in entries:
        entry = Entry(name, "", value, notes=description, tags=list(tags.values()), kp=kp)
        group.append(entry._element)
    kp.save()
    tmp.replace(path)


def recost(src: Path, dst: Path, password: str, cost: Argon2Cost) -> None:
    """Copy the database at ``src`` to ``dst`` with another KDF cost (entries unchanged)."""
    from pykeepass import PyKeePass

    kp = PyKeePass(str(src), password=password)
    set_kdf(kp, cost)
    tmp = dst.with_suffix(".building.kdbx")
    kp.save(str(tmp))
    tmp.replace(dst)


def show_argv(db: Path, entry: str) -> list[str]:
    """Print one entry's password: ``keepassxc-cli show -q -s -a Password DB ENTRY``."""
    return [KEEPASSXC_CLI, "show", "-q", "-s", "-a", "Password", str(db), entry]


def add_argv(db: Path, entry: str) -> list[str]:
    """Add an entry whose password comes from stdin (after the database password)."""
    return [KEEPASSXC_CLI, "add", "-q", "-p", str(db), entry]


def ls_argv(db: Path) -> list[str]:
    """List every entry, one path per line: ``keepassxc-cli ls -q -R -f DB``."""
    return [KEEPASSXC_CLI, "ls", "-q", "-R", "-f", str(db)]
