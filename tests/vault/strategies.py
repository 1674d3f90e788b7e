"""Shared Hypothesis strategies for names and values (as attrs' tests/strategies.py)."""

from __future__ import annotations

from hypothesis import strategies as st

_SEGMENT = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
    min_size=1,
    max_size=20,
).filter(lambda s: s not in (".", ".."))

names = st.lists(_SEGMENT, min_size=1, max_size=4).map("/".join).filter(lambda n: len(n) <= 256)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
dict_values = st.dictionaries(st.text(max_size=12), json_values, max_size=6)
values = st.one_of(st.text(max_size=200), st.binary(max_size=200), dict_values)
