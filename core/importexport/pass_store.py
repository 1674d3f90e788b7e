"""Importing a password store of ``pass`` or ``gopass`` (a folder of ``.gpg`` files).

Each ``NAME.gpg`` under the store becomes the secret ``NAME`` (folders are name
prefixes: ``web/github.gpg`` -> ``web/github``; labels made valid as for KeePass).
Files are decrypted by the user's own ``gpg`` (``--batch --decrypt FILE``): the
passphrase, if any, is asked by gpg-agent's pinentry, never by vaultui and never in an
argument. Contents follow pass's convention: the first line is the password; later
``key: value`` lines are fields, an ``otpauth://`` line is the ``totp`` field, other
lines are kept as ``notes``. A file with only a password becomes a text secret; one
with more becomes a dict secret with a ``password`` field. (The module is not called
``pass``: that is a Python keyword.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from core.errors import ConfigError, ValidationError, WrongKeyError
from core.importexport.names import dedupe, join

GPG_ENV = "VAULTUI_GPG"
"""Environment variable naming the gpg program (default: ``gpg2`` or ``gpg`` on PATH)."""

DECRYPT_TIMEOUT = 300.0
"""Seconds one decryption may take (a person may be typing a passphrase in pinentry)."""

_FIELD = re.compile(r"^([^:\s][^:]{0,63}?)\s*:(?:\s+(.*)|)$")
_SKIP_DIRS = frozenset({".git", ".extensions"})


def is_store(path: Path) -> bool:
    """True if ``path`` is a folder that looks like a password store."""
    return path.is_dir() and (path / ".gpg-id").is_file()


def gpg_program(environ: dict[str, str] | None = None) -> str:
    """The gpg to run: VAULTUI_GPG, else ``gpg2`` or ``gpg`` on PATH (as pass does)."""
    env = os.environ if environ is None else environ
    chosen = env.get(GPG_ENV, "").strip()
    if chosen:
        return chosen
    for name in ("gpg2", "gpg"):
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError(
        "Importing a password store needs gpg, which is not installed",
        hint="install GnuPG (apt-get install gnupg), or set VAULTUI_GPG to its path",
    )


def store_files(root: Path) -> list[tuple[str, Path]]:
    """``(relative name without .gpg, path)`` of every entry, sorted; symlinks and
    hidden folders (``.git``, ``.extensions``) are not followed."""
    out: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for fname in sorted(files):
            path = Path(folder) / fname
            if not fname.endswith(".gpg") or path.is_symlink():
                continue
            rel = path.relative_to(root).as_posix()[: -len(".gpg")]
            out.append((rel, path))
    return out


def decrypt(path: Path, label: str, gpg: str) -> bytes:
    """The plaintext of one entry, from ``gpg --batch --decrypt``.

    WrongKeyError names the entry (and gpg's last message, which never holds the
    plaintext) when gpg cannot decrypt it.
    """
    try:
        proc = subprocess.run(
            [gpg, "--batch", "--quiet", "--yes", "--decrypt", "--", str(path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=DECRYPT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError(
            f"gpg ({gpg}) cannot be run", hint="install GnuPG or set VAULTUI_GPG"
        ) from None
    except subprocess.TimeoutExpired:
        raise WrongKeyError(f"gpg did not decrypt {label} in time") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1][:200] if lines else f"exit status {proc.returncode}"
        raise WrongKeyError(
            f"gpg cannot decrypt {label}: {why}",
            hint="is the store's key in your keyring, and is gpg-agent able to ask for "
            "its passphrase?",
        )
    return proc.stdout


def parse_content(data: bytes) -> str | bytes | dict[str, Any]:
    """One entry's plaintext as a secret value (see the module docstring)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data  # a binary file stored in pass: kept as it is
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    password = lines[0] if lines else ""
    fields: dict[str, str] = {}
    notes: list[str] = []
    for line in lines[1:]:
        stripped = line.strip()
        if stripped.startswith("otpauth://"):
            _add(fields, "totp", stripped)
            continue
        m = _FIELD.match(line)
        if m and m.group(1).strip():
            key, value = m.group(1).strip(), (m.group(2) or "").strip()
            _add(fields, "totp" if value.startswith("otpauth://") else key, value)
        elif stripped or notes:
            notes.append(line)
    while notes and not notes[-1].strip():
        notes.pop()
    if notes:
        _add(fields, "notes", "\n".join(notes))
    if not fields:
        return password
    return {"password": password, **{k: v for k, v in fields.items() if k != "password"}}


def _add(fields: dict[str, str], key: str, value: str) -> None:
    """Set ``key`` (``key-2``, ``key-3`` ... when it repeats, or is ``password``)."""
    candidate, n = key, 1
    while candidate in fields or candidate == "password":
        n += 1
        candidate = f"{key}-{n}"
    fields[candidate] = value


def parse_store(root: Path, prefix: str = "", gpg: str | None = None) -> list[dict[str, Any]]:
    """Entries of the password store at ``root`` (decrypting every file with gpg)."""
    if not root.is_dir():
        raise ValidationError(f"{root} is not a folder (a password store is a folder)")
    files = store_files(root)
    program = gpg or gpg_program()
    entries: list[dict[str, Any]] = []
    for rel, path in files:
        value = parse_content(decrypt(path, rel + ".gpg", program))
        entries.append({"name": join(rel.split("/"), prefix), "value": value})
    for entry, name in zip(entries, dedupe([e["name"] for e in entries]), strict=True):
        entry["name"] = name
    return entries
