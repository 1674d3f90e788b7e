"""The provider contract: ONE suite, run unchanged against every provider.

Like keyring's ``testing/backend.py``: every test takes the ``provider`` fixture, which
conftest parametrizes over the local vault, HashiCorp Vault (OpenBao), AWS (moto),
Azure and GCP (emulators), and the real clouds when configured. Names carry the test's
``ns`` prefix so runs against real accounts never touch other secrets.
"""

from __future__ import annotations

import secrets
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ConflictError, InvalidNameError, ProviderLimitError, ValidationError
from core.providers import ABSENT, Provider

UNICODE_TEXT = 'pässwörd ✓ 密码 \U0001f511 "quoted" {not json'
BINARY = bytes(range(256)) + b"\x00\xff\xfe"
NESTED = {
    "host": "db.internal",
    "port": 5432,
    "ratio": 0.25,
    "tls": True,
    "none": None,
    "list": [1, "two", {"three": 3}],
    "nested": {"ü": "ünïcode"},
}


def names_in(provider: Provider, prefix: str) -> set[str]:
    return {e.name for e in provider.list() if e.name.startswith(prefix)}


# ------------------------------------------------------------------ values keep their type


@pytest.mark.parametrize(
    "value",
    [
        "s3cret",
        UNICODE_TEXT,
        '{"looks": "like json"}',
        "value",
        BINARY,
        b"plain ascii bytes",
        NESTED,
        {"value": "x", "vaultui_type": "str"},
        {},
    ],
    ids=[
        "str",
        "unicode",
        "json-looking-str",
        "word",
        "bytes",
        "ascii-bytes",
        "dict",
        "marker-dict",
        "empty-dict",
    ],
)
def test_value_round_trips_with_its_type(provider: Provider, ns: str, value: object) -> None:
    name = f"{ns}/value"
    version = provider.put(name, value)
    got = provider.get(name)
    assert got is not None
    assert got.value == value
    assert type(got.value) is type(value)
    assert got.type == {str: "str", bytes: "bytes", dict: "dict"}[type(value)]
    assert got.version == version


def test_missing_secret_reads_as_none(provider: Provider, ns: str) -> None:
    assert provider.get(f"{ns}/absent") is None
    assert provider.versions(f"{ns}/absent") == []
    assert provider.delete(f"{ns}/absent") is False


def test_type_can_change_between_versions(provider: Provider, ns: str) -> None:
    name = f"{ns}/shape"
    provider.put(name, "text")
    provider.put(name, {"now": "a dict"})
    assert provider.get(name).value == {"now": "a dict"}  # type: ignore[union-attr]
    provider.put(name, b"\x00now bytes")
    assert provider.get(name).value == b"\x00now bytes"  # type: ignore[union-attr]


# ------------------------------------------------------------------ versions


def test_versions_are_listed_and_readable(provider: Provider, ns: str) -> None:
    name = f"{ns}/rotating"
    ids = [provider.put(name, f"value-{i}") for i in range(3)]
    assert len(set(ids)) == 3
    listed = provider.versions(name)
    assert {v.version for v in listed} >= set(ids)
    current = [v for v in listed if v.current]
    assert [v.version for v in current] == [ids[-1]]
    assert provider.get(name).version == ids[-1]  # type: ignore[union-attr]
    assert provider.get(name, ids[0]).value == "value-0"  # type: ignore[union-attr]
    assert provider.get(name, ids[1]).value == "value-1"  # type: ignore[union-attr]


# ------------------------------------------------------------------ check-and-set


def test_check_and_set(provider: Provider, ns: str) -> None:
    name = f"{ns}/cas"
    v1 = provider.put(name, "one", expected_version=ABSENT)
    with pytest.raises(ConflictError):
        provider.put(name, "again", expected_version=ABSENT)
    v2 = provider.put(name, "two", expected_version=v1)
    with pytest.raises(ConflictError) as err:
        provider.put(name, "stale", expected_version=v1)
    assert "stale" not in str(err.value)
    got = provider.get(name)
    assert (got.value, got.version) == ("two", v2)  # type: ignore[union-attr]
    v3 = provider.put(name, "three")  # a plain write after a check-and-set one
    got = provider.get(name)
    assert (got.value, got.version) == ("three", v3)  # type: ignore[union-attr]
    with pytest.raises(ConflictError):
        provider.put(f"{ns}/never-written", "x", expected_version=v1)
    assert provider.get(f"{ns}/never-written") is None


# ------------------------------------------------------------------ delete


def test_delete_then_write_again_then_purge(provider: Provider, ns: str) -> None:
    name = f"{ns}/doomed"
    provider.put(name, "first")
    assert provider.delete(name) is True
    assert provider.get(name) is None
    assert name not in names_in(provider, ns)
    assert provider.delete(name) is False
    provider.put(name, "second")
    assert provider.get(name).value == "second"  # type: ignore[union-attr]
    assert name in names_in(provider, ns)
    assert provider.delete(name, purge=True) is True
    assert provider.get(name) is None
    assert provider.versions(name) == []
    provider.put(name, "third")  # the name is free again after a purge
    assert provider.get(name).value == "third"  # type: ignore[union-attr]


# ------------------------------------------------------------------ list


