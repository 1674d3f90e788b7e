"""Keeping a vault file in a git repository: a merge driver and a diff (textconv) driver.

    register(repo, vault_file, program)    # .gitattributes + the repository's git config
    merge_into(ours, theirs, key)           # what `git merge` runs for the vault file
    describe(path, key)                     # what `git diff` / `git log -p` show

git cannot merge a binary SQLite file, so without a driver two machines that changed
the vault concurrently end in a conflict on the whole file. The merge driver joins the
two copies field by field with the same code as ``vaultui --batch merge``: different
secrets, different fields of one dict, deletes against edits all merge; a true conflict
(the same field changed on both sides) is decided by the merge rule and kept for review.
The result is verified before git is told it is clean.

The diff driver prints one line per secret, never a value: names when a key is at
hand, record ids and counts otherwise.
"""

from __future__ import annotations

import contextlib
import shlex
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError, IntegrityError, NotFoundError, SyncError, VaultError
from core.sync.merge import MergeReport, merge_vaults
from core.vault import KeySource, Vault
from core.vault.schema import check_schema, harden

DRIVER = "vaultui"
"""The name of the merge and diff drivers in ``.gitattributes`` and git config."""

MAX_RECORDS_WITHOUT_KEY = 1_000_000
"""A file claiming more records than this is not described line by line (hostile input)."""


@dataclass(frozen=True)
class Registration:
    """What :func:`register` wrote: the attributes line and the git config it set."""

    attributes_line: str
    attributes_changed: bool
    config: dict[str, str]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "attributes_line": self.attributes_line,
            "attributes_changed": self.attributes_changed,
            "config": dict(self.config),
        }


def _git(repo: Path, *args: str) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise ConfigError("git is not installed", hint="install git first") from None
    if out.returncode != 0:
        raise ConfigError(
            f"git {args[0]} failed: {out.stderr.strip() or out.returncode}",
            hint="run this inside the git repository that holds the vault file",
        )
    return out.stdout


def repository_root(start: Path) -> Path:
    """The top of the git work tree that holds ``start``; ConfigError outside one."""
    where = start if start.is_dir() else start.parent
    return Path(_git(where, "rev-parse", "--show-toplevel").strip())


def _pattern(path: Path, root: Path) -> str:
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    # .gitattributes patterns: a space or a leading '#' would change the line's meaning
    if any(c.isspace() for c in rel) or rel.startswith(("#", "!")) or "\\" in rel:
        raise ConfigError(
            f"The vault file's path {rel!r} cannot be written in .gitattributes",
            hint="give the vault file a name without spaces",
        )
    return "/" + rel


def register(vault_file: Path, program: list[str]) -> Registration:
    """Register the merge and diff drivers for ``vault_file`` in its git repository.

    Adds ``/PATH merge=vaultui diff=vaultui -text`` to the repository's
    ``.gitattributes`` (once) and sets ``merge.vaultui.*`` and ``diff.vaultui.*`` in
    the repository's own config to run ``program`` (the vaultui command, as argv).
    Running it again changes nothing. Raises ConfigError outside a git repository.
    """
    root = repository_root(vault_file)
    line = f"{_pattern(vault_file, root)} merge={DRIVER} diff={DRIVER} -text"
    attributes = root / ".gitattributes"
    existing = attributes.read_text(encoding="utf-8") if attributes.exists() else ""
    changed = line not in existing.splitlines()
    if changed:
        prefix = "" if not existing or existing.endswith("\n") else "\n"
        with attributes.open("a", encoding="utf-8") as fh:
            fh.write(f"{prefix}{line}\n")
    command = shlex.join(program)
    config = {
        f"merge.{DRIVER}.name": "vaultui field-by-field vault merge",
        f"merge.{DRIVER}.driver": f"{command} --batch git merge-driver %O %A %B %P",
        f"diff.{DRIVER}.textconv": f"{command} --batch git textconv",
        f"diff.{DRIVER}.binary": "true",
    }
    for key, value in config.items():
        _git(root, "config", "--local", key, value)
    return Registration(line, changed, config)


def merge_into(
    ours: Path, theirs: Path, key: KeySource, *, device_id: str | None = None
) -> MergeReport:
    """Merge the vault file ``theirs`` into ``ours`` (git's %A) and verify the result.

    Both must be copies of one vault that ``key`` opens. True conflicts are recorded in
    ``ours`` for review (``vaultui --batch sync --conflicts``), as ``merge`` does. Raises
    SyncError when the files are not copies of one vault, IntegrityError when either is
    damaged (``ours`` is then left as git gave it).
    """
    from core.sync.merge import file_device

    local = Vault.open(ours, key, device_id=device_id)
    try:
        try:
            other = Vault.open(theirs, key, device_id=file_device(theirs))
        except NotFoundError:
            raise SyncError("git gave the merge driver no 'theirs' file") from None
        try:
            report = merge_vaults(local, other, source="git merge")
        finally:
            other.close()
        local.verify()
    finally:
        local.close()
    return report


def describe(path: Path, key: KeySource | None) -> list[str]:
    """The lines ``git diff`` compares for one version of the vault file (no values).

    With ``key``: one line per secret, ``name  v3  rev 7`` (``deleted`` marked). Without
    one, or when the key does not open this version: one line per record id, and a
    count. An empty or missing file (a version before the vault existed) gives no lines.
    """
    if not path.exists() or path.stat().st_size == 0:
        return []
    if key is not None:
        with contextlib.suppress(VaultError):  # not this vault's key, or damaged
            return _describe_with_key(path, key)
    return _describe_without_key(path)


def _describe_with_key(path: Path, key: KeySource) -> list[str]:
    vault = Vault.open(path, key, device_id="git-diff")
    try:
        records = vault.list(include_deleted=True)
    finally:
        vault.close()
    lines = [f"vaultui vault: {len(records)} secret(s)"]
    for r in sorted(records, key=lambda r: r.name):
        mark = "  deleted" if r.deleted else ""
        lines.append(f"{_printable(r.name)}  v{r.version}  rev {r.rev}{mark}")
    return lines


def _describe_without_key(path: Path) -> list[str]:
    """Record ids and revisions read straight from the file: names stay encrypted."""
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return ["vaultui vault: unreadable (not a vault file?)"]
    try:
        harden(conn)
        check_schema(conn, what=f"The vault file {path.name}")
        (count,) = conn.execute("SELECT count(*) FROM records").fetchone()
        if count > MAX_RECORDS_WITHOUT_KEY:
            return [f"vaultui vault: {count} records (too many to list)"]
        rows = conn.execute("SELECT uid, rev, deleted FROM records ORDER BY uid").fetchall()
    except sqlite3.Error:
        return ["vaultui vault: unreadable (not a vault file?)"]
    except IntegrityError:  # a trigger, a view, an altered table: not ours to read
        return ["vaultui vault: unexpected schema (modified outside vaultui?)"]
    finally:
        conn.close()
    lines = [f"vaultui vault: {count} record(s); names hidden (no key to read them)"]
    for uid, rev, deleted in rows:
        uid_hex = bytes(uid).hex()[:16] if isinstance(uid, bytes) else "?"
        rev_n = rev if isinstance(rev, int) else "?"
        lines.append(f"record {uid_hex}  rev {rev_n}{'  deleted' if deleted else ''}")
    return lines


def _printable(text: str) -> str:
    """``text`` with control characters escaped: a name must not drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
