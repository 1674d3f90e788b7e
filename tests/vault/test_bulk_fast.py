"""The restore fast paths of the bulk API: ``put_encoded`` (with or without the records
read by ``read_current``) is exactly ``put_many`` of the decoded values, refuses stale
records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import (
    ConflictError,
    IntegrityError,
    InvalidNameError,
    ValidationError,
    ValueTooLargeError,
)
from core.vault import Argon2Params, KeySource, Vault, decode_value, encode_value
from core.vault.bulk import put_encoded, read_current
from tests.vault.strategies import values
from tests.vault.test_bulk import _state, options

NAMES = ["a", "b/c", "d.e", "f-g"]
steps = st.lists(
    st.tuples(st.sampled_from(NAMES), values, options, st.booleans()), min_size=1, max_size=10
)
FIXED = datetime(2025, 5, 5, tzinfo=UTC)


def _pair(tmp_path: Path) -> tuple[Vault, Vault]:
    ks = KeySource.passphrase("pw")
    a = Vault.create(tmp_path / "a.db", ks, kdf=Argon2Params.fast(), device_id="dev")
    b = Vault.create(tmp_path / "b.db", ks, kdf=Argon2Params.fast(), device_id="dev")
    return a, b


def _known(vault: Vault) -> dict[str, Any]:
    """name -> (CurrentRow, parsed metadata), as a restore plan hands them over."""
    return {json.loads(c.meta)[0]: (c, json.loads(c.meta)) for c in read_current(vault)}


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=steps, batch=steps, hand_over=st.booleans())
def test_put_encoded_equals_put_many(tmp_path_factory, before, batch, hand_over) -> None:
    a, b = _pair(tmp_path_factory.mktemp("fast"))
    try:
        for vault in (a, b):
            for name, value, opts, delete in before:
                vault.put(name, value, **{"at": FIXED, **opts})
                if delete:
                    vault.delete(name)
        items = [(n, v, {"at": FIXED, **o}) for n, v, o, _d in batch]
        assert a.put_many(items) == len(items)
        encoded = [(n, encode_value(v), o) for n, v, o in items]
        with b.transaction():
            current = _known(b) if hand_over else None  # read in the same transaction
            assert put_encoded(b, encoded, current) == len(items)
        assert b.seq == a.seq
        assert _state(b) == _state(a)
        assert b.verify()["versions"] == a.verify()["versions"]
    finally:
        a.close()
        b.close()


def test_handed_over_records_not_in_the_batch_are_left_alone(vault: Vault) -> None:
    vault.put_many([("x", "1"), ("y", "1")])
    with vault.transaction():
        current = _known(vault)
        put_encoded(vault, [("x", encode_value("2"), {})], current)
    assert vault.record("y").rev == 1 and vault.record("x").version == 2
    vault.verify()


def test_a_stale_record_is_refused_and_nothing_is_written(vault: Vault) -> None:
    vault.put_many([("x", "1"), ("y", "1")])
    current = _known(vault)
    vault.put("x", "changed meanwhile")
    seq = vault.seq
    with pytest.raises(ConflictError):
        put_encoded(vault, [("y", encode_value("2"), {}), ("x", encode_value("3"), {})], current)
    assert vault.seq == seq
    assert vault.get("x").value == "changed meanwhile" and vault.get("y").value == "1"
    vault.verify()


def test_new_names_skip_lookups_but_never_overwrite(vault: Vault) -> None:
    put_encoded(
        vault, [("n1", encode_value("1"), {}), ("n1", encode_value("2"), {})], new_names=True
    )
    assert [h.version for h in vault.history("n1")] == [1, 2]
    seq = vault.seq
    with pytest.raises(ConflictError):
        put_encoded(
            vault, [("n2", encode_value("v"), {}), ("n1", encode_value("3"), {})], new_names=True
        )
    assert vault.seq == seq and vault.names() == ["n1"] and vault.get("n1").value == "2"
    vault.verify()


@pytest.mark.parametrize(
    ("item", "error"),
    [
        (("bad name!", b"sv", {}), InvalidNameError),
        (("ok", b"xv", {}), IntegrityError),  # unknown type tag, as decode_value
        (("ok", b"s\xff\xfe", {}), IntegrityError),  # not UTF-8, as decode_value
        (("ok", b"j[1]", {}), IntegrityError),  # a JSON value that is not a dict
        (("ok", b"b" + bytes(1024 * 1024 + 1), {}), ValueTooLargeError),
        (("ok", b"sv", {"colour": "red"}), ValidationError),
        (("ok", "not encoded", {}), ValidationError),
        (("ok", b"sv"), ValidationError),
    ],
)
def test_put_encoded_checks_like_put(vault: Vault, item: tuple, error: type[Exception]) -> None:
    vault.put("x", "before")
    seq = vault.seq
    with pytest.raises(error):
        put_encoded(vault, [("new", b"sv", {}), item])
    assert vault.seq == seq and vault.names() == ["x"]


def test_dict_values_are_stored_as_put_would(vault: Vault) -> None:
    put_encoded(vault, [("d", b'j{"b": 1,  "a":[1.0]}', {})])
    assert vault.get("d").value == {"b": 1, "a": [1.0]}
    assert vault.encoded_values([(bytes.fromhex(vault.record("d").uid), 1)]).popitem()[1] == (
        encode_value({"b": 1, "a": [1.0]})
    )


def test_read_current_agrees_with_record_metas(vault: Vault) -> None:
    vault.put_many([("x", "1"), ("x", "2"), ("y", b"\x00")])
    vault.delete("y")
    rows = {c.uid: c for c in read_current(vault)}
    for meta in vault.record_metas():
        c = rows.pop(meta.uid)
        assert (c.uid, c.rev, c.deleted, c.meta) == tuple(meta)
        assert "x" not in repr(c) and "y" not in repr(c).replace("uid", "")
    assert not rows


def test_encoded_values_in_many_chunks(vault: Vault) -> None:
    vault.put_many([(f"s{i}", f"v{i}") for i in range(1000)])
    vault.put_many([(f"s{i}", f"w{i}") for i in range(0, 1000, 3)])
    uids = {r.name: bytes.fromhex(r.uid) for r in vault.list()}
    wanted = [(uids[f"s{i}"], v) for i in range(1000) for v in (1, 2)]
    got = vault.encoded_values([*wanted, (b"\x01" * 16, 1)])
    expected = {(uids[f"s{i}"], 1): f"v{i}" for i in range(1000)}
    expected.update({(uids[f"s{i}"], 2): f"w{i}" for i in range(0, 1000, 3)})
    assert {k: decode_value(v) for k, v in got.items()} == expected
