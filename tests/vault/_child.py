"""Child processes for the crash and concurrency tests (run with ``python -m``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.errors import ConflictError
from core.vault import KeySource, Vault


def writer(path: str, key: str, prefix: str) -> None:
    """Write prefix/i = i forever; print each acknowledged i on stdout (after commit)."""
    v = Vault.open(Path(path), KeySource.from_key_file(Path(key)))
    i = 0
    while True:
        v.put(f"{prefix}/{i % 50}", f"value-{i}", description=f"d{i}")
        os.write(1, f"{i}\n".encode())
        i += 1


def counter(path: str, key: str, name: str, n: str) -> None:
    """Increment a shared counter n times with check-and-set, retrying on conflict."""
    v = Vault.open(Path(path), KeySource.from_key_file(Path(key)))
    done = 0
    while done < int(n):
        s = v.get(name)
        try:
            v.put(name, {"n": s.value["n"] + 1}, expected_version=s.version)
        except ConflictError:
            continue
        done += 1


def own_and_shared(path: str, key: str, ident: str, n: str) -> None:
    """Write n private names and n versions of one shared name."""
    v = Vault.open(Path(path), KeySource.from_key_file(Path(key)))
    for i in range(int(n)):
        v.put(f"p{ident}/k{i}", f"{ident}-{i}")
        v.put("shared", f"{ident}-{i}", why=f"{ident}-{i}")


def reads(path: str, key: str) -> None:
    """Open, list, read and read history; print this process's written bytes (wchar)."""
    v = Vault.open(Path(path), KeySource.from_key_file(Path(key)))
    before = _io()
    for name in v.names():
        v.get(name)
        v.history(name)
    v.list()
    v.get(v.names()[0], version=1)
    after = _io()
    sys.stdout.write(f"{after['wchar'] - before['wchar']} {after['syscw'] - before['syscw']}\n")


def _io() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/io").read_text().splitlines():
        k, v = line.split(":")
        out[k] = int(v)
    return out


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
