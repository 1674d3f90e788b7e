"""Conflicts kept for review: both sides readable, resolved by mine / theirs / merged."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import NotFoundError, ValidationError
from core.sync import conflicts
from core.sync.merge import merge_vaults
from core.vault import KeySource
from tests.sync.homes import copy_home, new_home


def _pair(tmp_path: Path, key: KeySource):
    origin = new_home(tmp_path, "o", key)
    origin.put("db", {"host": "h", "port": 1}, description="d0")
    origin.put("gone", "g0")
    return copy_home(origin, tmp_path, "a", key), copy_home(origin, tmp_path, "b", key)


def test_metadata_and_delete_conflicts_resolve_both_ways(tmp_path: Path, key: KeySource) -> None:
    a, b = _pair(tmp_path, key)  # copies of a vault that was never synced
    a.update_meta("db", description="from a")
    b.update_meta("db", description="from b")
    a.delete("gone")
    b.put("gone", "edited")
    report = merge_vaults(a, b)
    fields = sorted((c.field, c.kind) for c in report.conflicts)
    assert fields == [("deleted", "delete_vs_edit"), ("description", "both_changed")]
    items = {c["field"]: c for c in conflicts.list_conflicts(a)}
    desc = items["description"]
    assert {conflicts.side_value(a, desc, "mine"), conflicts.side_value(a, desc, "theirs")} == {
        "from a",
        "from b",
    }
    loser = "from a" if a.record("db").description == "from b" else "from b"
    conflicts.resolve(a, desc["id"], "mine" if loser == "from a" else "theirs")
    assert a.record("db").description == loser
    # the edit won over my delete; taking "mine" deletes it again
    assert a.get("gone").value == "edited"
    conflicts.resolve(a, items["deleted"]["id"], "mine")
    assert a.get("gone") is None
    assert conflicts.list_conflicts(a) == []
    with pytest.raises(NotFoundError):
        conflicts.resolve(a, desc["id"], "mine")


def test_dict_key_conflict_resolves_one_key(tmp_path: Path, key: KeySource) -> None:
    a, b = _pair(tmp_path, key)
    a.put("db", {"host": "a-host", "port": 1})
    b.put("db", {"host": "b-host", "port": 2})
    report = merge_vaults(a, b)
    assert [c.field for c in report.conflicts] == ["value[host]"]
    assert a.get("db").value == {"host": "b-host", "port": 2}
    [entry] = conflicts.list_conflicts(a)
    assert conflicts.side_value(a, entry, "mine") == "a-host"
    with pytest.raises(ValidationError):
        conflicts.resolve(a, entry["id"], "merged")
    conflicts.resolve(a, entry["id"], "mine")
    assert a.get("db").value == {"host": "a-host", "port": 2}
    assert merge_vaults(b, a).changed == 1 and b.get("db").value == {"host": "a-host", "port": 2}
