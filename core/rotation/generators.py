"""Value generators for rotation, chosen per secret by a spec string.

Grammar (``[]`` optional, defaults shown)::

    password[:length=32,classes=ulds,min_per_class=1,exclude=CHARS,symbols=CHARS]
        classes: u upper, l lower, d digits, s symbols. Every class appears at least
        ``min_per_class`` times (``min_upper``, ``min_lower``, ``min_digits``,
        ``min_symbols`` override it per class); characters in ``exclude`` never appear.
    passphrase[:words=6,separator=-]
                                   words drawn uniformly from the EFF large word list
                                   (7,776 words: 12.9 bits each)
    token[:ENCODING[:NBYTES]]      ENCODING hex | base64 | urlsafe (default) | bytes,
                                   NBYTES of randomness (default 32); 'bytes' gives a
                                   bytes value, the others a str
    uuid                           a random (version 4) UUID string
    keypair:ed25519 | keypair:rsa[:BITS]
                                   a dict {algorithm, private_key (PKCS#8 PEM),
                                   public_key (SubjectPublicKeyInfo PEM),
                                   public_key_openssh}; BITS 2048 | 3072 (default) | 4096
    field:NAME:INNER               a dict secret: only field NAME gets INNER's new value,
                                   every other field (host, port, username) is kept
    alternating:NAME:INNER         a dict secret with ``username`` and
                                   ``alternate_username``: the two are swapped and field
                                   NAME gets INNER's new value (AWS "alternating users")

A spec may also be a dict: ``{"kind": "password", "length": 24}``,
``{"kind": "token", "encoding": "hex", "bytes": 16}``,
``{"kind": "field", "field": "password", "inner": "password:length=24"}``.

All randomness comes from :mod:`secrets` (key pairs from ``cryptography``, which uses
the operating system's CSPRNG through OpenSSL). No generator ever puts a value in an
exception message or ``repr``.
"""

from __future__ import annotations

import base64
import re
import secrets
import string
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import ValidationError

SecretValue = str | bytes | dict[str, Any]

CLASS_CHARS = {
    "u": string.ascii_uppercase,
    "l": string.ascii_lowercase,
    "d": string.digits,
    # punctuation without quotes, backslash, backtick and space: safe in shells and URLs'
    # userinfo after quoting, and unambiguous on screen
    "s": "!#$%&()*+,-./:;<=>?@[]^_{|}~",
}
CLASS_NAMES = {"u": "upper", "l": "lower", "d": "digits", "s": "symbols"}
MIN_KEYS = {f"min_{word}": cls for cls, word in CLASS_NAMES.items()}
"""Spec keys for a per-class minimum (``min_digits=2``) -> class letter."""
TOKEN_ENCODINGS = ("hex", "base64", "urlsafe", "bytes")
RSA_SIZES = (2048, 3072, 4096)
MIN_PASSWORD_LENGTH = 4
MAX_PASSWORD_LENGTH = 4096
MIN_TOKEN_BYTES = 8
MAX_TOKEN_BYTES = 65536


class Generator(Protocol):
    """Makes a new value for a secret from its current value."""

    @property
    def spec(self) -> str:
        """The canonical spec string (what the vault stores)."""
        ...

    def generate(self, current: SecretValue | None = None) -> SecretValue:
        """A fresh value. ``current`` is the CURRENT value (dict generators need it)."""
        ...


