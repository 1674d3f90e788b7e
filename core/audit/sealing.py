"""Secret names out of the audit log's plain bytes: sealing on write, opening on read.

The vault file hides secret names; the audit trail must not give them back. Every
field of a line that can carry a name is written sealed under keys derived (HKDF-SHA256)
from the audit key, which is itself derived from the vault's data key:

==================  ====================================================================
``secret_name``     ``"enc:n1:<base64url>"``: AES-256-SIV of the name padded to a multiple
                    of 16 bytes. Deterministic on purpose: one name always gives one
                    token, so the query index still groups, counts and finds events by
                    name (it stores the token; a query seals the name it looks for),
                    and the alert engine still sees bursts per secret. It reveals only
                    which lines concern the same secret, and the name's length to 16
                    bytes, never the name.
``error_message``   ``"enc:t1:<base64url>"``: AES-256-GCM with a random 96-bit nonce.
caller extras       every field beyond the standard ones (alert rule and message, counts,
                    choices ...) goes, as one JSON object, into ``sealed_extra`` (same
                    form as ``error_message``).
==================  ====================================================================

Timestamps, operation, user, success, ip address, source, pid, host and version stay in
clear: the seed's shell recipes (``grep '"success": false'``) and the index need them.

The hash chain is computed over the bytes as written (sealed), so verifying the chain
needs no sealing key. Lines written before sealing existed keep their clear names and
are read and verified unchanged.

Lines written without a key (a failed unlock, a locked app) cannot be sealed: they carry
no name (``secret_name`` null, ``name_withheld`` true) and the name is cut out of their
error message and string extras.

Reading: :meth:`AuditFieldSealer.open_event` gives back the clear event; without a key (or with
another vault's key) sealed fields read as :data:`PLACEHOLDER`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
from collections.abc import Mapping
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.audit.events import RESERVED

NAME_PREFIX = "enc:n1:"
TEXT_PREFIX = "enc:t1:"
PLACEHOLDER = "<encrypted>"
"""What a sealed field reads as when no key (or another vault's key) is at hand."""
WITHHELD = "<name>"
"""What a secret's name is replaced with inside a keyless line's texts."""
EXTRA_FIELD = "sealed_extra"
WITHHELD_FIELD = "name_withheld"

_CLEAR_FIELDS = RESERVED
"""Fields that never go into ``sealed_extra`` (standard, trailer and bookkeeping)."""

_NAME_AD = [b"vaultui-audit-name-v1"]
_TEXT_AD = b"vaultui-audit-text-v1"
_CACHE_MAX = 50_000


def _hkdf(key: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _pad(data: bytes) -> bytes:
    # ISO/IEC 7816-4: 0x80 then zeros to a multiple of 16, so lengths leak only coarsely
    data += b"\x80"
    return data + b"\x00" * (-len(data) % 16)


def _unpad(data: bytes) -> bytes | None:
    body = data.rstrip(b"\x00")
    return body[:-1] if body.endswith(b"\x80") else None


def is_sealed(value: object) -> TypeGuard[str]:
    """True if ``value`` is a sealed name or text token."""
    return isinstance(value, str) and (
        value.startswith(NAME_PREFIX) or value.startswith(TEXT_PREFIX)
    )


class AuditFieldSealer:
    """Seals and opens the name-bearing fields of audit lines under one audit key.

    Thread-safe. Name tokens are cached both ways (a trail names a bounded set of
    secrets), so sealing or opening a name costs a dict lookup after the first time.
    Opening never raises: a token that does not open (tampered, another key) is None.
    """

    def __init__(self, audit_key: bytes) -> None:
        self._siv = AESSIV(_hkdf(audit_key, b"vaultui/audit/names/v1", 64))
        self._gcm = AESGCM(_hkdf(audit_key, b"vaultui/audit/texts/v1", 32))
        self._tokens: dict[str, str] = {}
        self._names: dict[str, str | None] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ names

    def seal_name(self, name: str) -> str:
        """The deterministic token for ``name`` (equal names, equal tokens)."""
        token = self._tokens.get(name)
        if token is None:
            token = NAME_PREFIX + _b64(self._siv.encrypt(_pad(name.encode("utf-8")), _NAME_AD))
            self._remember(name, token)
        return token

    def open_name(self, token: str) -> str | None:
        """The name sealed in ``token``, or None if it does not open under this key."""
        if token in self._names:
            return self._names[token]
        name: str | None = None
        raw = _unb64(token[len(NAME_PREFIX) :]) if token.startswith(NAME_PREFIX) else None
        if raw is not None:
            try:
                plain = _unpad(self._siv.decrypt(raw, _NAME_AD))
                name = plain.decode("utf-8") if plain is not None else None
            except (InvalidTag, ValueError):
                name = None
        if name is None:
            with self._lock:
                if len(self._names) >= _CACHE_MAX:
                    self._names.clear()
                self._names[token] = None
        else:
            self._remember(name, token)
        return name

    def _remember(self, name: str, token: str) -> None:
        with self._lock:
            if len(self._tokens) >= _CACHE_MAX:
                self._tokens.clear()
                self._names.clear()
            self._tokens[name] = token
            self._names[token] = name

    # ------------------------------------------------------------------ texts

    def seal_text(self, text: str) -> str:
        """A randomised token for ``text`` (error messages, extra fields)."""
        nonce = os.urandom(12)
        return TEXT_PREFIX + _b64(nonce + self._gcm.encrypt(nonce, text.encode("utf-8"), _TEXT_AD))

    def open_text(self, token: str) -> str | None:
        """The text sealed in ``token``, or None if it does not open under this key."""
        if not token.startswith(TEXT_PREFIX):
            return None
        raw = _unb64(token[len(TEXT_PREFIX) :])
        if raw is None or len(raw) < 12 + 16:
            return None
        try:
            return self._gcm.decrypt(raw[:12], raw[12:], _TEXT_AD).decode("utf-8")
        except (InvalidTag, ValueError):
            return None

    # ------------------------------------------------------------------ lines

    def seal_body(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of an event body with its name-bearing fields sealed (key order kept:
        standard fields first, then ``sealed_extra`` in place of the extras)."""
        out: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for k, v in body.items():
            if k not in _CLEAR_FIELDS:
                extra[k] = v
            elif k == "secret_name" and isinstance(v, str):
                out[k] = self.seal_name(v)
            elif k == "error_message" and isinstance(v, str):
                out[k] = self.seal_text(v)
            else:
                out[k] = v
        if extra:
            out[EXTRA_FIELD] = self.seal_text(json.dumps(extra))
        return out

    def open_event(self, event: dict[str, Any], *, keep_sealed: bool = False) -> dict[str, Any]:
        """The event as it was logged: sealed fields opened. A field that does not open
        reads as :data:`PLACEHOLDER` (or stays as written with ``keep_sealed``)."""
        return open_event(event, self, keep_sealed=keep_sealed)


def open_event(
    event: dict[str, Any], sealer: AuditFieldSealer | None, *, keep_sealed: bool = False
) -> dict[str, Any]:
    """``event`` with its sealed fields opened by ``sealer`` (None: no key). Lines with
    clear fields (written before sealing, or keyless) come back unchanged."""
    name = event.get("secret_name")
    error = event.get("error_message")
    extra = event.get(EXTRA_FIELD)
    if not (is_sealed(name) or is_sealed(error) or extra is not None):
        return event
    out = dict(event)
    if is_sealed(name):
        clear = sealer.open_name(name) if sealer is not None else None
        out["secret_name"] = clear if clear is not None else (name if keep_sealed else PLACEHOLDER)
    if is_sealed(error):
        clear = sealer.open_text(error) if sealer is not None else None
        out["error_message"] = (
            clear if clear is not None else (error if keep_sealed else PLACEHOLDER)
        )
    if isinstance(extra, str):
        text = sealer.open_text(extra) if sealer is not None else None
        fields = _json_object(text)
        if fields is not None:
            del out[EXTRA_FIELD]
            for k, v in fields.items():
                if k not in _CLEAR_FIELDS:
                    out[k] = v
        elif not keep_sealed:
            out[EXTRA_FIELD] = PLACEHOLDER
    return out


def _json_object(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def withhold_name(body: Mapping[str, Any]) -> dict[str, Any]:
    """A keyless line's body: no ``secret_name`` (``name_withheld`` says there was one)
    and the name cut out of the error message and every string extra."""
    name = body.get("secret_name")
    if not isinstance(name, str) or not name:
        return dict(body)
    out: dict[str, Any] = {}
    for k, v in body.items():
        if k == "secret_name":
            out[k] = None
            out[WITHHELD_FIELD] = True
        elif k in ("timestamp", "operation", "success", "pid", "version", "seq", "kid"):
            out[k] = v
        else:
            out[k] = _cut(v, name)
    # name_withheld belongs after the standard fields, where extras go
    flag = out.pop(WITHHELD_FIELD)
    out[WITHHELD_FIELD] = flag
    return out


def _cut(value: Any, name: str) -> Any:
    if isinstance(value, str):
        return value.replace(name, WITHHELD)
    if isinstance(value, list):
        return [_cut(v, name) for v in value]
    if isinstance(value, dict):
        return {k: _cut(v, name) for k, v in value.items()}
    return value


def seal_or_withhold(body: Mapping[str, Any], sealer: AuditFieldSealer | None) -> dict[str, Any]:
    """What a body becomes on disk: sealed with a key, name withheld without one."""
    return sealer.seal_body(body) if sealer is not None else withhold_name(body)
