"""The bulk API: ``put_many`` is exactly a ``put`` per item, and the exports agree with
the per-secret reads."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ConflictError, ValidationError, ValueTooLargeError
from core.vault import Argon2Params, KeySource, Vault, decode_value, encode_value
from tests.vault.strategies import values

NAMES = ["a", "b/c", "d.e", "f-g"]
LABEL_CHARS = st.characters(blacklist_categories=("Cc", "Cs"))  # labels refuse controls

options = st.fixed_dictionaries(
    {},
    optional={
        "description": st.text(LABEL_CHARS, max_size=10),
        "tags": st.dictionaries(
            st.sampled_from(["env", "team"]), st.text(LABEL_CHARS, max_size=5), max_size=2
        ),
        "who": st.text(max_size=5),
        "why": st.text(max_size=5),
        "source": st.sampled_from(["api", "import", "backup"]),
        "rotation": st.just({"interval_days": 30}),
        "extra": st.just({"k": 1}),
        "at": st.datetimes(
            min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
        ),
    },
)
steps = st.lists(
    st.tuples(st.sampled_from(NAMES), values, options, st.booleans()), min_size=1, max_size=12
)


def _state(vault: Vault) -> dict[str, Any]:
    """Everything a user can read about every record, minus the random uids."""
    out = {}
    for rec in vault.list(include_deleted=True):
        fields = rec._asdict()
        fields.pop("uid")
        fields["deleted_ts"] = fields["deleted_ts"] is not None  # a delete is stamped "now"
        history = [
            (dataclasses.asdict(info), value) for info, value in vault.history_values(rec.name)
        ]
        out[rec.name] = (fields, history)
    return out


def _pair(tmp_path: Path) -> tuple[Vault, Vault]:
    ks = KeySource.passphrase("pw")
    a = Vault.create(tmp_path / "a.db", ks, kdf=Argon2Params.fast(), device_id="dev")
    b = Vault.create(tmp_path / "b.db", ks, kdf=Argon2Params.fast(), device_id="dev")
    return a, b


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=steps, batch=steps)
def test_put_many_equals_a_put_per_item(tmp_path_factory, before, batch) -> None:
    a, b = _pair(tmp_path_factory.mktemp("bulk"))
    try:
        fixed = datetime(2025, 5, 5, tzinfo=UTC)
        for vault in (a, b):
            for name, value, opts, delete in before:
                vault.put(name, value, **{"at": fixed, **opts})
                if delete:
                    vault.delete(name)
        items = [(n, v, {"at": fixed, **o}) for n, v, o, _d in batch]
        with a.transaction():
            for name, value, opts in items:
                a.put(name, value, **opts)
        assert b.put_many(items) == len(items)
        assert b.seq == a.seq
        assert _state(b) == _state(a)
        assert b.verify()["records"] == a.verify()["records"]
    finally:
        a.close()
        b.close()


def test_put_many_accepts_pairs_and_returns_the_count(vault: Vault) -> None:
    assert vault.put_many([("x", "1"), ("y", b"\x00"), ("x", {"k": 2})]) == 3
    assert vault.get("x").value == {"k": 2}
    assert vault.get("x", version=1).value == "1"
    assert vault.get("x").record.stages == {"PREVIOUS": 1}
    assert vault.put_many([]) == 0
    vault.verify()


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (("bad name!", "v"), ValidationError),
        (("ok2", 42), ValidationError),
        (("ok2", "x" * (2 * 1024 * 1024)), ValueTooLargeError),
        (("ok2", "v", {"colour": "red"}), ValidationError),
        (("ok2", "v", {"description": "a\x1b]52;c;eA==\x07"}), ValidationError),
        (("ok2", "v", {"tags": {"env": "\x9b1m"}}), ValidationError),
        (("ok2",), ValidationError),
        (("x", "v", {"expected_version": 7}), ConflictError),
    ],
)
def test_put_many_is_all_or_nothing(vault: Vault, bad: tuple, error: type[Exception]) -> None:
    vault.put("x", "before")
    seq = vault.seq
    with pytest.raises(error):
        vault.put_many([("new1", "v"), ("x", "after"), bad, ("new2", "v")])
    assert vault.seq == seq
    assert vault.names() == ["x"]
    assert vault.get("x").value == "before"
    vault.verify()


def test_put_many_check_and_set_sees_earlier_items(vault: Vault) -> None:
    vault.put_many([("x", "1", {"expected_version": 0}), ("x", "2", {"expected_version": 1})])
    assert vault.get("x").record.version == 2
    with pytest.raises(ConflictError):
        vault.put_many([("x", "3", {"expected_version": 1})])


def test_export_records_agrees_with_per_secret_reads(vault: Vault) -> None:
    vault.put("x", "1", description="first", tags={"t": "1"})
    vault.put("x", "2")
    vault.put("y", {"k": [1, 2]})
    vault.put("z", b"\x00")
    vault.delete("z")
    seq_before_w = vault.seq
    vault.put("w", "late")
    export = vault.export_records()
    assert export.seq == vault.seq and export.live_count == 3
    j = 0
    seen = {}
    for (uid, rev, seq, deleted), meta, count in zip(
        export.rows, export.metas, export.counts, strict=True
    ):
        fields = dict(zip(Vault.META_KEYS, json.loads(meta), strict=True))
        rec = vault.record(fields["n"], include_deleted=True)
        assert (uid.hex(), rev, seq, bool(deleted)) == (rec.uid, rec.rev, rec.seq, rec.deleted)
        history = vault.history_values(rec.name)
        assert export.versions[j : j + count] == [info.version for info, _v in history]
        assert export.values[j : j + count] == [encode_value(v) for _i, v in history]
        seen[rec.name] = count
        j += count
    assert seen == {"x": 2, "y": 1, "z": 1, "w": 1}
    assert [k for k, _p, _w in export.slots] == ["keyfile"]
    assert export.slots == vault.wrapped_key_slots()
    later = vault.export_records(seq_before_w)
    assert [json.loads(m)[0] for m in later.metas] == ["w"]
    assert "late" not in repr(later) and "first" not in repr(export)


def test_record_metas_and_encoded_values(vault: Vault) -> None:
    vault.put("x", "1")
    vault.put("x", "2")
    vault.put("gone", "v")
    vault.delete("gone")
    metas = {json.loads(r.meta)[0]: r for r in vault.record_metas()}
    assert set(metas) == {"x", "gone"} and metas["gone"].deleted and not metas["x"].deleted
    uid = metas["x"].uid
    got = vault.encoded_values([(uid, 1), (uid, 2), (uid, 9), (b"\x00" * 16, 1)])
    assert {k: decode_value(v) for k, v in got.items()} == {(uid, 1): "1", (uid, 2): "2"}
    assert vault.encoded_values([]) == {}