@dataclass(frozen=True)
class PasswordGenerator:
    """Random passwords from the chosen character classes, each at least
    ``min_per_class`` times, never using a character in ``exclude``.
    """

    length: int = 32
    classes: str = "ulds"
    min_per_class: int = 1
    exclude: str = ""
    symbols: str = CLASS_CHARS["s"]
    minimums: tuple[tuple[str, int], ...] = ()
    """Per-class minimums overriding ``min_per_class``: ``(("d", 2),)``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "minimums", tuple(sorted(dict(self.minimums).items())))
        if not MIN_PASSWORD_LENGTH <= self.length <= MAX_PASSWORD_LENGTH:
            raise ValidationError(
                f"password length must be {MIN_PASSWORD_LENGTH}..{MAX_PASSWORD_LENGTH}, "
                f"not {self.length}"
            )
        if (
            not self.classes
            or set(self.classes) - set(CLASS_CHARS)
            or len(set(self.classes)) != len(self.classes)
        ):
            raise ValidationError(
                f"password classes {self.classes!r}: use each of u (upper), l (lower), "
                "d (digits), s (symbols) at most once"
            )
        if self.min_per_class < 0 or any(n < 0 for _, n in self.minimums):
            raise ValidationError("password minimums must be 0 or more")
        for cls, _ in self.minimums:
            if cls not in self.classes:
                raise ValidationError(
                    f"password has a minimum for {CLASS_NAMES.get(cls, cls)!r}, "
                    "a class it does not use"
                )
        needed = sum(self.minimum_of(cls) for cls in self.classes)
        if needed > self.length:
            raise ValidationError(
                f"password length {self.length} is too short for the {needed} characters "
                "the class minimums ask for"
            )
        for cls in self.classes:
            if not self.alphabet_of(cls):
                raise ValidationError(
                    f"password class {CLASS_NAMES[cls]!r} has no characters left after exclude"
                )

    def minimum_of(self, cls: str) -> int:
        """How many characters of class ``cls`` every password has at least."""
        return dict(self.minimums).get(cls, self.min_per_class)

    def alphabet_of(self, cls: str) -> str:
        """The characters class ``cls`` may use (after ``exclude``)."""
        chars = self.symbols if cls == "s" else CLASS_CHARS[cls]
        return "".join(sorted(set(chars) - set(self.exclude)))

    @property
    def alphabet(self) -> str:
        """Every character a password may contain."""
        return "".join(self.alphabet_of(c) for c in self.classes)

    @property
    def spec(self) -> str:
        parts = [f"length={self.length}", f"classes={self.classes}"]
        parts.append(f"min_per_class={self.min_per_class}")
        if self.symbols != CLASS_CHARS["s"]:
            parts.append(f"symbols={self.symbols}")
        parts += [f"min_{CLASS_NAMES[cls]}={n}" for cls, n in self.minimums]
        if self.exclude:
            parts.append(f"exclude={self.exclude}")
        return "password:" + ",".join(parts)

    def generate(self, current: SecretValue | None = None) -> str:
        """A new password meeting every constraint."""
        chars = [
            secrets.choice(self.alphabet_of(cls))
            for cls in self.classes
            for _ in range(self.minimum_of(cls))
        ]
        alphabet = self.alphabet
        chars += [secrets.choice(alphabet) for _ in range(self.length - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        return "".join(chars)


@dataclass(frozen=True)
class TokenGenerator:
    """``nbytes`` random bytes, as hex, base64, URL-safe base64 (no padding) or raw bytes."""

    encoding: str = "urlsafe"
    nbytes: int = 32

    def __post_init__(self) -> None:
        if self.encoding not in TOKEN_ENCODINGS:
            raise ValidationError(
                f"token encoding {self.encoding!r}: use one of " + ", ".join(TOKEN_ENCODINGS)
            )
        if not MIN_TOKEN_BYTES <= self.nbytes <= MAX_TOKEN_BYTES:
            raise ValidationError(
                f"token size must be {MIN_TOKEN_BYTES}..{MAX_TOKEN_BYTES} bytes, not {self.nbytes}"
            )

    @property
    def spec(self) -> str:
        return f"token:{self.encoding}:{self.nbytes}"

    def generate(self, current: SecretValue | None = None) -> str | bytes:
        """A new token."""
        if self.encoding == "hex":
            return secrets.token_hex(self.nbytes)
        if self.encoding == "urlsafe":
            return secrets.token_urlsafe(self.nbytes)
        raw = secrets.token_bytes(self.nbytes)
        if self.encoding == "bytes":
            return raw
        return base64.b64encode(raw).decode("ascii")


MIN_WORDS = 3
MAX_WORDS = 64


def wordlist() -> tuple[str, ...]:
    """The EFF large word list shipped with the package (7,776 distinct words)."""
    global _WORDS
    if _WORDS is None:
        from importlib.resources import files

        text = files("core.rotation").joinpath("eff_large_wordlist.txt").read_text("utf-8")
        _WORDS = tuple(w for w in text.split("\n") if w and not w.startswith("#"))
    return _WORDS


_WORDS: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PassphraseGenerator:
    """``words`` words drawn independently and uniformly from :func:`wordlist`, joined by
    ``separator`` (diceware: 6 words give 77 bits)."""

    words: int = 6
    separator: str = "-"

    def __post_init__(self) -> None:
        if not MIN_WORDS <= self.words <= MAX_WORDS:
            raise ValidationError(
                f"passphrase words must be {MIN_WORDS}..{MAX_WORDS}, not {self.words}"
            )
        if len(self.separator) > 8 or any(c.isalpha() or c in ",:\n" for c in self.separator):
            raise ValidationError(
                "passphrase separator: at most 8 characters, no letters, commas, colons or newlines"
            )

    @property
    def spec(self) -> str:
        return f"passphrase:words={self.words},separator={self.separator}"

    def generate(self, current: SecretValue | None = None) -> str:
        """A new passphrase."""
        words = wordlist()
        return self.separator.join(secrets.choice(words) for _ in range(self.words))


@dataclass(frozen=True)
class UuidGenerator:
    """A random version-4 UUID (from ``secrets``), as its canonical string."""

    @property
    def spec(self) -> str:
        return "uuid"

    def generate(self, current: SecretValue | None = None) -> str:
        """A new UUID string."""
        return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))


@dataclass(frozen=True)
class KeyPairGenerator:
    """A fresh Ed25519 or RSA key pair as PEM strings in a dict."""

    algorithm: str = "ed25519"
    bits: int = 3072

    def __post_init__(self) -> None:
        if self.algorithm not in ("ed25519", "rsa"):
            raise ValidationError(f"keypair algorithm {self.algorithm!r}: use ed25519 or rsa")
        if self.algorithm == "rsa" and self.bits not in RSA_SIZES:
            raise ValidationError(
                f"RSA key size {self.bits}: use one of " + ", ".join(map(str, RSA_SIZES))
            )

    @property
    def spec(self) -> str:
        return "keypair:ed25519" if self.algorithm == "ed25519" else f"keypair:rsa:{self.bits}"

    def generate(self, current: SecretValue | None = None) -> dict[str, str]:
        """``{algorithm, private_key, public_key, public_key_openssh}``."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

        if self.algorithm == "ed25519":
            key: Any = ed25519.Ed25519PrivateKey.generate()
            name = "ed25519"
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=self.bits)
            name = f"rsa-{self.bits}"
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        public_key = key.public_key()
        public = public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")
        openssh = public_key.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ).decode("ascii")
        return {
            "algorithm": name,
            "private_key": private,
            "public_key": public,
            "public_key_openssh": openssh,
        }


