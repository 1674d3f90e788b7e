"""The browser's index (UI-free): fuzzy filter, narrowing cache, tags, sort, changes."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.vault import SecretRecord
from vaultui.index import Query, SecretIndex, tag_matches


def fuzzy_matcher(text: str):
    """The reference subsequence test the index is checked against: a possessive regex
    (``[^a]*+a[^b]*+b...``), independent of the index's incremental search."""
    parts = []
    for ch in text.lower():
        esc = re.escape(ch)
        cls = "\\" + ch if ch in "\\]^-" else esc
        parts.append(f"[^{cls}]*+{esc}")
    return re.compile("".join(parts), re.DOTALL).match


def rec(
    name: str,
    *,
    t: str = "str",
    desc: str = "",
    tags=None,
    updated: float = 0.0,
    deleted: bool = False,
    uid: str | None = None,
    policy: str | None = None,
) -> SecretRecord:
    return SecretRecord(
        name,
        uid or name.encode().hex(),
        1,
        1,
        1,
        deleted,
        t,
        desc,
        tags or {},
        0.0,
        updated,
        None,
        {"policy": policy} if policy else {},
    )


def test_fuzzy_matcher_is_a_case_insensitive_subsequence_match() -> None:
    m = fuzzy_matcher("pdbpw")
    assert m("prod/db/password")
    assert not m("prod/password/db")
    assert fuzzy_matcher("a]^-\\")("xa]y^z-\\")  # regex metacharacters are literal
    assert Query.parse("PDB").text == "pdb"


def test_filter_keeps_sort_order_and_narrows_from_the_previous_result() -> None:
    index = SecretIndex([f"svc{i:03d}/key" for i in range(300)] + ["zeta/token"])
    assert len(index.filter(Query.parse("s"))) == 300
    first = index.filter(Query.parse("s9"))
    assert first == [f"svc{i:03d}/key" for i in range(300) if "9" in f"{i:03d}"]
    assert index.filter(Query.parse("s99")) == ["svc099/key", "svc199/key", "svc299/key"]
    assert index.filter(Query.parse("s9")) is first  # backspace: cached
    assert index.filter(Query.parse("ztok")) == ["zeta/token"]
    # a cleared filter is the order itself: no copy of 100,000 names (~1 ms, and ~1 ms
    # more to free it on the next keystroke)
    cleared = index.filter(Query.parse(""))
    assert cleared is index.order
    shown = list(cleared)
    index.set_sort("name", reverse=True)  # a re-sort makes a new order, never edits it
    assert cleared == shown and index.order == shown[::-1]


def test_tag_terms_and_tag_counts() -> None:
    index = SecretIndex()
    index.set_records(
        [
            rec("a", tags={"env": "prod", "team": "x"}),
            rec("b", tags={"env": "staging"}),
            rec("c", tags={"pci": ""}),
        ]
    )
    assert index.filter(Query.parse("#env=prod")) == ["a"]
    assert index.filter(Query.parse("#env")) == ["a", "b"]
    assert index.filter(Query.parse("tag:pci")) == ["c"]
    assert index.filter(Query.parse("b", tag="env=staging")) == ["b"]
    assert index.tag_counts()[0] == ("env=prod", 1) or ("env=prod", 1) in index.tag_counts()
    assert tag_matches({"Env": "Prod"}, "env=prod")


def test_sort_by_columns_and_reverse() -> None:
    index = SecretIndex()
    index.set_records(
        [
            rec("b", t="dict", updated=3, desc="Zed"),
            rec("a", updated=2, desc="alpha", policy="daily"),
            rec("c", updated=1),
        ]
    )
    assert list(index.order) == ["a", "b", "c"]
    index.set_sort("updated")
    assert list(index.order) == ["c", "a", "b"]
    index.set_sort("updated", reverse=True)
    assert list(index.order) == ["b", "a", "c"]
    index.set_sort("type")
    assert list(index.order) == ["b", "a", "c"]
    index.set_sort("description")
    assert list(index.order) == ["c", "a", "b"]
    index.set_sort("rotation")
    assert list(index.order) == ["b", "c", "a"]


def test_changes_add_update_and_remove_rows() -> None:
    index = SecretIndex()
    index.set_records([rec("a"), rec("c")])
    changed = index.apply_changes([rec("b"), rec("a", desc="new"), rec("c", deleted=True)])
    assert changed == {"a", "b", "c"}
    assert list(index.order) == ["a", "b"]
    assert index.record("a").description == "new"
    index.apply_changes([], purged_uids=[b"b".hex()])
    assert list(index.order) == ["a"]


def test_a_renamed_record_leaves_its_old_row() -> None:
    index = SecretIndex()
    index.set_records([rec("a", uid="01"), rec("b", uid="02"), rec("c", uid="03")])
    # `mv a z`: the same record (uid 01) now under another name
    changed = index.apply_changes([rec("z", uid="01")])
    assert changed == {"a", "z"}
    assert list(index.order) == ["b", "c", "z"]
    # `mv --force z b`: b's record is purged, 01 takes its name
    changed = index.apply_changes([rec("b", uid="01")], purged_uids=["02"])
    assert list(index.order) == ["b", "c"] and index.record("b").uid == "01"


def test_names_first_then_records() -> None:
    index = SecretIndex(["x", "y"])
    assert index.record("x") is None and not index.metadata_loaded
    index.set_records([rec("x"), rec("y"), rec("gone", deleted=True)])
    assert index.metadata_loaded and list(index.order) == ["x", "y"]


_ALPHABET = "abAB/._-0"


