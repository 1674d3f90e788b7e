"""``vaultui --batch generate``: the rotation generators on their own, printed."""

from __future__ import annotations

import math
import string
import uuid

from core.rotation.generators import CLASS_CHARS, parse_generator, wordlist
from tests.batch.conftest import run_vaultui


def test_password_default_has_every_class_and_length(cli):
    seen = set()
    for _ in range(20):
        r = cli("--batch", "generate", "password")
        assert r.code == 0, r.err
        pw = r.out.rstrip("\n")
        assert len(pw) == 24
        for cls in ("u", "l", "d", "s"):
            assert any(c in CLASS_CHARS[cls] for c in pw)
        seen.add(pw)
    assert len(seen) == 20  # never repeats


def test_password_no_symbols_and_min_digits(cli):
    r = cli(
        "--batch", "generate", "password", "--length", "12", "--no-symbols", "--min-digits", "6"
    )
    assert r.code == 0, r.err
    pw = r.out.rstrip("\n")
    assert len(pw) == 12
    assert set(pw) <= set(string.ascii_letters + string.digits)
    assert sum(c.isdigit() for c in pw) >= 6


def test_password_impossible_rules_are_a_usage_error(cli):
    r = cli("--batch", "generate", "password", "--length", "8", "--min-digits", "9")
    assert r.code == 2
    assert "too short" in r.err
    assert r.out == ""


def test_passphrase_words_from_the_eff_list(cli):
    words = wordlist()
    assert len(words) == len(set(words)) == 7776
    r = cli("--batch", "generate", "passphrase", "--words", "7", "--separator", ".")
    assert r.code == 0, r.err
    parts = r.out.rstrip("\n").split(".")
    assert len(parts) == 7
    assert all(p in set(words) for p in parts)
    # 6 words from 7,776 carry more than 77 bits
    assert 6 * math.log2(len(words)) > 77


def test_token_encodings_and_sizes(cli):
    r = cli("--batch", "generate", "token", "--bytes", "16", "--encoding", "hex")
    assert r.code == 0
    tok = r.out.rstrip("\n")
    assert len(tok) == 32 and bytes.fromhex(tok)
    r = cli("--batch", "generate", "token")
    tok = r.out.rstrip("\n")
    assert len(tok) == 43 and set(tok) <= set(string.ascii_letters + string.digits + "-_")
    r = cli("--batch", "generate", "token", "--bytes", "30", "--encoding", "base64")
    assert len(r.out.rstrip("\n")) == 40


def test_uuid_is_version_4(cli):
    r = cli("--batch", "generate", "uuid")
    assert uuid.UUID(r.out.strip()).version == 4


def test_generated_value_stores_through_a_pipe(home):
    gen = run_vaultui(home, "--batch", "generate", "passphrase")
    assert gen.code == 0
    stored = run_vaultui(home, "--batch", "set", "wifi", stdin=gen.outb)
    assert stored.code == 0, stored.err
    assert run_vaultui(home, "--batch", "get", "wifi").outb == gen.outb


def test_specs_round_trip_for_rotation():
    for spec in (
        "password:length=20,classes=uld,min_per_class=1,min_digits=4",
        "passphrase:words=5,separator=_",
    ):
        g = parse_generator(spec)
        assert parse_generator(g.spec) == g
    assert (
        sum(c.isdigit() for c in parse_generator("password:length=10,min_digits=7").generate()) >= 7
    )


def test_entropy_sanity_every_character_and_word_is_drawn():
    from collections import Counter

    gen = parse_generator("password:length=24")
    counts = Counter("".join(gen.generate() for _ in range(400)))
    # 9,600 draws over 87 characters: each expected ~110 times; none missing, none hogging
    assert set(counts) == set(gen.alphabet)
    assert max(counts.values()) < 3 * min(counts.values())
    spec = "passphrase:separator=."
    words = [w for _ in range(100) for w in parse_generator(spec).generate().split(".")]
    assert len(set(words)) > 560  # 600 draws from 7,776 words: about 577 distinct