@dataclass(frozen=True)
class FieldGenerator:
    """Rotate one field of a dict secret; every other field is kept as it is."""

    field: str
    inner: Generator

    def __post_init__(self) -> None:
        if not self.field:
            raise ValidationError("field generator: the field name is empty")

    @property
    def spec(self) -> str:
        return f"field:{self.field}:{self.inner.spec}"

    def generate(self, current: SecretValue | None = None) -> dict[str, Any]:
        """A copy of ``current`` with a new value in :attr:`field`."""
        if not isinstance(current, dict):
            raise ValidationError(
                f"generator {self.spec.split(':', 2)[0]}:{self.field}:... needs a dict "
                "secret (JSON object); this secret is not one"
            )
        new = dict(current)
        new[self.field] = self.inner.generate(current.get(self.field))
        return new


@dataclass(frozen=True)
class AlternatingGenerator:
    """AWS's alternating-users strategy for a dict secret holding ``username`` and
    ``alternate_username``: swap them and give field :attr:`field` a new value, so the
    role that clients use now keeps working until the next rotation.
    """

    field: str
    inner: Generator

    @property
    def spec(self) -> str:
        return f"alternating:{self.field}:{self.inner.spec}"

    def generate(self, current: SecretValue | None = None) -> dict[str, Any]:
        """A copy of ``current`` with the users swapped and a new :attr:`field`."""
        if not isinstance(current, dict) or not {"username", "alternate_username"} <= set(current):
            raise ValidationError(
                "generator alternating:... needs a dict secret with 'username' and "
                "'alternate_username' fields"
            )
        new = dict(current)
        new["username"], new["alternate_username"] = (
            current["alternate_username"],
            current["username"],
        )
        new[self.field] = self.inner.generate(current.get(self.field))
        return new


