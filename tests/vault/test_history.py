"""Properties 7 and 8: history with rollback, the change sequence, tombstones."""

from __future__ import annotations

import pytest

from core.errors import ConflictError, NotFoundError
from core.vault import Vault


def test_each_change_keeps_a_version_with_who_when_why(vault: Vault) -> None:
    vault.put("api", "one", who="alice", why="initial", source="api")
    vault.put("api", "two", who="bob", why="rotate", source="batch")
    vault.put("api", {"k": "three"}, who="carol", why="restructure", source="app")
    h = vault.history("api")
    assert [(x.version, x.who, x.why, x.source, x.type) for x in h] == [
        (1, "alice", "initial", "api", "str"),
        (2, "bob", "rotate", "batch", "str"),
        (3, "carol", "restructure", "app", "dict"),
    ]
    assert h[0].created_at <= h[1].created_at <= h[2].created_at
    assert vault.get("api", version=1).value == "one"
    assert vault.get("api", stage="PREVIOUS").value == "two"
    with pytest.raises(NotFoundError):
        vault.get("api", version=9)


def test_rollback_makes_an_old_value_current_as_a_new_version(vault: Vault) -> None:
    vault.put("api", "one")
    vault.put("api", "two")
    rec = vault.rollback("api", 1, who="alice")
    assert rec.version == 3
    assert vault.get("api").value == "one"
    assert [h.why for h in vault.history("api")][-1] == "rollback to version 1"


def test_the_change_sequence_is_monotonic_and_incremental(vault: Vault) -> None:
    assert vault.seq == 0
    vault.put("a", "1")
    vault.put("b", "1")
    mark = vault.seq
    vault.put("a", "2")
    vault.delete("b")
    vault.put("c", "1")
    assert vault.seq == mark + 3
    changed = vault.changes_since(mark)
    assert [(r.name, r.deleted) for r in changed] == [("a", False), ("b", True), ("c", False)]
    assert [r.seq for r in changed] == sorted(r.seq for r in changed)
    assert vault.changes_since(vault.seq) == []


def test_delete_leaves_a_tombstone_that_undelete_reverses(vault: Vault) -> None:
    vault.put("gone", "v1")
    vault.put("gone", "v2")
    vault.delete("gone")
    assert vault.get("gone") is None
    assert "gone" not in vault.names()
    tomb = vault.record("gone", include_deleted=True)
    assert tomb.deleted and tomb.deleted_at is not None
    vault.undelete("gone")
    assert vault.get("gone").value == "v2"
    assert len(vault.history("gone")) == 2


def test_purge_erases_and_is_reported_as_a_change(vault: Vault) -> None:
    vault.put("tmp", "v")
    mark = vault.seq
    vault.purge("tmp")
    assert vault.record("tmp", include_deleted=True) is None
    with pytest.raises(NotFoundError):
        vault.undelete("tmp")
    assert len(vault.purged_since(mark)) == 1
    vault.verify()


def test_check_and_set_refuses_a_stale_write(vault: Vault) -> None:
    vault.put("x", "1")
    seen = vault.get("x").version
    vault.put("x", "2")  # someone else
    with pytest.raises(ConflictError):
        vault.put("x", "mine", expected_version=seen)
    assert vault.get("x").value == "2"
    with pytest.raises(ConflictError):
        vault.put("new", "v", expected_version=1)
    vault.put("new", "v", expected_version=0)


def test_staged_versions_pending_current_previous(vault: Vault) -> None:
    vault.put("db", "old")
    vault.stage_pending("db", "new")
    assert vault.get("db").value == "old"
    assert vault.get("db", stage="PENDING").value == "new"
    vault.promote_pending("db")
    assert vault.get("db").value == "new"
    assert vault.get("db", stage="PREVIOUS").value == "old"
    vault.stage_pending("db", "newer")
    vault.discard_pending("db")
    assert vault.get("db").value == "new"
    with pytest.raises(NotFoundError):
        vault.get("db", stage="PENDING")
    vault.verify()


def test_writes_inside_a_failed_transaction_are_all_undone(vault: Vault) -> None:
    vault.put("keep", "1")
    mark = vault.seq
    with pytest.raises(RuntimeError), vault.transaction():
        vault.put("keep", "2")
        vault.put("other", "x")
        raise RuntimeError("boom")
    assert vault.get("keep").value == "1"
    assert vault.get("other") is None
    assert vault.seq == mark
    vault.verify()
