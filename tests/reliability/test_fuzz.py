"""Fuzzing every parser and entry point with hypothesis: random edits of the vault file,
backup files and audit lines, random import files and random ``--batch`` argv. The only
acceptable outcomes are the exact original data or a core error (VaultError); never an
unhandled exception. Examples: bounded in CI, 10x with VAULTUI_RELIABILITY_TRIALS > 5."""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.audit import AuditLog
from core.backup import BackupManager
from core.errors import IntegrityError, VaultError
from core.importexport import parse_file
from core.vault import KeySource, Vault
from tests.reliability.conftest import fuzz_examples
from tests.reliability.harness import build_fuzz_seed, check_seed_vault

TRIED: dict[str, int] = {}


def _settings(ci: int):  # type: ignore[no-untyped-def]
    return settings(
        max_examples=fuzz_examples(ci),
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def _count(target: str, outcome: str = "tried") -> None:
    key = f"{target} {outcome}"
    TRIED[key] = TRIED.get(key, 0) + 1


@pytest.fixture(scope="module")
def seed_dir() -> Iterator[Path]:
    """A vault with three secrets (and two versions of one), its key file, a full and an
    incremental backup and an audit log with a few dozen lines."""
    with tempfile.TemporaryDirectory(prefix="vaultui-fuzz-") as tmp:
        root = Path(tmp)
        build_fuzz_seed(root)
        yield root
        for target, n in sorted(TRIED.items()):
            print(f"[reliability] fuzz/{target}: {n}")


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for pos, byte in edits:
        out[pos % len(out)] = byte
    if cut is not None:
        out = out[: cut % (len(out) + 1)]
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 255)), min_size=1, max_size=8)
CUT = st.none() | st.integers(0, 2**31)


@_settings(200)
@given(edits=EDITS, cut=CUT)
def test_a_damaged_vault_file_gives_a_core_error_or_the_exact_data(
    seed_dir: Path, edits: list[tuple[int, int]], cut: int | None
) -> None:
    _count("vault-file")
    original = (seed_dir / "vault.db").read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vault.db"
        path.write_bytes(_mutate(original, edits, cut))
        try:
            with Vault.open(path, KeySource.from_key_file(seed_dir / "k.key")) as v:
                check_seed_vault(v)
        except VaultError as exc:
            _count("vault-file", type(exc).__name__)
            return
        _count("vault-file", "exact-data")


@_settings(120)
@given(edits=EDITS, cut=CUT, which=st.sampled_from(["full", "incr"]))
def test_a_damaged_backup_is_refused_with_a_core_error(
    seed_dir: Path, edits: list[tuple[int, int]], cut: int | None, which: str
) -> None:
    _count("backup-file")
    with tempfile.TemporaryDirectory() as tmp:
        backups = Path(tmp) / "backups"
        shutil.copytree(seed_dir / "backups", backups)
        target = backups / f"{which}.vbak"
        original = target.read_bytes()
        damaged = _mutate(original, edits, cut)
        target.write_bytes(damaged)
        with Vault.open(seed_dir / "vault.db", KeySource.from_key_file(seed_dir / "k.key")) as v:
            manager = BackupManager(v, backups)
            try:
                result = manager.verify_backup(which)
            except VaultError as exc:
                _count("backup-file", type(exc).__name__)
                return
            _count("backup-file", "valid" if result["valid"] else "reported-invalid")
            if damaged != original:
                assert not result["valid"], result
            try:
                manager.restore_backup(which, dry_run=True)
            except VaultError:
                return


LINE_EDIT = st.one_of(
    st.tuples(st.just("replace"), st.integers(0, 1000), st.binary(max_size=80)),
    st.tuples(st.just("flip"), st.integers(0, 1000), st.integers(0, 10_000)),
    st.tuples(st.just("drop"), st.integers(0, 1000), st.just(0)),
    st.tuples(st.just("dup"), st.integers(0, 1000), st.just(0)),
    st.tuples(st.just("swap"), st.integers(0, 1000), st.integers(0, 1000)),
)