_KEYVAL = re.compile(r"([a-z_]+)=(.*)", re.DOTALL)


def parse_generator(spec: str | dict[str, Any] | Generator) -> Generator:
    """Turn a spec (string, dict or generator) into a generator; ValidationError if bad.

    ``parse_generator(g.spec)`` gives back an equal generator for every generator ``g``.
    """
    if not isinstance(spec, (str, dict)):
        if hasattr(spec, "generate") and hasattr(spec, "spec"):
            return spec
        raise ValidationError(f"A generator spec must be a string or dict, not {type(spec)}")
    if isinstance(spec, dict):
        spec = _dict_to_spec(spec)
    text = spec.strip()
    kind, _, rest = text.partition(":")
    kind = kind.lower()
    if kind == "password":
        return _parse_password(rest)
    if kind == "passphrase":
        return _parse_passphrase(rest)
    if kind == "token":
        parts = [p for p in rest.split(":") if p] if rest else []
        if len(parts) > 2:
            raise ValidationError(f"Bad token spec {text!r}: use token:ENCODING:NBYTES")
        encoding = parts[0].lower() if parts else "urlsafe"
        nbytes = _int(parts[1], "token size") if len(parts) > 1 else 32
        return TokenGenerator(encoding, nbytes)
    if kind == "uuid":
        if rest:
            raise ValidationError(f"Bad uuid spec {text!r}: 'uuid' takes no options")
        return UuidGenerator()
    if kind == "keypair":
        parts = rest.lower().split(":") if rest else ["ed25519"]
        if parts[0] == "ed25519" and len(parts) == 1:
            return KeyPairGenerator("ed25519")
        if parts[0] == "rsa" and len(parts) <= 2:
            return KeyPairGenerator(
                "rsa", _int(parts[1], "RSA key size") if len(parts) > 1 else 3072
            )
        raise ValidationError(f"Bad keypair spec {text!r}: use keypair:ed25519 or keypair:rsa:3072")
    if kind in ("field", "alternating"):
        name, sep, inner = rest.partition(":")
        if not sep or not name or not inner:
            raise ValidationError(f"Bad {kind} spec {text!r}: use {kind}:FIELD:INNER_SPEC")
        cls = FieldGenerator if kind == "field" else AlternatingGenerator
        return cls(name, parse_generator(inner))
    raise ValidationError(
        f"Unknown generator {kind!r}",
        hint="use password, passphrase, token, uuid, keypair, field or alternating "
        "(see docs/rotation.md)",
    )


def _parse_password(rest: str) -> PasswordGenerator:
    opts: dict[str, Any] = {}
    minimums: dict[str, int] = {}
    if rest:
        items = _split_password_options(rest)
        for item in items:
            if item.isdigit():
                opts["length"] = int(item)
                continue
            m = _KEYVAL.fullmatch(item)
            if not m:
                raise ValidationError(f"Bad password option {item!r}: use key=value")
            key, value = m.group(1), m.group(2)
            if key in ("length", "min_per_class"):
                opts[key] = _int(value, f"password {key}")
            elif key in ("classes", "exclude", "symbols"):
                opts[key] = value
            elif key in MIN_KEYS:
                minimums[MIN_KEYS[key]] = _int(value, f"password {key}")
            else:
                raise ValidationError(
                    f"Unknown password option {key!r}: use length, classes, min_per_class, "
                    "min_upper, min_lower, min_digits, min_symbols, exclude or symbols"
                )
    return PasswordGenerator(**opts, minimums=tuple(minimums.items()))


