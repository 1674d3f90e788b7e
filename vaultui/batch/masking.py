"""Masking secret values in a child's output (``run``).

The rule (also in docs/batch.md):

- Every injected value is masked, and for a dict (or list) every string inside it and
  the decimal form of every number inside it, plus the JSON text that was injected.
- Each of those strings is also masked in its JSON-escaped forms (``json.dumps`` with
  and without ``ensure_ascii``, quotes removed) and URL-encoded forms (``quote``,
  ``quote_plus``), since a child commonly prints values that way.
- Length rule: a string of at least :data:`MIN_ANYWHERE` bytes is masked wherever it
  appears; one of :data:`MIN_MASK` to :data:`MIN_ANYWHERE` - 1 bytes only as a whole
  token (not preceded or followed by an ASCII letter or digit: port ``5432`` is masked
  in ``:5432/`` but not in ``15432``); shorter ones are not masked, and ``run`` says so
  on stderr.
- stdout and stderr are read by one thread. A tail that could be the start of a value is
  held back until the next output resolves it; if the other stream's next output
  completes it (a value split across the two streams), the held part becomes the mask
  and the rest is dropped. A held tail is written after :data:`HOLD_SECONDS` without
  output (a prompt is not stuck); if the value then continues, the continuation is
  masked (the held prefix has been shown).
"""

from __future__ import annotations