@_settings(200)
@given(edits=st.lists(LINE_EDIT, min_size=1, max_size=4))
def test_edited_audit_lines_are_reported_never_a_crash(seed_dir: Path, edits: list) -> None:
    _count("audit-lines")
    original = (seed_dir / "logs" / "audit.log").read_bytes()
    lines = original.split(b"\n")[:-1]
    for kind, i, arg in edits:
        i %= len(lines)
        if kind == "replace":
            lines[i] = arg.replace(b"\n", b" ")
        elif kind == "flip" and lines[i]:
            pos = arg % len(lines[i])
            lines[i] = lines[i][:pos] + bytes([lines[i][pos] ^ 0x20]) + lines[i][pos + 1 :]
        elif kind == "drop" and len(lines) > 1:
            del lines[i]
        elif kind == "dup":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = arg % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
    damaged = b"\n".join(lines) + b"\n"
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "logs"
        shutil.copytree(seed_dir / "logs", logs)
        (logs / "audit.log").write_bytes(damaged)
        key = KeySource.from_key_file(seed_dir / "k.key")
        with (
            Vault.open(seed_dir / "vault.db", key) as v,
            AuditLog(logs / "audit.log", v.derive_key("audit")) as audit,
        ):
            report = audit.verify()
        _count(
            "audit-lines", "unchanged" if damaged == original else "ok" if report.ok else "break"
        )
        if damaged != original:
            assert not report.ok or report.warnings, "an edited audit log verified clean"
        else:
            assert report.ok


IMPORT_TEXT = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300),
    st.lists(
        st.tuples(st.text("ABCxyz_09 -./\"'$#=\\", max_size=12), st.text(max_size=20)).map(
            lambda kv: f"{kv[0]}={kv[1]}"
        ),
        max_size=8,
    ).map("\n".join),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=10,
    ).map(lambda obj: __import__("json").dumps(obj) if obj is not None else "{}"),
)


@_settings(400)
@given(
    fmt=st.sampled_from(["dotenv", "json", "keepassxc-csv"]),
    data=IMPORT_TEXT,
    prefix=st.sampled_from(["", "imp/", "bad//", ".."]),
)
def test_random_import_files_give_entries_or_a_core_error(
    tmp_path: Path, fmt: str, data: bytes | str, prefix: str
) -> None:
    _count("import-formats")
    path = tmp_path / "input"
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    try:
        entries = parse_file(path, fmt, prefix=prefix)
    except VaultError as exc:
        _count("import-formats", type(exc).__name__)
        return
    _count("import-formats", "parsed")
    assert isinstance(entries, list)
    for entry in entries:
        assert isinstance(entry["name"], str)


WORDS = [
    "get",
    "set",
    "list",
    "delete",
    "undelete",
    "history",
    "rollback",
    "describe",
    "tag",
    "status",
    "grep",
    "export",
    "import",
    "audit",
    "backup",
    "rotate",
    "policy",
    "rotation",
    "sync",
    "merge",
    "providers",
    "create",
    "verify",
    "restore",
    "report",
    "search",
    "conflicts",
    "--json",
    "--format",
    "dotenv",
    "json",
    "--version",
    "--field",
    "--stage",
    "PREVIOUS",
    "--tag",
    "--filter",
    "-l",
    "--deleted",
    "--dry-run",
    "--on-conflict",
    "skip",
    "fail",
    "--expected-version",
    "0",
    "1",
    "-1",
    "99999999999999999999",
    "db/password",
    "..",
    "/",
    "a" * 300,
    "x=y",
    "=",
    "--",
    "-n",
    "--prefix",
    "--remove",
    "--text",
    "--type",
    "dict",
    "bytes",
    "--generator",
    "--no-probe",
    "--since",
    "yesterday",
    "--limit",
    "--apply",
    "--incremental",
    "--at",
    "--help",
    "",
    " ",
    "\x00",
    "é",
    "--no-prompt",
    "--provider",
    "nope",
]