@settings(max_examples=300, deadline=None)
@given(
    names=st.lists(st.text(_ALPHABET, min_size=1, max_size=12), max_size=40, unique=True),
    typed=st.lists(st.text(_ALPHABET, max_size=6), min_size=1, max_size=6),
    warmed=st.booleans(),
)
def test_incremental_filter_matches_a_subsequence_test_whatever_is_typed(
    names, typed, warmed
) -> None:
    """Typing, deleting and retyping in any order: the incremental (cached, narrowed)
    result is always exactly the names that contain the query as a subsequence, with or
    without the first-character masks that warm() builds."""
    index = SecretIndex(names)
    if warmed:
        index.warm()
    for raw in typed:
        query = Query.parse(raw)
        expected = [n for n in index.order if fuzzy_matcher(query.text)(n.lower())]
        assert index.filter(query) == expected
        for end in range(1, len(query.text) + 1):  # and each prefix, as if typed
            part = query.text[:end]
            assert index.filter(Query(part)) == [
                n for n in index.order if fuzzy_matcher(part)(n.lower())
            ]


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(st.text(_ALPHABET, min_size=1, max_size=12), max_size=60, unique=True),
    typed=st.text(_ALPHABET.lower(), min_size=1, max_size=5),
    limit=st.integers(1, 8),
    budget=st.integers(1, 80),
    warmed=st.booleans(),
    prefix_cached=st.booleans(),
)
def test_first_matches_are_the_first_rows_of_the_full_result(
    names, typed, limit, budget, warmed, prefix_cached
) -> None:
    """The first screen shown for a large search is exactly the head of the full result
    (or None: then the browser runs the full filter). With nothing typed before (the
    first character), the warm per-character masks are scanned."""
    index = SecretIndex(names)
    if warmed:
        index.warm()
    if prefix_cached:
        index.filter(Query(typed[:1]))  # a typed prefix is cached, as when typing
    first = index.first_matches(Query(typed), limit, budget)
    full = [n for n in index.order if fuzzy_matcher(typed)(n.lower())]
    if first is not None:
        assert first == full[:limit]
    assert index.filter(Query(typed)) == full


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(st.text(_ALPHABET, min_size=1, max_size=12), max_size=60, unique=True),
    typed=st.lists(st.text(_ALPHABET, max_size=6), min_size=1, max_size=5),
    chunk=st.integers(1, 7),
    warmed=st.booleans(),
)
def test_a_search_in_slices_finds_exactly_what_one_pass_finds(names, typed, chunk, warmed) -> None:
    """The browser completes a large search a slice at a time (filter_steps with a chunk):
    whatever the slice size, the result, and every prefix cached on the way, is the
    subsequence match."""
    index = SecretIndex(names)
    if warmed:
        index.warm()
    for raw in typed:
        query = Query.parse(raw)
        steps = list(index.filter_steps(query, chunk=chunk))
        assert all(step is None for step in steps[:-1])
        assert steps[-1] == [n for n in index.order if fuzzy_matcher(query.text)(n.lower())]
        for end in range(1, len(query.text) + 1):
            part = query.text[:end]
            assert index.filter(Query(part)) == [
                n for n in index.order if fuzzy_matcher(part)(n.lower())
            ]


def test_a_search_in_slices_stops_when_the_index_is_re_sorted() -> None:
    """A slice-wise search left half done while the vault changed gives no (stale)
    result and caches nothing from the old order."""
    index = SecretIndex([f"app/{i:03d}/key" for i in range(300)])
    steps = index.filter_steps(Query("ak"), chunk=50)
    assert next(steps) is None
    assert next(steps) is None
    index.set_sort("name", reverse=True)
    assert list(steps) == []
    assert index.filter(Query("ak"))[0] == "app/299/key"


@settings(max_examples=300, deadline=None)
@given(
    names=st.lists(st.text(_ALPHABET, min_size=1, max_size=10), max_size=50, unique=True),
    typed=st.text(_ALPHABET, max_size=4),
    sort=st.sampled_from(["name", "updated", "description"]),
    reverse=st.booleans(),
    warmed=st.booleans(),
    probe=st.text(_ALPHABET, min_size=1, max_size=10),
    scan=st.sampled_from([0, 4096]),
)
def test_locate_finds_a_name_in_any_result_as_list_index_does(
    names, typed, sort, reverse, warmed, probe, scan
) -> None:
    """Where the cursor's secret is in a new result: by bisection once warm, with the
    short-list scan on or off, for any sort, result and name (in it, or not)."""
    from vaultui import index as index_module

    index = SecretIndex()
    index.set_records([rec(n, updated=i % 7, desc=n[::-1]) for i, n in enumerate(names)])
    index.set_sort(sort, reverse)
    if warmed:
        index.warm()
    rows = index.filter(Query.parse(typed))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index_module, "LOCATE_SCAN", scan)
        for name in [*names, probe]:
            expected = rows.index(name) if name in rows else None
            assert index.locate(rows, name) == expected


def test_locate_in_a_list_in_another_order_or_after_a_re_sort() -> None:
    index = SecretIndex([f"svc{i:02d}" for i in range(30)])
    index.warm()
    assert index.locate(index.order, "svc17") == 17
    shuffled = ["svc05", "svc29", "svc01"]  # not in the index's order: a short list
    assert index.locate(shuffled, "svc01") == 2 and index.locate(shuffled, "nope") is None
    index.set_sort("name", reverse=True)  # positions are for the old order now
    assert not index.warmed and index.locate(index.order, "svc17") == 12
    index.warm()
    assert index.locate(index.order, "svc17") == 12
