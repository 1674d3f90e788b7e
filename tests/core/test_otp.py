"""TOTP codes (RFC 6238) from otpauth:// URIs, pass-otp lines and KeePass totp fields."""

from __future__ import annotations

import base64

import pytest

from core.errors import NotFoundError, ValidationError
from core.otp import find_totp, from_text, from_uri

# RFC 6238 appendix B: the seeds are ASCII digits, 20/32/64 bytes long
SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(("t", "sha1", "sha256", "sha512"), VECTORS)
def test_rfc6238_appendix_b(t, sha1, sha256, sha512):
    for algorithm, want in (("SHA1", sha1), ("SHA256", sha256), ("SHA512", sha512)):
        uri = f"otpauth://totp/RFC?secret={_b32(SEEDS[algorithm])}&digits=8&algorithm={algorithm}"
        code, remaining = from_uri(uri).code(at=t)
        assert code == want, (algorithm, t)
        assert remaining == 30 - t % 30


def test_six_digits_other_period_and_short_seeds():
    # the usual 80-bit seed of authenticator apps, 6 digits, a 60 s period
    totp = from_uri(
        "otpauth://totp/Site:me%40x.org?secret=jbsw y3dp ehpk3pxp&period=60&issuer=Site"
    )
    assert (totp.digits, totp.period, totp.algorithm, totp.label) == (
        6,
        60,
        "SHA1",
        "Site:me@x.org",
    )
    code, remaining = totp.code(at=1111111111)
    assert len(code) == 6 and code.isdigit() and remaining == 60 - 1111111111 % 60
    # 8 digits of the same counter end with the 6-digit code
    eight = from_uri("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=60&digits=8")
    assert eight.code(at=1111111111)[0][-6:] == code
    # a bare base32 seed means 30 s, 6 digits, SHA-1
    assert (
        from_text("JBSWY3DPEHPK3PXP").code(at=59)[0]
        == from_uri("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP").code(at=59)[0]
    )


def test_where_a_secret_keeps_its_totp():
    uri = f"otpauth://totp/x?secret={_b32(SEEDS['SHA1'])}&digits=8"
    want = "94287082"
    # pass-otp: the password on the first line, the URI on another
    assert find_totp("p", f"hunter2\nlogin: me\n{uri}\n").code(at=59)[0] == want
    assert find_totp("p", uri.encode()).code(at=59)[0] == want
    # KeePass import: a dict with a totp field holding a URI or a base32 seed
    assert find_totp("k", {"password": "x", "totp": uri}).code(at=59)[0] == want
    seed_only = find_totp("k", {"totp": _b32(SEEDS["SHA1"])})
    assert seed_only.code(at=59)[0] == want[-6:]
    with pytest.raises(NotFoundError, match="no otpauth"):
        find_totp("p", "just a password")
    with pytest.raises(NotFoundError, match="no totp field"):
        find_totp("k", {"password": "x", "totp": ""})


@pytest.mark.parametrize(
    "uri",
    [
        "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1",
        "otpauth://totp/x?issuer=nosecret",
        "otpauth://totp/x?secret=not*base32!",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=5",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0",
        "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=abc",
    ],
)
def test_malformed_uris_are_clear_errors_that_never_quote_the_seed(uri):
    with pytest.raises(ValidationError) as info:
        from_uri(uri).code()
    assert "JBSWY3DPEHPK3PXP" not in str(info.value) and "base32!" not in str(info.value)