@pytest.fixture
def fuzz_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with a vault and one secret; no terminal, empty stdin, cwd inside tmp."""
    from core.secrets_manager import SecretsManager

    monkeypatch.setattr("vaultui.batch.context.has_terminal", lambda: False)
    monkeypatch.chdir(home.parent)
    mgr = SecretsManager(source="api")
    mgr.store_secret("db/password", "fuzz-canary-value-123")
    mgr.close()
    return home


@_settings(250)
@given(
    command=st.sampled_from([w for w in WORDS[:20]] + ["backup", "audit", "sync"]),
    sub=st.sampled_from(["", "create", "list", "verify", "restore", "report", "stats", "tail"]),
    rest=st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=5),
)
def test_random_batch_argv_exits_with_a_code_never_a_traceback(
    fuzz_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    sub: str,
    rest: list[str],
) -> None:
    from vaultui.cli import main

    argv = [command, *([sub] if sub else []), *rest]

    # left out: commands that start processes (run, unlock) or read the whole disk (scan)
    argv = [a for a in argv if a not in ("run", "unlock", "lock", "scan", "passwd")]
    _count("batch-argv")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
    try:
        code = main(["--batch", "--no-prompt", *argv])
    except SystemExit as exc:  # argparse --help / --version / usage errors
        code = exc.code if exc.code is not None else 0
    _, err = capsys.readouterr()
    _count("batch-argv", f"exit-{code}")
    assert isinstance(code, int), code
    assert "Traceback" not in err, err[-2000:]
    assert "fuzz-canary-value-123" not in err


def _varint(buf: bytes | bytearray, i: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``buf[i]``: (value, index after it)."""
    value = 0
    for k in range(9):
        b = buf[i + k]
        if k == 8:
            return (value << 8) | b, i + 9
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, i + k + 1
    raise AssertionError("unreachable")


def flip_index_keys(path: Path, index: str) -> int:
    """Flip the last bit of the first key column of every cell of ``index`` (a one-page
    leaf index): the b-tree stays well formed, the keys no longer match the table.
    Returns the number of cells changed."""
    import sqlite3

    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    base = (root[0] - 1) * page_size
    assert data[base] == 0x0A, "not a leaf index page"
    cells = int.from_bytes(data[base + 3 : base + 5], "big")
    for n in range(cells):
        cell = base + int.from_bytes(data[base + 8 + 2 * n : base + 10 + 2 * n], "big")
        _, record = _varint(data, cell)  # after the payload size
        header_size, types = _varint(data, record)
        serial_type, _ = _varint(data, types)
        key_len = (serial_type - 12) // 2  # a BLOB column
        data[record + header_size + key_len - 1] ^= 0x01
    path.write_bytes(bytes(data))
    return cells


def test_a_damaged_name_index_is_caught_by_verify(seed_dir: Path, tmp_path: Path) -> None:
    """Found by atheris: index keys that no longer match the table. A lookup then cannot
    tell the secret from an absent one (as with a deleted row), but it never returns
    another secret's data, and ``verify()`` reports the damage (it used to pass)."""
    path = tmp_path / "vault.db"
    shutil.copy(seed_dir / "vault.db", path)
    # records.name_hash is UNIQUE: SQLite's automatic index on it is what get() searches
    assert flip_index_keys(path, "sqlite_autoindex_records_2") == 4
    with Vault.open(path, KeySource.from_key_file(seed_dir / "k.key")) as v:
        for name in v.names():
            try:
                got = v.get(name)
            except VaultError:
                continue
            assert got is None or got.record.name == name
        with pytest.raises(IntegrityError, match="damaged"):
            v.verify()
