"""Reversible mapping of vault secret names onto narrower provider alphabets.

Vault names use letters, digits and ``_ . - /``. HashiCorp Vault and AWS accept all of
them, so their names are used as they are. Azure Key Vault accepts only letters, digits
and ``-`` (1-127 characters) and compares names case-insensitively; GCP Secret Manager
accepts letters, digits, ``_`` and ``-`` (1-255 characters).

For those two, characters outside the alphabet become *dash escapes*: two dashes and a
code letter. Everything else stays as it is, so ``db-password`` (and on GCP
``db_password``) keeps its name and other tools can read it under that name.

=========  ======  =============================================================
escape     means   used by
=========  ======  =============================================================
``--s``    ``/``   Azure, GCP
``--d``    ``.``   Azure, GCP
``--u``    ``_``   Azure
``--m``    ``-``   Azure, GCP: a dash directly before another escape
``--c``    (case)  Azure: the letters that follow are upper case
``--l``    (case)  Azure: the letters that follow are lower case again
=========  ======  =============================================================

Examples (Azure / GCP): ``prod/db_password`` -> ``prod--sdb--upassword`` /
``prod--sdb_password``; ``API_KEY`` -> ``--capi--ukey`` / ``API_KEY``;
``my-app.cfg`` -> ``my-app--dcfg`` on both.

Decoding is exact: ``decode(encode(n)) == n`` for every valid vault name, and two
different vault names never share a provider name (on Azure, not even when compared
case-insensitively). A provider name that is not the canonical encoding of a valid vault
name (a secret created by another tool with a name vaultui cannot represent) decodes to
None and is left out of listings.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import InvalidNameError, ProviderLimitError

_ESCAPES = {"/": "s", ".": "d", "_": "u", "-": "m"}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}
_CAPS_ON, _CAPS_OFF = "c", "l"


@dataclass(frozen=True)
class NameMapping:
    """One provider's name alphabet and the reversible mapping onto it.

    ``native`` lists the punctuation the provider accepts as is; ``case_insensitive``
    escapes letter case (Azure); ``max_length`` is the provider's limit on the mapped
    name (None: the vault's own 256-character limit is the tighter one).
    """

    provider: str
    native: str = "_.-/"
    case_insensitive: bool = False
    max_length: int | None = None
    alphabet: str = "letters, digits and _ . - /"

    @property
    def identity(self) -> bool:
        """True when every vault name is used unchanged."""
        return set(self.native) >= set("_.-/") and not self.case_insensitive

    def encode(self, name: str) -> str:
        """The provider's name for vault name ``name``.

        Raises:
            InvalidNameError: ``name`` is not a valid vault name.
            ProviderLimitError: the mapped name is longer than the provider allows.
        """
        from core.vault.names import validate_name

        validate_name(name)
        mapped = name if self.identity else self._encode(name)
        if self.max_length is not None and len(mapped) > self.max_length:
            raise ProviderLimitError(
                f"Secret name {name!r} is {len(mapped)} characters as a {self.provider} "
                f"name; {self.provider} allows at most {self.max_length}",
                hint=f"{self.provider} names allow {self.alphabet}; characters outside "
                "that are written as 3-character escapes (see docs/providers.md)",
            )
        return mapped

    def _encode(self, name: str) -> str:
        tokens: list[str] = []
        upper = False
        for ch in name:
            if self.case_insensitive and ch.isalpha():
                if ch.isupper() and not upper:
                    tokens.append("--" + _CAPS_ON)
                    upper = True
                elif ch.islower() and upper:
                    tokens.append("--" + _CAPS_OFF)
                    upper = False
                tokens.append(ch.lower())
            elif ch.isalnum() or (ch in self.native and ch != "-"):
                tokens.append(ch)
            elif ch == "-":
                tokens.append("-")
            else:
                tokens.append("--" + _ESCAPES[ch])
        # a literal dash is written bare unless the next token starts with a dash too
        for i, tok in enumerate(tokens):
            if tok == "-" and i + 1 < len(tokens) and tokens[i + 1].startswith("-"):
                tokens[i] = "--" + _ESCAPES["-"]
        return "".join(tokens)

    def decode(self, mapped: str) -> str | None:
        """The vault name whose encoding is ``mapped``, or None if there is none."""
        from core.vault.names import validate_name

        if self.identity:
            try:
                return validate_name(mapped)
            except InvalidNameError:
                return None
        name = self._decode(mapped)
        if name is None:
            return None
        try:
            validate_name(name)
        except InvalidNameError:
            return None
        again = self._encode(name)
        same = again == mapped.lower() if self.case_insensitive else again == mapped
        return name if same else None

    def _decode(self, mapped: str) -> str | None:
        out: list[str] = []
        upper = False
        i, n = 0, len(mapped)
        while i < n:
            ch = mapped[i]
            if ch == "-":
                if i + 1 < n and mapped[i + 1] == "-":
                    if i + 2 >= n:
                        return None
                    code = mapped[i + 2].lower()
                    i += 3
                    if self.case_insensitive and code == _CAPS_ON:
                        upper = True
                    elif self.case_insensitive and code == _CAPS_OFF:
                        upper = False
                    elif code in _UNESCAPES:
                        out.append(_UNESCAPES[code])
                    else:
                        return None
                    continue
                out.append("-")
            elif ch.isascii() and ch.isalpha():
                if self.case_insensitive:
                    out.append(ch.upper() if upper else ch.lower())
                else:
                    out.append(ch)
            elif (ch.isascii() and ch.isdigit()) or ch in self.native:
                out.append(ch)
            else:
                return None
            i += 1
        return "".join(out)


IDENTITY = NameMapping("any")
AZURE_NAMES = NameMapping(
    "Azure Key Vault",
    native="-",
    case_insensitive=True,
    max_length=127,
    alphabet="letters, digits and -",
)
GCP_NAMES = NameMapping(
    "GCP Secret Manager",
    native="_-",
    max_length=255,
    alphabet="letters, digits, _ and -",
)