import json
import os
import re
import selectors
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = b"<concealed by vaultui>"
MIN_MASK = 4
"""Values shorter than this (in bytes) are not masked: they would hide ordinary text."""
MIN_ANYWHERE = 8
"""Values shorter than this (in bytes) are masked only as whole tokens."""
HOLD_SECONDS = 0.2
"""How long a possible start of a value is held back when the child writes nothing more."""
_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def value_strings(value: Any) -> list[str]:
    """The strings a value shows as: itself, every string and number in a dict/list,
    and a dict/list's JSON forms. Booleans and None are not secret text."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, bool) or v is None:
            return
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, bytes):
            try:
                out.append(v.decode("utf-8"))
            except UnicodeDecodeError:
                return
        elif isinstance(v, int | float):
            out.append(str(v))
        elif isinstance(v, dict | list):
            out.append(json.dumps(v, ensure_ascii=False, separators=(",", ":")))
            out.append(json.dumps(v))
            for item in v.values() if isinstance(v, dict) else v:
                walk(item)

    walk(value)
    return out


def needles_for(values: Iterable[Any]) -> tuple[list[bytes], int]:
    """Byte strings to mask for ``values`` (every form, see the module docstring), and
    how many strings were too short to mask."""
    out: set[bytes] = set()
    short = 0
    for text in (s for v in values for s in value_strings(v)):
        forms = {
            text,
            json.dumps(text)[1:-1],
            json.dumps(text, ensure_ascii=False)[1:-1],
            quote(text, safe=""),
            quote_plus(text, safe=""),
        }
        raw = text.encode("utf-8")
        if len(raw) < MIN_MASK:
            short += bool(raw)
            continue
        out.update(f.encode("utf-8") for f in forms)
    return sorted(out, key=len, reverse=True), short


class Masker:
    """Replaces secret byte strings in one stream with :data:`MASK` (see the module
    docstring for the length rule).

    :meth:`feed` returns what can be written now: it holds back only a tail that could
    be the start of a value, so a value split across chunks is still masked and ordinary
    output is not delayed. :meth:`flush` returns the rest at end of stream;
    :meth:`idle` writes the held tail out when the child has gone quiet but keeps it in
    mind, so a value that continues afterwards has its rest masked.
    """

    def __init__(self, secrets: Iterable[bytes], replacement: bytes = MASK) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_MASK}, key=len, reverse=True)
        self._replacement = replacement
        self._short = frozenset(v for v in values if len(v) < MIN_ANYWHERE)
        parts = []
        for v in values:
            if v in self._short:
                # the look-behind after the literal: tried only where the value matched
                parts.append(
                    re.escape(v) + rb"(?<![A-Za-z0-9]" + re.escape(v) + rb")(?![A-Za-z0-9])"
                )
            else:
                parts.append(re.escape(v))
        self._rx = re.compile(b"|".join(parts)) if values else None
        self._by_first: dict[int, list[bytes]] = {}
        for v in values:
            self._by_first.setdefault(v[0], []).append(v)
        self._longest = len(values[0]) if values else 0
        self._buf = b""  # held back: not written yet
        self._ctx = b""  # the raw bytes written last (for look-behind and continuations)
        self._free = 0  # trailing bytes of _ctx written by idle() that may start a value

    @property
    def holding(self) -> bool:
        """True while a possible start of a value is held back."""
        return bool(self._buf)

    def _holdback(self, text: bytes, max_k: int) -> int:
        """Length of the longest tail of ``text`` (at most ``max_k``) that could still
        become a value: a proper prefix of one, or a whole short one whose right
        boundary is not known yet."""
        n = len(text)
        by_first = self._by_first
        for i in range(max(n - min(max_k, self._longest), 0), n):
            candidates = by_first.get(text[i])
            if candidates is None:
                continue
            tail = text[i:]
            k = n - i
            for v in candidates:
                if (len(v) > k or (len(v) == k and v in self._short)) and v.startswith(tail):
                    return k
        return 0

    def _mask(self, text: bytes, base: int, cut: int) -> tuple[bytes, int, int]:
        """Masked ``text[base:cut]`` (matches may begin in the free context before
        ``base``); returns it, where the output stopped (past a match, maybe > cut) and
        where the last match ended (``base`` if none)."""
        assert self._rx is not None
        pieces, pos = [], base
        for m in self._rx.finditer(text, base - self._free):
            if m.start() >= cut:
                break
            if m.end() <= pos:
                continue
            if m.start() > pos:
                pieces.append(text[pos : m.start()])
            pieces.append(self._replacement)
            pos = m.end()
        last = pos
        if pos < cut:
            pieces.append(text[pos:cut])
        return b"".join(pieces), max(pos, cut), last

    def feed(self, data: bytes) -> bytes:
        """Take a chunk of output; return the masked part that is safe to write."""
        if self._rx is None:
            return data
        text = self._ctx + self._buf + data
        base = len(self._ctx)
        k = self._holdback(text, len(text) - base + self._free)
        hold_start = len(text) - k
        out, cut, _last = self._mask(text, base, max(hold_start, base))
        free = base - hold_start if hold_start < base and cut == base else 0
        self._buf = text[cut:]
        self._ctx = text[max(cut - self._longest, 0) : cut]
        self._free = min(free, len(self._ctx))
        return out

    def idle(self) -> bytes:
        """The held tail, masked as if the stream ended here, written out; a value that
        continues later is still masked (its rest)."""
        if self._rx is None or not self._buf:
            return b""
        text = self._ctx + self._buf
        base = len(self._ctx)
        out, _cut, last = self._mask(text, base, len(text))
        self._ctx = text[-self._longest :]
        # what was written as it is, after the last mask, may start a value that continues
        self._free = min(len(text) - last, len(self._ctx))
        self._buf = b""
        return out

    def flush(self) -> bytes:
        """The held-back tail, masked (end of stream)."""
        out = self.idle() if self._rx is not None else b""
        self._ctx, self._free = b"", 0
        return out

    def complete_across(self, data: bytes) -> tuple[bytes, int]:
        """If the held tail plus the start of ``data`` (the other stream's next output)
        is a value, return (what to write on this stream: the mask, after any text
        before the value) and how many bytes of ``data`` belong to the value; else
        (b"", 0)."""
        held = self._buf
        for j in range(len(held)):
            candidates = self._by_first.get(held[j])
            if not candidates:
                continue
            part = held[j:]
            for v in candidates:  # longest first
                if len(v) > len(part) and v.startswith(part) and data.startswith(v[len(part) :]):
                    assert self._rx is not None
                    before = self._rx.sub(self._replacement.replace(b"\\", b"\\\\"), held[:j])
                    self._ctx = (self._ctx + held[:j] + v)[-self._longest :]
                    self._buf, self._free = b"", 0
                    return before + self._replacement, len(v) - len(part)
        return b"", 0


def pump_masked(sources: list[tuple[Any, Any]], needles: list[bytes]) -> None:
    """Copy each (pipe, destination) pair until every pipe ends, masking ``needles``
    with masking state shared by all pipes (see the module docstring)."""
    maskers = [Masker(needles) for _ in sources]
    writers = [_writer(dst) for _src, dst in sources]
    sel = selectors.DefaultSelector()
    for i, (src, _dst) in enumerate(sources):
        sel.register(src.fileno(), selectors.EVENT_READ, i)
    live = len(sources)
    try:
        while live:
            holding = any(m.holding for m in maskers)
            events = sel.select(HOLD_SECONDS if holding else None)
            if not events:
                for i, m in enumerate(maskers):
                    writers[i](m.idle())
                continue
            got: dict[int, bytes] = {}
            for key, _mask in events:
                i = key.data
                try:
                    data = os.read(key.fd, 65536)
                except OSError:
                    data = b""
                if data:
                    got[i] = data
                else:
                    sel.unregister(key.fd)
                    live -= 1
                    got.setdefault(i, b"")
            _round(maskers, writers, got)
    finally:
        sel.close()
        for src, _dst in sources:
            src.close()


def _round(maskers: list[Masker], writers: list[Any], got: dict[int, bytes]) -> None:
    """Mask one round of reads (``b""`` marks a stream's end) and write the results."""
    outs = dict.fromkeys(got, b"")
    ended = [i for i, data in got.items() if not data]
    # a start of a value held from an earlier round, completed by another stream's output
    for i, data in list(got.items()):
        if not data or maskers[i].holding:
            continue
        for j, m in enumerate(maskers):
            if j != i and m.holding:
                before, n = m.complete_across(data)
                if n:
                    outs[j] = outs.get(j, b"") + before
                    got[i] = data[n:]
                    break
    for i, data in got.items():
        if data:
            outs[i] += maskers[i].feed(data)
    # both streams read in one round: the start may be this round's tail of another one
    for j, m in enumerate(maskers):
        if not m.holding:
            continue
        for i in got:
            if i != j and outs[i]:
                before, n = m.complete_across(outs[i])
                if n:
                    outs[j] = outs.get(j, b"") + before
                    outs[i] = outs[i][n:]
                    break
    for i, data in outs.items():
        writers[i](data)
    for i in ended:
        writers[i](maskers[i].flush())


def _writer(dst: Any) -> Any:
    out = getattr(dst, "buffer", None)

    def write(data: bytes) -> None:
        if not data:
            return
        try:
            if out is None:
                dst.write(data.decode("utf-8", "replace"))
                dst.flush()
            else:
                out.write(data)
                out.flush()
        except (BrokenPipeError, ValueError):
            pass

    return write
