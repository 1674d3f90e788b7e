"""File-sync conflict copies beside the vault are merged in unasked, by every front end,
and moved to ``merged/``; a copy that is not a sound copy of this vault is left alone.

Copies are made the way the services make them: a real second copy of the vault file,
changed on its own, under each service's naming scheme.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.sync.copies import find_copies
from core.vault import KeySource, Vault
from tests.batch.conftest import run_vaultui, stop_agent_at
from tests.conftest import clean_env

NAMES = [
    "vault.sync-conflict-20261204-101112-ABCDEF7.db",  # Syncthing
    "vault (laptop's conflicted copy 2026-12-04).db",  # Dropbox
    "vault (conflicted copy 2026-12-04 101112).db",  # Nextcloud
    "vault-LAPTOP-7.db",  # OneDrive
]


def _batch(home: Path, *argv: str, stdin: bytes = b"") -> str:
    r = run_vaultui(home, "--batch", *argv, stdin=stdin, env=clean_env(home))
    assert r.code == 0, r.err
    return r.out


def _fork(home: Path) -> Path:
    """Another machine's home holding a copy of this vault (same key)."""
    other = home.parent / f"other-{len(list(home.parent.iterdir()))}"
    other.mkdir()
    shutil.copy(home / "vault.db", other / "vault.db")
    shutil.copy(home / "vault.key", other / "vault.key")
    return other


def _deliver(other: Path, home: Path, name: str) -> Path:
    """The file-sync service drops the other machine's vault beside ours as ``name``."""
    copy = home / name
    shutil.copy(other / "vault.db", copy)
    return copy


def _diverged_copy(home: Path, name: str, secret: str, value: bytes) -> Path:
    """A copy of the vault that another machine changed (``secret`` set to ``value``)."""
    other = _fork(home)
    _batch(other, "set", secret, stdin=value)
    return _deliver(other, home, name)


def test_every_services_naming_is_recognised_and_nothing_else(tmp_path: Path) -> None:
    vault = tmp_path / "vault.db"
    vault.write_bytes(b"")
    for name in [
        *NAMES,
        "vault.db-journal",
        "vault.key",
        "vault.db.damaged-20261204",
        "notes.db",
        "vault (conflicted copy).db.txt",
        "vault-.db",
        "vault.sync-conflict-20261204-101112-ABCDEF7.db\n",
    ]:
        (tmp_path / name).write_bytes(b"x")
    assert sorted(p.name for p in find_copies(vault)) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_command_merges_a_copy_and_moves_it_aside(home: Path, name: str) -> None:
    _batch(home, "set", "app/mine", stdin=b"mine-1")
    _batch(home, "set", "app/shared", stdin=b"s1")
    other = _fork(home)
    _batch(home, "set", "app/mine", stdin=b"mine-2")  # both sides write meanwhile
    _batch(other, "set", "app/theirs", stdin=b"theirs-1")
    _batch(other, "set", "app/shared", stdin=b"s2")
    copy = _deliver(other, home, name)

    r = run_vaultui(home, "--batch", "list", env=clean_env(home))
    assert r.code == 0, r.err
    assert "app/theirs" in r.out
    assert f"merged the conflict copy {name}" in r.err
    assert not copy.exists()
    assert (home / "merged" / name).exists()
    assert _batch(home, "get", "app/theirs", "-n") == "theirs-1"
    assert _batch(home, "get", "app/mine", "-n") == "mine-2"
    assert _batch(home, "get", "app/shared", "-n") == "s2"
    events = [json.loads(line) for line in (home / "logs" / "secrets_audit.log").open()]
    merged = [e for e in events if e.get("operation") == "merge_copy"]
    assert len(merged) == 1 and merged[0]["success"] is True


def test_a_foreign_or_broken_copy_is_left_alone_and_reported(home: Path) -> None:
    _batch(home, "set", "app/a", stdin=b"a")
    stranger = home.parent / "stranger"
    _batch(stranger, "set", "x", stdin=b"x")
    foreign = home / NAMES[0]
    shutil.copy(stranger / "vault.db", foreign)
    garbage = home / NAMES[1]
    garbage.write_bytes(b"SQLite format 3\x00" + random.randbytes(5000))
    before = (home / "vault.db").read_bytes()

    r = run_vaultui(home, "--batch", "get", "app/a", "-n", env=clean_env(home))
    assert r.code == 0 and r.out == "a"
    assert f"left the conflict copy {foreign.name} alone" in r.err
    assert f"left the conflict copy {garbage.name} alone" in r.err
    assert foreign.exists() and garbage.exists()
    assert (home / "vault.db").read_bytes() == before
    events = [json.loads(line) for line in (home / "logs" / "secrets_audit.log").open()]
    refused = [e for e in events if e.get("operation") == "merge_copy"]
    assert len(refused) == 2 and not any(e["success"] for e in refused)


def test_the_unlock_agent_merges_a_copy_that_appears_while_it_runs(home: Path) -> None:
    _batch(home, "set", "app/a", stdin=b"a")
    _batch(home, "unlock")
    try:
        assert json.loads(_batch(home, "status", "--json"))["agent"] is not None
        copy = _diverged_copy(home, NAMES[2], "app/from-copy", b"c")
        # a plain `get` is served by the agent (the fast path): it must see the copy too
        assert _batch(home, "get", "app/from-copy", "-n") == "c"
        assert not copy.exists()
    finally:
        stop_agent_at(home / "agent.sock")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_half_synced_copy_is_refused_without_touching_the_vault(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """A copy taken in the middle of a write (no journal) or cut short: either a sound
    vault whose merge loses nothing, or refused with the local vault unchanged."""
    from core.sync.copies import absorb

    tmp = tmp_path_factory.mktemp("torn")
    key = KeySource.from_key_file(_key(tmp))
    local = Vault.create(tmp / "vault.db", key)
    with local.transaction():
        for i in range(60):
            local.put(f"app/s{i:02d}", f"v{i}-" + "x" * 40)
    before_bytes = (tmp / "vault.db").read_bytes()
    # the other machine's write, page by page: the copy holds a random mix of old and new
    remote = tmp / "remote.db"
    remote.write_bytes(before_bytes)
    other = Vault.open(remote, key, device_id="remote")
    with other.transaction():
        for i in range(0, 60, 3):
            other.put(f"app/s{i:02d}", f"changed-{i}")
    other.close()
    after = remote.read_bytes()
    page = 4096
    torn = bytearray(before_bytes.ljust(len(after), b"\0"))
    for start in range(0, len(after), page):
        if data.draw(st.booleans()):
            torn[start : start + page] = after[start : start + page]
    if data.draw(st.booleans()):
        torn = torn[: data.draw(st.integers(0, len(torn)))]
    copy = tmp / NAMES[0]
    copy.write_bytes(bytes(torn))
    values = {r.name: local.get(r.name).value for r in local.list()}

    result = absorb(local)
    local.verify()
    now = {r.name: local.get(r.name).value for r in local.list()}
    if result.refused:
        assert copy.exists()
        assert now == values
    else:  # a consistent copy: every value is one of the two sides', none lost
        assert set(now) == set(values)
        for i in range(60):
            n = f"app/s{i:02d}"
            assert now[n] in (values[n], f"changed-{i}")
    local.close()


def _key(tmp: Path) -> Path:
    from core.vault import write_new_key_file

    return write_new_key_file(tmp / "vault.key")
