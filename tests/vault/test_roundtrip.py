"""Property 9 (typed values round-trip) and the name/value rules."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidNameError, ValidationError, ValueTooLargeError
from core.vault import MAX_VALUE_BYTES, Vault

from .strategies import names, values

_settings = settings(
    max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)


@_settings
@given(name=names, value=values)
def test_any_valid_name_and_value_round_trips_with_its_type(vault: Vault, name: str, value) -> None:
    vault.put(name, value)
    got = vault.get(name)
    assert got is not None
    assert type(got.value) is type(value)
    assert got.value == value
    assert name in vault.names()


def test_dict_values_keep_int_fields(vault: Vault) -> None:
    vault.put("database_config", {"host": "h", "port": 5432, "ssl": True, "ratio": 0.5})
    value = vault.get("database_config").value
    assert value["port"] == 5432 and isinstance(value["port"], int)
    assert value["ssl"] is True


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "a//b",
        "/a",
        "a/",
        "a/../b",
        "..",
        ".",
        "a/./b",
        "has space",
        "semi;colon",
        "ünï",
        "x" * 257,
        "tab\t",
    ],
)
def test_bad_names_are_refused_and_nothing_is_written(vault: Vault, bad: str) -> None:
    before = vault.seq
    with pytest.raises(InvalidNameError):
        vault.put(bad, "v")
    assert vault.seq == before
    assert vault.names() == []


@_settings
@given(name=st.text(max_size=40))
def test_any_text_is_either_a_usable_name_or_a_clear_invalid_name_error(
    vault: Vault, name: str
) -> None:
    try:
        vault.put(name, "v")
    except InvalidNameError as exc:
        assert exc.title == "Invalid secret name"
    else:
        assert vault.get(name).value == "v"


def test_value_over_one_mebibyte_is_refused_without_echoing_it(vault: Vault) -> None:
    big = "S" * (MAX_VALUE_BYTES + 1)
    with pytest.raises(ValueTooLargeError) as info:
        vault.put("big", big)
    assert "SSSS" not in str(info.value)
    assert vault.get("big") is None
    vault.put("exact", "S" * MAX_VALUE_BYTES)
    assert len(vault.get("exact").value) == MAX_VALUE_BYTES


def test_unsupported_types_are_refused(vault: Vault) -> None:
    for bad in (42, ["a"], {1: "non-str key"}, {"f": float("nan")}, {"o": object()}):
        with pytest.raises(ValidationError):
            vault.put("x", bad)
    assert vault.get("x") is None
