"""The benchmark table's verdicts: a tie is not a win, and a ratio target needs its margin."""

from __future__ import annotations

from tests.bench.common import Row, faster, table, tie_note


def test_a_tie_is_not_marked_faster() -> None:
    # 222 vs 224 ms: 1.01x, within noise; it must not read as "faster than" the peer
    assert faster(222.0, 224.0) is False
    assert tie_note(222.0, 224.0) == "tie (within 5%)"
    row = Row("batch", "get", 222.0, "peer", 224.0, "ms", "faster than peer", faster(222.0, 224.0))
    assert "| FAIL |" in table([row])


def test_a_clear_win_and_a_factor() -> None:
    assert faster(100.0, 120.0) is True
    assert tie_note(100.0, 120.0) == ""
    assert faster(10.0, 104.0, 10) is False  # 10.4x is inside the band around 10x
    assert faster(10.0, 110.0, 10) is True
    assert faster(None, 1.0) is None
