"""The reversible name mapping onto Azure's and GCP's narrower alphabets."""

from __future__ import annotations

import contextlib
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidNameError, ProviderLimitError
from core.providers.names import AZURE_NAMES, GCP_NAMES, IDENTITY

AZURE_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
GCP_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")

_segment = st.text(
    alphabet=string.ascii_letters + string.digits + "_.-", min_size=1, max_size=12
).filter(lambda s: s not in (".", ".."))
vault_names = (
    st.lists(_segment, min_size=1, max_size=4).map("/".join).filter(lambda n: len(n) <= 256)
)


@settings(max_examples=200, deadline=None)
@given(name=vault_names)
def test_round_trip_and_alphabet(name: str) -> None:
    for mapping, pattern in ((AZURE_NAMES, AZURE_RE), (GCP_NAMES, GCP_RE)):
        try:
            mapped = mapping.encode(name)
        except ProviderLimitError:
            continue  # too long once escaped: refused with a clear error instead
        assert pattern.match(mapped), (mapping.provider, name, mapped)
        assert mapping.decode(mapped) == name
    assert IDENTITY.decode(IDENTITY.encode(name)) == name


@settings(max_examples=150, deadline=None)
@given(a=vault_names, b=vault_names)
def test_distinct_names_never_collide(a: str, b: str) -> None:
    if a == b:
        return
    try:
        az_a, az_b = AZURE_NAMES.encode(a), AZURE_NAMES.encode(b)
        assert az_a.lower() != az_b.lower()  # Azure compares names case-insensitively
    except ProviderLimitError:
        pass
    with contextlib.suppress(ProviderLimitError):
        assert GCP_NAMES.encode(a) != GCP_NAMES.encode(b)


@pytest.mark.parametrize(
    ("name", "azure", "gcp"),
    [
        ("db-password", "db-password", "db-password"),
        ("db_password", "db--upassword", "db_password"),
        ("prod/db_password", "prod--sdb--upassword", "prod--sdb_password"),
        ("API_KEY", "--capi--ukey", "API_KEY"),
        ("my-app.cfg", "my-app--dcfg", "my-app--dcfg"),
        ("a-/b", "a--m--sb", "a--m--sb"),
        ("MyApp", "--cm--ly--ca--lpp", "MyApp"),
        ("x-", "x-", "x-"),
    ],
)
def test_documented_examples(name: str, azure: str, gcp: str) -> None:
    assert AZURE_NAMES.encode(name) == azure
    assert GCP_NAMES.encode(name) == gcp
    assert AZURE_NAMES.decode(azure) == name
    assert AZURE_NAMES.decode(azure.upper()) == name  # Azure may hand back another case
    assert GCP_NAMES.decode(gcp) == name


def test_names_made_by_other_tools() -> None:
    # a plain Azure name created in the portal reads as its lower-case vault name
    assert AZURE_NAMES.decode("MySecret") == "mysecret"
    assert AZURE_NAMES.encode("mysecret").lower() == "mysecret"
    # names that are not the encoding of any vault name are left out (None)
    for foreign in ("Logging--LogLevel", "a--zb", "trailing--", "--", "a--m"):
        assert AZURE_NAMES.decode(foreign) is None, foreign
    assert GCP_NAMES.decode("has--qescape") is None
    assert IDENTITY.decode("bad name") is None


def test_too_long_after_mapping_is_a_clear_limit_error() -> None:
    name = "_" * 60  # 60 characters, 180 once escaped for Azure
    with pytest.raises(ProviderLimitError) as err:
        AZURE_NAMES.encode(name)
    assert "127" in str(err.value) and "Azure Key Vault" in str(err.value)
    assert GCP_NAMES.encode(name) == name
    with pytest.raises(ProviderLimitError):
        GCP_NAMES.encode("/".join(["a.b"] * 60))


def test_invalid_vault_names_are_refused() -> None:
    for bad in ("", "a//b", "../x", "sp ace"):
        with pytest.raises(InvalidNameError):
            AZURE_NAMES.encode(bad)
