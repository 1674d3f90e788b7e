"""Every generator's constraints, with Hypothesis over the spec space."""

from __future__ import annotations

import base64
import re
import string
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ValidationError
from core.rotation.generators import (
    CLASS_CHARS,
    AlternatingGenerator,
    FieldGenerator,
    PasswordGenerator,
    TokenGenerator,
    guess_generator,
    parse_generator,
)

CLASSES = st.lists(st.sampled_from("ulds"), min_size=1, max_size=4, unique=True).map("".join)
EXCLUDABLE = string.ascii_letters + string.digits + "!#$%&*+-./:;<=>?@^_~"


@st.composite
def password_specs(draw):
    classes = draw(CLASSES)
    min_per_class = draw(st.integers(0, 4))
    length = draw(st.integers(max(4, min_per_class * len(classes)), 80))
    exclude = draw(st.text(EXCLUDABLE, max_size=8))
    # keep at least one character in every chosen class
    for cls in classes:
        chars = CLASS_CHARS[cls]
        if set(chars) <= set(exclude):
            exclude = exclude.replace(chars[0], "")
    return classes, min_per_class, length, exclude


@settings(max_examples=200, deadline=None)
@given(password_specs())
def test_password_meets_every_constraint(spec):
    classes, min_per_class, length, exclude = spec
    text = f"password:length={length},classes={classes},min_per_class={min_per_class}"
    if exclude:
        text += f",exclude={exclude}"
    gen = parse_generator(text)
    value = gen.generate()
    assert isinstance(value, str)
    assert len(value) == length
    assert not set(value) & set(exclude)
    allowed = set("".join(CLASS_CHARS[c] for c in classes))
    assert set(value) <= allowed
    for cls in classes:
        assert sum(ch in CLASS_CHARS[cls] for ch in value) >= min_per_class
    # the stored spec gives back the same generator
    assert parse_generator(gen.spec) == gen


def test_the_brief_example_spec():
    gen = parse_generator("password:length=32,classes=ulds,exclude=0O1lI,min_per_class=2")
    for _ in range(50):
        value = gen.generate()
        assert len(value) == 32
        assert not set(value) & set("0O1lI")
        for cls in "ulds":
            assert sum(ch in CLASS_CHARS[cls] for ch in value) >= 2


def test_passwords_differ_and_use_the_whole_alphabet():
    gen = PasswordGenerator(length=64, classes="ld", min_per_class=0)
    values = {gen.generate() for _ in range(50)}
    assert len(values) == 50
    assert set("".join(values)) == set(string.ascii_lowercase + string.digits)


def test_exclude_can_hold_a_comma():
    gen = parse_generator("password:length=40,classes=s,exclude=,;")
    for _ in range(30):
        assert not set(gen.generate()) & {",", ";"}


@pytest.mark.parametrize(
    "bad",
    [
        "password:length=3",
        "password:length=8,classes=ulds,min_per_class=3",
        "password:classes=x",
        "password:classes=uu",
        "password:classes=d,exclude=0123456789",
        "password:length=ten",
        "password:colour=red",
    ],
)
def test_impossible_password_specs_are_rejected(bad):
    with pytest.raises(ValidationError):
        parse_generator(bad)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["hex", "base64", "urlsafe", "bytes"]), st.integers(8, 512))
def test_tokens(encoding, nbytes):
    gen = parse_generator(f"token:{encoding}:{nbytes}")
    value = gen.generate()
    if encoding == "hex":
        assert re.fullmatch(r"[0-9a-f]+", value) and len(value) == 2 * nbytes
        assert len(bytes.fromhex(value)) == nbytes
    elif encoding == "base64":
        assert len(base64.b64decode(value, validate=True)) == nbytes
    elif encoding == "urlsafe":
        assert re.fullmatch(r"[A-Za-z0-9_-]+", value)
        assert len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) == nbytes
    else:
        assert isinstance(value, bytes) and len(value) == nbytes
    assert parse_generator(gen.spec) == gen


def test_token_defaults_and_errors():
    assert parse_generator("token") == TokenGenerator("urlsafe", 32)
    assert parse_generator("token:hex") == TokenGenerator("hex", 32)
    for bad in ("token:base32:32", "token:hex:4", "token:hex:x", "token:hex:32:1"):
        with pytest.raises(ValidationError):
            parse_generator(bad)


def test_uuid():
    gen = parse_generator("uuid")
    values = {gen.generate() for _ in range(100)}
    assert len(values) == 100
    for value in values:
        parsed = uuid.UUID(value)
        assert parsed.version == 4 and str(parsed) == value


def test_ed25519_keypair_is_a_matching_pem_pair():
    value = parse_generator("keypair:ed25519").generate()
    private = serialization.load_pem_private_key(value["private_key"].encode(), None)
    public = serialization.load_pem_public_key(value["public_key"].encode())
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    signature = private.sign(b"hello")
    public.verify(signature, b"hello")  # raises if the halves do not match
    assert value["public_key_openssh"].startswith("ssh-ed25519 ")
    assert value["algorithm"] == "ed25519"


