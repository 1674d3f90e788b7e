"""The merge rule's algebra, on real vault files: deterministic, idempotent,
commutative, associative, and convergent under random edits on three machines."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from core.sync.merge import merge_vaults
from core.vault import KeySource, Vault, write_new_key_file
from tests.sync.homes import (
    all_values,
    apply_op,
    clone_file,
    copy_home,
    fast_tmpdir,
    new_home,
    snapshot,
    typed,
)

NAMES = ["db", "api/key", "cfg", "x.y"]
KEYS = ["host", "port", "user"]
values = st.one_of(
    st.sampled_from(["s1", "s2", "s3", "", "ünï"]),
    st.sampled_from([b"\x00\x01", b"bytes"]),
    st.fixed_dictionaries({"host": st.sampled_from(["a", "b"]), "port": st.integers(1, 3)}),
)
ops = st.one_of(
    st.tuples(st.just("put"), st.sampled_from(NAMES), values),
    st.tuples(
        st.just("key"),
        st.sampled_from(NAMES),
        st.sampled_from(KEYS),
        st.one_of(st.none(), st.sampled_from(["v1", "v2", 7])),
    ),
    st.tuples(st.just("desc"), st.sampled_from(NAMES), st.sampled_from(["d1", "d2", ""])),
    st.tuples(st.just("desc"), st.sampled_from(NAMES[:2]), st.sampled_from(["d3", "d4"])),
    st.tuples(st.just("tags"), st.sampled_from(NAMES), st.sampled_from([{}, {"env": "prod"}])),
    st.tuples(st.just("delete"), st.sampled_from(NAMES)),
    st.tuples(st.just("undelete"), st.sampled_from(NAMES)),
)
op_lists = st.lists(ops, max_size=6)

# VAULTUI_TEST_EXAMPLES=500 runs a deeper search (the default keeps CI fast).
EXAMPLES = int(os.environ.get("VAULTUI_TEST_EXAMPLES", "25"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class Homes:
    """Three homes holding copies of one vault, each edited independently."""

    def __init__(self, root: Path, base: list[Any], edits: list[list[Any]]) -> None:
        self.root = root
        self.key = KeySource.from_key_file(write_new_key_file(root / "k"))
        origin = new_home(root, "origin", self.key)
        for i, name in enumerate(NAMES):
            origin.put(name, {"host": "h", "port": i} if i % 2 else f"v{i}")
        for op in base:
            apply_op(origin, op)
        self.homes: list[Vault] = []
        for i, ops_i in enumerate(edits):
            home = copy_home(origin, root, f"h{i}", self.key)
            for op in ops_i:
                apply_op(home, op)
            self.homes.append(home)
        origin.close()
        self._n = 0

    def clone(self, vault: Vault) -> Vault:
        """An independent copy of a home (same device id)."""
        self._n += 1
        return clone_file(vault, self.root, f"c{self._n}-{Path(vault.path).parent.name}", self.key)

    def merged(self, into: Vault, *others: Vault) -> Vault:
        """A copy of ``into`` with ``others`` merged into it, in order."""
        target = self.clone(into)
        for other in others:
            merge_vaults(target, other)
        return target

    def close(self) -> None:
        for home in self.homes:
            home.close()


def _run(base: list[Any], edits: list[list[Any]], check: Any) -> None:
    with fast_tmpdir() as tmp:
        homes = Homes(Path(tmp), base, edits)
        try:
            check(homes)
        finally:
            homes.close()


@SETTINGS
@given(base=op_lists, a=op_lists, b=op_lists)
def test_merge_is_idempotent_and_a_dry_run_writes_nothing(base, a, b) -> None:
    def check(h: Homes) -> None:
        x, y = h.homes[0], h.homes[1]
        before = snapshot(x)
        seq = x.seq
        plan = merge_vaults(x, y, dry_run=True)
        assert x.seq == seq and snapshot(x) == before
        done = merge_vaults(x, y)
        assert sorted(done.added) == sorted(plan.added)
        assert sorted(done.updated) == sorted(plan.updated)
        assert len(done.conflicts) == len(plan.conflicts)
        once = snapshot(x)
        seq = x.seq
        again = merge_vaults(x, y)
        assert again.changed == 0 and again.tombstones == 0 and x.seq == seq
        assert snapshot(x) == once
        assert merge_vaults(x, h.clone(x)).changed == 0  # a copy of itself: no-op
        x.verify()

    _run(base, [a, b], check)


@SETTINGS
@given(base=op_lists, a=op_lists, b=op_lists)
def test_merge_is_commutative(base, a, b) -> None:
    def check(h: Homes) -> None:
        x, y = h.homes[0], h.homes[1]
        ab = h.merged(x, y)
        ba = h.merged(y, x)
        assert snapshot(ab) == snapshot(ba)
        ab.close()
        ba.close()

    _run(base, [a, b], check)


@SETTINGS
@given(base=op_lists, a=op_lists, b=op_lists, c=op_lists)
def test_merge_is_associative(base, a, b, c) -> None:
    def check(h: Homes) -> None:
        x, y, z = h.homes
        left = h.merged(h.merged(x, y), z)
        right = h.merged(x, h.merged(y, z))
        assert snapshot(left) == snapshot(right)

    _run(base, [a, b, c], check)


@SETTINGS
@given(base=op_lists, a=op_lists, b=op_lists)
def test_one_sided_changes_win_and_every_value_stays_in_history(base, a, b) -> None:
    def check(h: Homes) -> None:
        x, y = h.homes[0], h.homes[1]
        before_x, before_y = snapshot(x, history=False), snapshot(y, history=False)
        values_x, values_y = all_values(x), all_values(y)
        merged = h.merged(x, y)
        after = snapshot(merged, history=False)
        kept = all_values(merged)
        for name, vals in itertools.chain(values_x.items(), values_y.items()):
            for v in vals:
                assert v in kept[name], f"a value of {name} was lost"
        # a secret only one side touched comes out as that side has it
        for name in set(before_x) | set(before_y):
            if name not in before_y:
                assert after[name] == before_x[name]
            elif name not in before_x:
                assert after[name] == before_y[name]

    _run(base, [a, b], check)


def test_concurrent_edits_report_a_conflict_and_keep_the_loser(tmp_path: Path, key) -> None:
    origin = new_home(tmp_path, "o", key)
    origin.put("db", "v0")
    a = copy_home(origin, tmp_path, "a", key)
    b = copy_home(origin, tmp_path, "b", key)
    a.put("db", "from-a")
    b.put("db", "from-b")  # later: wins
    report = merge_vaults(a, b)
    assert a.get("db").value == "from-b"
    [conflict] = report.conflicts
    assert (conflict.field, conflict.kind, conflict.winner) == ("value", "both_changed", "other")
    assert [v for _, v in a.history_values("db")] == ["v0", "from-a", "from-b"]
    assert "from-a" not in repr(report.to_dict()) and "from-b" not in repr(report.to_dict())


def test_dict_keys_merge_independently(tmp_path: Path, key) -> None:
    origin = new_home(tmp_path, "o", key)
    origin.put("db", {"host": "h", "port": 5432, "user": "u"})
    a = copy_home(origin, tmp_path, "a", key)
    b = copy_home(origin, tmp_path, "b", key)
    a.put("db", {"host": "h2", "port": 5432, "user": "u"})
    b.put("db", {"host": "h", "port": 6543})  # changes port, removes user
    report = merge_vaults(a, b)
    assert a.get("db").value == {"host": "h2", "port": 6543}
    assert report.conflicts == []


def test_delete_against_an_edit_keeps_the_edit(tmp_path: Path, key) -> None:
    origin = new_home(tmp_path, "o", key)
    origin.put("db", "v0")
    origin.put("old", "o")
    a = copy_home(origin, tmp_path, "a", key)
    b = copy_home(origin, tmp_path, "b", key)
    a.delete("db")
    a.delete("old")
    b.put("db", "edited")
    report = merge_vaults(a, b)
    assert a.get("db").value == "edited"
    assert a.get("old") is None  # a delete nobody argued with stays
    assert [(c.name, c.kind) for c in report.conflicts] == [("db", "delete_vs_edit")]
    assert merge_vaults(b, a).changed == 0 or b.get("db").value == "edited"


def test_same_name_created_on_two_machines_becomes_one_secret(tmp_path: Path, key) -> None:
    origin = new_home(tmp_path, "o", key)
    a = copy_home(origin, tmp_path, "a", key)
    b = copy_home(origin, tmp_path, "b", key)
    ra = a.put("token", "from-a")
    rb = b.put("token", "from-b")
    merge_vaults(a, b)
    merge_vaults(b, a)
    assert a.record("token").uid == b.record("token").uid == min(ra.uid, rb.uid)
    assert a.get("token").value == b.get("token").value == "from-b"
    assert sorted(v for _, v in a.history_values("token")) == ["from-a", "from-b"]
    a.verify()
    b.verify()


class ThreeMachines(RuleBasedStateMachine):
    """Random edits on three homes, merged pairwise in random orders; a full round of
    merges must leave all three identical, with every value ever written in history."""

    def __init__(self) -> None:
        super().__init__()
        self._tmp = fast_tmpdir()
        root = Path(self._tmp.name)
        key = KeySource.from_key_file(write_new_key_file(root / "k"))
        origin = new_home(root, "origin", key)
        origin.put("db", {"host": "h", "port": 1})
        origin.put("api/key", "k0")
        self.homes = [copy_home(origin, root, f"m{i}", key) for i in range(3)]
        origin.close()
        self.written: dict[str, set[tuple[str, bytes]]] = {}

    @rule(home=st.integers(0, 2), op=ops)
    def edit(self, home: int, op: tuple[Any, ...]) -> None:
        value = apply_op(self.homes[home], op)
        if value is not None:
            self.written.setdefault(op[1], set()).add(typed(value))

    @rule(dst=st.integers(0, 2), src=st.integers(0, 2))
    def merge(self, dst: int, src: int) -> None:
        if dst != src:
            merge_vaults(self.homes[dst], self.homes[src])

    @precondition(lambda self: True)
    @rule()
    def full_round(self) -> None:
        a, b, c = self.homes
        for dst, src in ((a, b), (a, c), (b, a), (c, a)):
            merge_vaults(dst, src)
        snaps = [snapshot(h) for h in self.homes]
        assert snaps[0] == snaps[1] == snaps[2]
        for h in self.homes:
            assert all(merge_vaults(h, o).changed == 0 for o in self.homes if o is not h)

    @invariant()
    def nothing_written_is_lost(self) -> None:
        kept: dict[str, set[tuple[str, bytes]]] = {}
        for h in self.homes:
            for name, vals in all_values(h).items():
                kept.setdefault(name, set()).update(vals)
        for name, vals in self.written.items():
            assert vals <= kept.get(name, set()), f"an edit of {name} is in no history"

    def teardown(self) -> None:
        self.full_round()
        for h in self.homes:
            h.verify()
            h.close()
        self._tmp.cleanup()


TestThreeMachines = ThreeMachines.TestCase
TestThreeMachines.settings = settings(
    max_examples=max(15, EXAMPLES * 3 // 5),
    stateful_step_count=25 if EXAMPLES <= 25 else 40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