def _parse_passphrase(rest: str) -> PassphraseGenerator:
    opts: dict[str, Any] = {}
    for item in re.split(r",(?=[a-z_]+=)", rest) if rest else []:
        m = _KEYVAL.match(item)
        if not m or m.group(1) not in ("words", "separator"):
            raise ValidationError(f"Bad passphrase option {item!r}: use words=N or separator=S")
        key, value = m.group(1), m.group(2)
        opts[key] = _int(value, "passphrase words") if key == "words" else value
    return PassphraseGenerator(**opts)


def _split_password_options(rest: str) -> list[str]:
    """Split at commas that start a new ``key=`` item, so ``exclude=,;`` and symbol sets
    with commas keep them."""
    return [item for item in re.split(r",(?=[a-z_]+=)", rest) if item]


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValidationError(f"{what} must be a whole number, not {text!r}") from None


def _dict_to_spec(data: dict[str, Any]) -> str:
    kind = str(data.get("kind", "")).lower()
    if kind == "password":
        keys = ("length", "classes", "min_per_class", *MIN_KEYS, "symbols", "exclude")
        opts = [f"{k}={data[k]}" for k in keys if k in data]
        return "password" + (":" + ",".join(opts) if opts else "")
    if kind == "token":
        return f"token:{data.get('encoding', 'urlsafe')}:{data.get('bytes', 32)}"
    if kind == "uuid":
        return "uuid"
    if kind == "passphrase":
        return f"passphrase:words={data.get('words', 6)},separator={data.get('separator', '-')}"
    if kind == "keypair":
        algorithm = str(data.get("algorithm", "ed25519")).lower()
        return f"keypair:rsa:{data.get('bits', 3072)}" if algorithm == "rsa" else "keypair:ed25519"
    if kind in ("field", "alternating"):
        inner = data.get("inner", "password")
        inner_spec = _dict_to_spec(inner) if isinstance(inner, dict) else str(inner)
        return f"{kind}:{data.get('field', 'password')}:{inner_spec}"
    raise ValidationError(f"Unknown generator kind {kind!r} in generator dict")


PASSWORD_WORDS = ("password", "passwd", "passphrase", "pwd", "pass")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_HEX_RE = re.compile(r"(?:[0-9a-f]{2})+")


def guess_generator(name: str, current: SecretValue | None) -> Generator:
    """The generator used when none is set: guessed from the name (as the seed did) and
    from the shape of the current value, so the new value has the same type.

    - a dict with a ``password`` field: ``field:password:password:length=32``
    - bytes: ``token:bytes:N`` (N = current length, at least 16)
    - a name containing password/passwd/pwd/pass: ``password:length=32``
    - a UUID: ``uuid``; a lowercase hex string: ``token:hex:N``
    - anything else: ``token:urlsafe:32``

    Raises ValidationError for a dict without a ``password`` field (set a generator).
    """
    if isinstance(current, dict):
        if "password" in current:
            return FieldGenerator("password", PasswordGenerator())
        raise ValidationError(
            f"Cannot guess how to rotate the dict secret {name!r}",
            hint="set a generator, e.g. --generator field:api_key:token:urlsafe:32",
        )
    if isinstance(current, bytes):
        return TokenGenerator("bytes", max(16, min(len(current), MAX_TOKEN_BYTES)))
    lowered = name.lower()
    if any(word in lowered for word in PASSWORD_WORDS):
        return PasswordGenerator()
    if isinstance(current, str):
        if _UUID_RE.fullmatch(current):
            return UuidGenerator()
        if len(current) >= 2 * MIN_TOKEN_BYTES and _HEX_RE.fullmatch(current):
            return TokenGenerator("hex", min(len(current) // 2, MAX_TOKEN_BYTES))
    return TokenGenerator("urlsafe", 32)


def generator_for(
    name: str, spec: str | dict[str, Any] | None, current: SecretValue | None
) -> Generator:
    """The secret's stored generator, or a guess when none is set."""
    if spec:
        return parse_generator(spec)
    return guess_generator(name, current)