@pytest.mark.parametrize("bits", [2048, 3072])
def test_rsa_keypair(bits):
    value = parse_generator(f"keypair:rsa:{bits}").generate()
    private = serialization.load_pem_private_key(value["private_key"].encode(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == bits
    public = serialization.load_pem_public_key(value["public_key"].encode())
    assert public.public_numbers() == private.public_key().public_numbers()


def test_bad_keypair_specs():
    for bad in ("keypair:rsa:1024", "keypair:dsa", "keypair:ed25519:1"):
        with pytest.raises(ValidationError):
            parse_generator(bad)


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["host", "port", "username", "dbname", "sslmode"]),
        st.one_of(st.text(max_size=20), st.integers()),
    )
)
def test_field_generator_changes_only_its_field(other_fields):
    current = {**other_fields, "password": "old"}
    gen = parse_generator("field:password:password:length=24,classes=uld")
    new = gen.generate(current)
    assert {k: v for k, v in new.items() if k != "password"} == other_fields
    assert new["password"] != "old" and len(new["password"]) == 24
    assert current["password"] == "old"  # the input is not mutated
    assert parse_generator(gen.spec) == gen


def test_field_generator_with_a_token_inner_spec_keeps_its_colons():
    gen = parse_generator("field:api_key:token:hex:16")
    assert isinstance(gen, FieldGenerator) and gen.inner == TokenGenerator("hex", 16)
    new = gen.generate({"api_key": "x", "endpoint": "https://example.test"})
    assert re.fullmatch(r"[0-9a-f]{32}", new["api_key"])
    assert new["endpoint"] == "https://example.test"


def test_field_generator_needs_a_dict():
    with pytest.raises(ValidationError) as info:
        parse_generator("field:password:password").generate("a plain secret value")
    assert "a plain secret value" not in str(info.value)


def test_alternating_swaps_users_and_renews_the_password():
    gen = parse_generator("alternating:password:password:length=20,classes=ld")
    assert isinstance(gen, AlternatingGenerator)
    current = {
        "host": "db",
        "port": 5432,
        "username": "app_a",
        "alternate_username": "app_b",
        "password": "pw-a",
    }
    new = gen.generate(current)
    assert (new["username"], new["alternate_username"]) == ("app_b", "app_a")
    assert new["password"] != "pw-a" and len(new["password"]) == 20
    assert (new["host"], new["port"]) == ("db", 5432)
    again = gen.generate(new)
    assert again["username"] == "app_a"
    with pytest.raises(ValidationError):
        gen.generate({"username": "app_a", "password": "x"})


def test_dict_specs():
    assert parse_generator({"kind": "password", "length": 24}).length == 24
    assert parse_generator({"kind": "token", "encoding": "hex", "bytes": 16}) == TokenGenerator(
        "hex", 16
    )
    assert parse_generator(
        {"kind": "field", "field": "password", "inner": {"kind": "uuid"}}
    ).spec == ("field:password:uuid")
    assert parse_generator({"kind": "keypair", "algorithm": "rsa", "bits": 2048}).spec == (
        "keypair:rsa:2048"
    )
    with pytest.raises(ValidationError):
        parse_generator({"kind": "lottery"})


@pytest.mark.parametrize("bad", ["", "random", "field:password", "field::password", "uuid:4"])
def test_unknown_or_incomplete_specs(bad):
    with pytest.raises(ValidationError):
        parse_generator(bad)


@pytest.mark.parametrize(
    ("name", "current", "spec"),
    [
        ("db_password", "hunter2hunter2", "password:length=32,classes=ulds,min_per_class=1"),
        ("smtp/PASSWD", "x", "password:length=32,classes=ulds,min_per_class=1"),
        ("api_key", "sk-123456789", "token:urlsafe:32"),
        ("deploy_key", "abc", "token:urlsafe:32"),
        ("session_secret", "00112233445566778899aabbccddeeff", "token:hex:16"),
        ("client_id", "7d444840-9dc0-41d1-9e55-3c6b1c5b0a3f", "uuid"),
        ("signing_key", b"\x00" * 48, "token:bytes:48"),
        (
            "database_config",
            {"host": "h", "password": "p"},
            "field:password:password:length=32,classes=ulds,min_per_class=1",
        ),
    ],
)
def test_guess_from_name_and_shape_keeps_the_type(name, current, spec):
    gen = guess_generator(name, current)
    assert gen.spec == spec
    assert type(gen.generate(current)) is type(current)


def test_guess_refuses_a_dict_without_password():
    with pytest.raises(ValidationError) as info:
        guess_generator("cfg", {"api_key": "k"})
    assert "--generator" in str(info.value)


def test_repr_of_generators_holds_no_value():
    gen = parse_generator("field:password:password")
    value = gen.generate({"password": "x"})
    assert value["password"] not in repr(gen)