def test_list_follows_every_page_without_values(provider: Provider, ns: str) -> None:
    provider.page_size = 4
    wanted = {f"{ns}/dir{i % 3}/sub/item-{i}": f"v{i}" for i in range(17)}
    assert provider.put_many(wanted).ok
    entries = [e for e in provider.list() if e.name.startswith(ns)]
    assert {e.name for e in entries} == set(wanted)
    assert len(entries) == len(wanted)  # no duplicates across pages
    for entry in entries:
        assert not hasattr(entry, "value")
        if entry.version is not None:
            assert entry.version == provider.get(entry.name).version  # type: ignore[union-attr]


# ------------------------------------------------------------------ limits


def test_value_limit_gives_clear_error_without_the_value(provider: Provider, ns: str) -> None:
    limit = provider.limits.max_value_bytes
    name = f"{ns}/big"
    if limit is None:  # HashiCorp Vault: no per-value limit of its own
        value = secrets.token_hex(50_000)  # 100 KB, beyond every cloud limit
        provider.put(name, value)
        assert provider.get(name).value == value  # type: ignore[union-attr]
        return
    marker = "LIMITMARK"
    exact = (marker * (limit // len(marker) + 1))[:limit]
    provider.put(name, exact)
    assert provider.get(name).value == exact  # type: ignore[union-attr]
    with pytest.raises(ValidationError) as err:
        provider.put(name, exact + "X")
    assert isinstance(err.value, ProviderLimitError) or provider.name == "local"
    assert marker not in str(err.value) and str(limit) in str(err.value)
    assert provider.get(name).value == exact  # type: ignore[union-attr]
    with pytest.raises(ValidationError):
        provider.put(f"{ns}/big-bytes", b"\x01" * (limit + 1))
    assert provider.get(f"{ns}/big-bytes") is None


# ------------------------------------------------------------------ names


NAMES = [
    "plain",
    "with_underscore",
    "with-dash",
    "dotted.name.v2",
    "deep/path/to/secret",
    "Mixed_CASE",
    "mixed_case",
    "trailing-",
    "-leading",
    "double--dash",
    "dash-_under",
    "x/-/y",
    "a.-_b/c",
    "UPPER/lower/Upper",
]


def test_every_vault_name_round_trips(provider: Provider, ns: str) -> None:
    items = {f"{ns}/{n}": f"value of {n}" for n in NAMES}
    result = provider.put_many(items)
    result.raise_for_errors()
    for name, value in items.items():
        assert provider.get(name).value == value, name  # type: ignore[union-attr]
    assert names_in(provider, ns) == set(items)


def test_invalid_names_are_refused_before_any_write(provider: Provider, ns: str) -> None:
    for bad in ["", "a//b", "../x", f"{ns}/./b", f"{ns}/spa ce", f"{ns}/semi;colon", "x" * 300]:
        with pytest.raises(InvalidNameError):
            provider.put(bad, "v")
        with pytest.raises(InvalidNameError):
            provider.get(bad)
    assert names_in(provider, ns) == set()


# ------------------------------------------------------------------ bulk


def test_bulk_put_and_get(provider: Provider, ns: str) -> None:
    items: dict[str, object] = {}
    for i in range(30):
        items[f"{ns}/bulk/{i}"] = [f"s{i}", f"b{i}".encode(), {"i": i}][i % 3]
    result = provider.put_many(items)
    assert result.ok and set(result.done) == set(items) and result.total == 30
    read = provider.get_many([*items, f"{ns}/bulk/missing"])
    assert read.ok
    assert read.done[f"{ns}/bulk/missing"] is None
    for name, value in items.items():
        assert read.done[name].value == value  # type: ignore[union-attr]


# ------------------------------------------------------------------ health


def test_health_and_viability(provider: Provider) -> None:
    ok, latency, detail = provider.health()
    assert ok is True and latency > 0 and detail
    viable, reason = type(provider).viable(provider.settings)
    assert viable, reason


# ------------------------------------------------------------------ property based

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=8,
)
_values = st.one_of(_text, st.binary(max_size=64), st.dictionaries(_text, _json, max_size=4))
_segment = st.text(
    alphabet=string.ascii_letters + string.digits + "_.-", min_size=1, max_size=8
).filter(lambda s: s not in (".", ".."))


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=_values, segments=st.lists(_segment, min_size=1, max_size=3))
def test_any_value_under_any_name_round_trips(
    provider: Provider, ns: str, value: object, segments: list[str]
) -> None:
    name = "/".join([ns, *segments])
    provider.put(name, value)
    got = provider.get(name)
    assert got is not None and got.value == value and type(got.value) is type(value)
    assert name in names_in(provider, ns)
    provider.delete(name, purge=True)


def test_bulk_push_reports_each_bad_item_and_keeps_the_good_ones(
    provider: Provider, ns: str
) -> None:
    items: dict[str, object] = {f"{ns}/ok/{i}": f"v{i}" for i in range(10)}
    items[f"{ns}/bad//name"] = "v"
    items[f"{ns}/bad-value"] = {"not json": object()}
    result = provider.put_many(items)
    assert set(result.failed) == {f"{ns}/bad//name", f"{ns}/bad-value"}
    assert all(isinstance(e, ValidationError) for e in result.failed.values())
    assert set(result.done) == {n for n in items if "/ok/" in n}
    assert names_in(provider, ns) == set(result.done)
