"""``KeyedHash`` is the standard library's HMAC-SHA256, only with the key schedule
done once: known answers from RFC 4231 and agreement with :mod:`hmac` for every key
length that matters (empty, shorter than a block, exactly a block, longer than one)."""

from __future__ import annotations

import hmac

from hypothesis import given
from hypothesis import strategies as st

from core.vault.crypto import KeyedHash

# RFC 4231 test cases 1, 2, 6 and 7 (HMAC-SHA-256): a short key, a key shorter than the
# digest, and two keys longer than the 64-byte block (which are hashed first).
RFC4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size "
        b"data. The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]


def test_rfc4231_known_answers() -> None:
    for key, msg, expected in RFC4231:
        assert KeyedHash(key)(msg).hex() == expected


def test_every_key_length_around_the_block_size_agrees_with_hmac() -> None:
    msg = b"vaultui/name-hash"
    for length in [*range(0, 130), 200, 1000]:
        key = bytes((i * 7 + length) % 256 for i in range(length))
        assert KeyedHash(key)(msg) == hmac.digest(key, msg, "sha256"), length


@given(key=st.binary(max_size=300), msgs=st.lists(st.binary(max_size=300), max_size=5))
def test_agrees_with_hmac_and_keeps_no_state_between_calls(key: bytes, msgs: list[bytes]) -> None:
    keyed = KeyedHash(key)
    for msg in msgs:
        assert keyed(msg) == hmac.digest(key, msg, "sha256")


def test_repr_shows_no_key() -> None:
    assert "aa" not in repr(KeyedHash(b"\xaa" * 32)).lower()
