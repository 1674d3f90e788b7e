"""Passphrase strength estimate and password generation for the app (UI-free).

The estimate is deliberately simple and conservative: entropy from the character
classes used and the length, minus penalties for repeats, sequences and very common
passwords. It guides a person choosing a vault passphrase; it is not a guarantee.

Generation uses ``core.rotation.generators`` (all randomness from :mod:`secrets`).
"""

from __future__ import annotations

import itertools
import math
import string
from dataclasses import dataclass

AMBIGUOUS = "Il1|O0o"
"""Characters that are easy to confuse on screen or paper; excluded on request."""

MIN_PASSPHRASE_LENGTH = 8
"""The app refuses shorter vault passphrases."""

_COMMON = frozenset(
    {
        "password",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "iloveyou",
        "letmein1",
        "admin123",
        "welcome1",
        "changeme",
        "trustno1",
        "sunshine",
        "football",
        "baseball",
    }
)

LABELS = ("very weak", "weak", "fair", "strong", "very strong")


@dataclass(frozen=True)
class Strength:
    """An estimate: ``bits`` of entropy, ``score`` 0..4 and its ``label``."""

    bits: float
    score: int

    @property
    def label(self) -> str:
        """'very weak' .. 'very strong'."""
        return LABELS[self.score]


def estimate_strength(passphrase: str) -> Strength:
    """Estimate how hard ``passphrase`` is to guess (never stores or logs it)."""
    if not passphrase:
        return Strength(0.0, 0)
    pool = 0
    if any(c in string.ascii_lowercase for c in passphrase):
        pool += 26
    if any(c in string.ascii_uppercase for c in passphrase):
        pool += 26
    if any(c in string.digits for c in passphrase):
        pool += 10
    if any(c in string.punctuation or c == " " for c in passphrase):
        pool += 33
    if any(ord(c) > 127 for c in passphrase):
        pool += 100
    # count only "new information": runs of one character and steps of +-1 add little
    effective = 1.0
    for prev, cur in itertools.pairwise(passphrase):
        if cur == prev or abs(ord(cur) - ord(prev)) == 1:
            effective += 0.25
        else:
            effective += 1.0
    bits = effective * math.log2(max(pool, 2))
    if passphrase.lower() in _COMMON:
        bits = min(bits, 10.0)
    if bits < 28:
        score = 0
    elif bits < 40:
        score = 1
    elif bits < 60:
        score = 2
    elif bits < 80:
        score = 3
    else:
        score = 4
    return Strength(round(bits, 1), score)


@dataclass(frozen=True)
class GeneratorOptions:
    """What the new-secret generator makes (the dialog's fields)."""

    kind: str = "password"  # password | token | uuid
    length: int = 24
    lower: bool = True
    upper: bool = True
    digits: bool = True
    symbols: bool = True
    avoid_ambiguous: bool = True

    def spec(self) -> str:
        """The generator spec understood by ``core.rotation.generators``."""
        if self.kind == "uuid":
            return "uuid"
        if self.kind == "token":
            return f"token:urlsafe:{max(self.length, 8)}"
        classes = "".join(
            c
            for c, on in (
                ("l", self.lower),
                ("u", self.upper),
                ("d", self.digits),
                ("s", self.symbols),
            )
            if on
        )
        spec = f"password:length={self.length},classes={classes or 'l'}"
        if self.avoid_ambiguous:
            spec += f",exclude={AMBIGUOUS}"
        return spec


def options_strength(options: GeneratorOptions) -> Strength:
    """The strength of what ``options`` make: bits of randomness, not of one sample."""
    from core.service.rotation import PasswordGenerator, parse_generator

    if options.kind == "uuid":
        bits = 122.0
    elif options.kind == "token":
        bits = max(options.length, 8) * 8.0
    else:
        gen = parse_generator(options.spec())
        assert isinstance(gen, PasswordGenerator)
        bits = gen.length * math.log2(max(len(gen.alphabet), 2))
    score = 0 if bits < 28 else 1 if bits < 40 else 2 if bits < 60 else 3 if bits < 80 else 4
    return Strength(round(bits, 1), score)


def generate(options: GeneratorOptions) -> str:
    """A new random value for ``options`` (raises ValidationError on impossible ones)."""
    from core.service.rotation import parse_generator

    value = parse_generator(options.spec()).generate()
    return value if isinstance(value, str) else str(value)
