"""Vault homes on one machine for sync tests: each a folder with its own device id."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from core.errors import NotFoundError, ValidationError
from core.sync.clock import canonical
from core.vault import Argon2Params, KeySource, Vault
from core.vault.codec import encode_value

FAST_TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def fast_tmpdir() -> tempfile.TemporaryDirectory[str]:
    """A temporary folder on tmpfs when there is one: fsync is free there, so tests
    that write thousands of durable transactions stay fast (durability itself is
    tested by the vault's own tests)."""
    return tempfile.TemporaryDirectory(prefix="vaultui-sync-", dir=FAST_TMP)


def new_home(root: Path, name: str, key: KeySource) -> Vault:
    """A fresh vault in ``root/name`` (its own device.id)."""
    return Vault.create(root / name / "vault.db", key, kdf=Argon2Params.fast())


def copy_home(vault: Vault, root: Path, name: str, key: KeySource) -> Vault:
    """A copy of ``vault``'s file in a new home ``root/name`` (a new device id)."""
    dest = root / name
    dest.mkdir(parents=True)
    shutil.copy(vault.path, dest / "vault.db")
    return Vault.open(dest / "vault.db", key)


def clone_file(vault: Vault, root: Path, name: str, key: KeySource) -> Vault:
    """A copy of a whole home (file and device id): the same device, another file."""
    dest = root / name
    shutil.copytree(Path(vault.path).parent, dest)
    return Vault.open(dest / "vault.db", key)


def typed(value: Any) -> tuple[str, bytes]:
    """A value with its type, comparable across homes."""
    if isinstance(value, dict):
        return "dict", canonical(value)
    return type(value).__name__, encode_value(value)


def snapshot(vault: Vault, *, history: bool = True) -> dict[str, Any]:
    """What a user sees: every secret's value, metadata, deletion and (optionally) the
    set of history entries it keeps (versions assembled by a merge left out)."""
    out: dict[str, Any] = {}
    for rec in vault.list(include_deleted=True):
        entry: dict[str, Any] = {"deleted": rec.deleted}
        if not rec.deleted:
            secret = vault.get(rec.name)
            assert secret is not None
            entry.update(
                value=typed(secret.value),
                description=rec.description,
                tags=dict(rec.tags),
            )
        if history:
            entry["history"] = frozenset(
                (h.created_at, h.who, h.why, h.source, h.device, h.type, h.size)
                for h in vault.history(rec.name)
                if h.source != "merge"
            )
        out[rec.name] = entry
    return out


def all_values(vault: Vault) -> dict[str, list[tuple[str, bytes]]]:
    """Every value in every secret's history (tombstones included)."""
    out: dict[str, list[tuple[str, bytes]]] = {}
    for rec in vault.list(include_deleted=True):
        out[rec.name] = [typed(v) for _, v in vault.history_values(rec.name)]
    return out


def apply_op(vault: Vault, op: tuple[Any, ...]) -> Any:
    """Run one edit; returns the value written (or None). Invalid edits are skipped."""
    kind, name = op[0], op[1]
    try:
        if kind == "put":
            vault.put(name, op[2], who="tester")
            return op[2]
        if kind == "key":
            current = vault.get(name)
            base = dict(current.value) if current and isinstance(current.value, dict) else {}
            if op[3] is None:
                base.pop(op[2], None)
            else:
                base[op[2]] = op[3]
            vault.put(name, base, who="tester")
            return base
        if kind == "desc":
            vault.update_meta(name, description=op[2])
        elif kind == "tags":
            vault.update_meta(name, tags=op[2])
        elif kind == "delete":
            vault.delete(name)
        elif kind == "undelete":
            vault.undelete(name)
    except (NotFoundError, ValidationError):
        return None
    return None
