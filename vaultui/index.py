"""The browser's in-memory index of secrets: names, metadata, sort order and filtering.

UI-free (no Textual) so it can be tested and benchmarked on its own. Built for 100,000
secrets:

- names arrive first (``Vault.names()`` is fast) and metadata later
  (``Vault.list()`` in a worker); rows without metadata yet show placeholders;
- the sort order is a list of names; filtering never re-sorts, it selects from that
  list with ``itertools.compress``;
- the fuzzy match is incremental: for each candidate the index keeps where the greedy
  (leftmost) match of the query so far ended, so one more typed character costs one
  ``str.find`` per remaining candidate, run by ``map`` in C (about 0.1 µs each: ~10 ms
  for the first character over 100,000 names, where a regex per name took 50-100 ms);
- a query that extends a cached one starts from its result; results are cached per
  query so backspace is instant;
- updates (``apply_changes``) replace lists rather than mutating them, so a filter
  running in a worker thread always sees a consistent snapshot.

Query syntax: plain text is a fuzzy (subsequence, case-insensitive) match on the name;
a word starting with ``#`` (or ``tag:``) filters by tag: ``#prod`` matches a tag key or
value containing "prod", ``#env=prod`` a tag ``env`` whose value contains "prod".
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import compress, repeat
from typing import Any

from core.controlchars import escape_controls
from core.service.types import SecretRecord

SORT_KEYS = ("name", "type", "description", "tags", "updated", "rotation", "sync")
LOCATE_SCAN = 4096
"""Lists up to this long are also searched one by one by :meth:`SecretIndex.locate`."""
"""Columns the browser can sort by, in the order ``s`` cycles through them."""


@dataclass(frozen=True)
class Query:
    """A parsed filter: the fuzzy name part and the tag terms."""

    text: str = ""
    tags: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: str, tag: str | None = None) -> Query:
        """Split ``raw`` into name text and tag terms; ``tag`` adds one more tag term."""
        words: list[str] = []
        tags: list[str] = []
        for word in raw.split():
            if word.startswith("#") and len(word) > 1:
                tags.append(word[1:].lower())
            elif word.lower().startswith("tag:") and len(word) > 4:
                tags.append(word[4:].lower())
            else:
                words.append(word)
        if tag:
            tags.append(tag.lower())
        return cls("".join(words).lower(), tuple(tags))

    @property
    def empty(self) -> bool:
        """True when nothing is filtered."""
        return not self.text and not self.tags


def _narrow(base: tuple[list[str], list[str], Any], ch: str) -> tuple[list[str], list[str], Any]:
    """The candidates of ``base`` whose names continue the match with ``ch``.

    ``base`` is (names, lower-cased names, where each one's match may continue): the
    third item is None at the start, a list of positions, or for the first character a
    ``str`` (just the character: its positions are found only if a second character
    comes, and then only in the names that remain). Greedy leftmost matching is exact
    for a subsequence test: taking each query character at its earliest position leaves
    the most room for the rest.
    """
    names, lows, starts = base
    if starts is None:  # first character: a containment test is all it needs
        keep = list(map(str.__contains__, lows, repeat(ch)))
        return list(compress(names, keep)), list(compress(lows, keep)), ch
    if isinstance(starts, str):
        starts = map(_ONE.__add__, map(str.find, lows, repeat(starts)))
    found = list(map(str.find, lows, repeat(ch), starts))
    keep = list(map(_NOT_FOUND.__ne__, found))
    return (
        list(compress(names, keep)),
        list(compress(lows, keep)),
        list(map(_ONE.__add__, compress(found, keep))),
    )


_NOT_FOUND = -1
_ONE = 1


def _continues(low: str, chars: str, pos: int) -> bool:
    """True if ``chars`` occur in order in ``low`` from index ``pos`` on (greedy)."""
    for ch in chars:
        pos = low.find(ch, pos) + 1
        if not pos:
            return False
    return True


def _part(base: tuple[list[str], list[str], Any], lo: int, hi: int) -> tuple[Any, Any, Any]:
    """Candidates ``lo:hi`` of ``base`` (see :func:`_narrow`)."""
    names, lows, starts = base
    if starts is not None and not isinstance(starts, str):
        starts = starts[lo:hi]
    return names[lo:hi], lows[lo:hi], starts


def _joined(parts: list[tuple[list[str], list[str], Any]]) -> tuple[list[str], list[str], Any]:
    """The narrowed parts of one candidate list, put back together in order."""
    names: list[str] = []
    lows: list[str] = []
    starts: Any = parts[0][2]
    if not isinstance(starts, str):
        starts = []
        for part in parts:
            starts += part[2]
    for part in parts:
        names += part[0]
        lows += part[1]
    return names, lows, starts


def tag_matches(tags: dict[str, str], term: str) -> bool:
    """True if a tag matches ``term`` ('key=value' or a substring of a key or value)."""
    if "=" in term:
        key, _, value = term.partition("=")
        return any(k.lower() == key and value in v.lower() for k, v in tags.items())
    return any(term in k.lower() or term in v.lower() for k, v in tags.items())


def format_tags(tags: dict[str, str]) -> str:
    """Tags as shown in the browser: ``env=prod team`` (sorted by key), control
    characters as visible escapes."""
    return escape_controls(" ".join(f"{k}={v}" if v else k for k, v in sorted(tags.items())))


def format_time(ts: float | None) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM`` in UTC (deterministic, sortable)."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def rotation_label(record: SecretRecord) -> str:
    """The rotation policy of a record as shown ('' when never rotated)."""
    policy = (record.rotation or {}).get("policy") or ""
    return "" if policy == "never" else str(policy)


def sync_label(record: SecretRecord) -> str:
    """Where the secret lives besides this vault: 'local' or the provider's state."""
    extra = record.extra or {}
    state = extra.get("sync_state")
    if state:
        return str(state)
    provider = extra.get("provider")
    if provider and provider != "local":
        return str(provider)
    return "local"


def _sort_value(key: str) -> Callable[[SecretRecord | None], Any]:
    if key == "type":
        return lambda r: r.type if r else ""
    if key == "description":
        return lambda r: r.description.lower() if r else ""
    if key == "tags":
        return lambda r: format_tags(r.tags).lower() if r else ""
    if key == "updated":
        return lambda r: (r.updated_ts or 0.0) if r else 0.0
    if key == "rotation":
        return lambda r: rotation_label(r) if r else ""
    if key == "sync":
        return lambda r: sync_label(r) if r else ""
    raise ValueError(f"unknown sort key {key!r}")


class SecretIndex:
    """Names and metadata of every live secret, sorted, with cached fuzzy filtering.

    Methods that change the index (``set_names``, ``set_records``, ``apply_changes``,
    ``set_sort``) must be called from one thread (the app's); ``filter`` may run in a
    worker thread and works on the snapshot it started with.
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.records: dict[str, SecretRecord | None] = {}
        self.sort_key = "name"
        self.reverse = False
        self.metadata_loaded = False
        self._names: list[str] = []  # sorted by name (the base order)
        self._order: list[str] = []  # current sort order
        self._low: list[str] | None = []  # _order lower-cased (None: not computed yet)
        # (order, {character: mask of the names containing it}) built by warm()
        self._first: tuple[list[str], dict[str, bytes]] | None = None
        self._cache: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        # (order, {name: its position in order}) for locate(), built by warm()
        self._ranks: tuple[list[str], dict[str, int]] | None = None
        # query text -> (matching names, the same lower-cased), to narrow from
        self._lows: dict[str, tuple[list[str], list[str], Any]] = {}
        self.generation = 0
        if names:
            self.set_names(list(names))

    # ------------------------------------------------------------------ contents

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self.records

    @property
    def order(self) -> Sequence[str]:
        """Every name in the current sort order."""
        return self._order

    def set_names(self, names: list[str]) -> None:
        """Replace the index with ``names`` (sorted); metadata becomes unknown."""
        names = sorted(names)
        self.records = dict.fromkeys(names)
        self._names = names
        self.metadata_loaded = False
        self._resort()

    def set_records(self, records: Iterable[SecretRecord]) -> None:
        """Replace the index with full records (the result of ``Vault.list()``)."""
        recs = {r.name: r for r in records if not r.deleted}
        self.records = dict(recs)
        self._names = sorted(recs)
        self.metadata_loaded = True
        self._resort()

    def apply_changes(
        self, changes: Iterable[SecretRecord], purged_uids: Iterable[str] = ()
    ) -> set[str]:
        """Apply records changed since the last refresh (tombstones remove a row).

        Returns the names that changed. Keeps the sort order without a full re-sort
        when sorted by name.
        """
        changed: set[str] = set()
        renamed: dict[str, str] = {}  # uid -> its new name
        records = dict(self.records)
        names = list(self._names)
        for rec in changes:
            changed.add(rec.name)
            if rec.deleted:
                if rec.name in records:
                    del records[rec.name]
                    i = bisect_left(names, rec.name)
                    if i < len(names) and names[i] == rec.name:
                        del names[i]
            else:
                if rec.name not in records:
                    insort(names, rec.name)
                    renamed[rec.uid] = rec.name
                elif getattr(records[rec.name], "uid", rec.uid) != rec.uid:
                    renamed[rec.uid] = rec.name  # moved over another secret (mv --force)
                records[rec.name] = rec
        gone = set(purged_uids)
        if renamed:
            # a record under a new name may be a renamed one: drop its old name's row
            for name, rec in list(records.items()):
                if rec is not None and renamed.get(rec.uid, name) != name:
                    del records[name]
                    names.remove(name)
                    changed.add(name)
        if gone:
            for name, rec in list(records.items()):
                if rec is not None and rec.uid in gone:
                    del records[name]
                    names.remove(name)
                    changed.add(name)
        if changed:
            self.records = records
            self._names = names
            self._resort()
        return changed

    def warm(self) -> None:
        """Prepare what the first keystroke needs (any thread): the lower-cased names
        and, per character in use, which names contain it. The first character typed
        then costs two ``compress`` passes (~3 ms at 100,000 names) instead of a
        containment test per name (~20 ms), and the lower-casing (~20 ms) is done too.
        Also each name's position, for :meth:`locate`. Needed again after each re-sort
        (a new sort key, or changes applied).
        """
        order = self._order
        low = self._low
        if low is None:
            low = [n.lower() for n in order]
        # names allow ~40 characters once lower-cased: 40 masks of one byte per name
        chars = set("".join(low))
        masks = {ch: bytes(map(str.__contains__, low, repeat(ch))) for ch in chars}
        ranks = {name: i for i, name in enumerate(order)}
        if order is self._order:  # not re-sorted meanwhile (from another thread)
            self._low = low
            self._first = (order, masks)
            self._ranks = (order, ranks)

    def locate(self, rows: Sequence[str], name: str) -> int | None:
        """Where ``name`` is in ``rows`` (None if it is not there).

        ``rows`` in the current sort order (:attr:`order`, or any result of
        :meth:`filter` or :meth:`first_matches`) are searched by bisection over the
        names' positions, prepared by :meth:`warm`: O(log n), where ``list.index`` scans
        a whole large result (~1-2 ms of a keystroke at 100,000 names) whenever the name
        is not in it. Before :meth:`warm`, or for a short list (up to
        :data:`LOCATE_SCAN` names) in which bisection did not find it, in case that list
        is in some other order, the names are compared one by one.
        """
        ranks = self._ranks
        if ranks is not None and ranks[0] is self._order:
            rank = ranks[1]
            target = rank.get(name)
            if target is not None:
                try:
                    i = bisect_left(rows, target, key=rank.__getitem__)
                except KeyError:  # a name the index does not have: not a current result
                    pass
                else:
                    if i < len(rows) and rows[i] == name:
                        return i
            if len(rows) > LOCATE_SCAN:
                return None
        try:
            return rows.index(name)
        except ValueError:
            return None

    @property
    def warmed(self) -> bool:
        """True once :meth:`warm` prepared the current order (first keystroke fast)."""
        first = self._first
        return first is not None and first[0] is self._order

    def record(self, name: str) -> SecretRecord | None:
        """The metadata of ``name`` if loaded."""
        return self.records.get(name)

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every ``key=value`` tag in use with how many secrets carry it, most used first."""
        counts: dict[str, int] = {}
        for rec in self.records.values():
            if rec is None:
                continue
            for k, v in rec.tags.items():
                label = f"{k}={v}" if v else k
                counts[label] = counts.get(label, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    # ------------------------------------------------------------------ sorting

    def set_sort(self, key: str, reverse: bool = False) -> None:
        """Sort by column ``key`` (one of :data:`SORT_KEYS`), ties broken by name."""
        if key not in SORT_KEYS:
            raise ValueError(f"unknown sort key {key!r}")
        self.sort_key, self.reverse = key, reverse
        self._resort()

    def _resort(self) -> None:
        if self.sort_key == "name":
            order = self._names[::-1] if self.reverse else list(self._names)
        else:
            value = _sort_value(self.sort_key)
            records = self.records
            # names are already sorted, and sort() is stable: ties stay in name order
            order = sorted(self._names, key=lambda n: value(records[n]), reverse=self.reverse)
        self._order = order
        self._low = None  # lower-cased on the first filter (off startup)
        self._first = None
        self._ranks = None
        self._cache = {}
        self._lows = {}
        self.generation += 1

    # ------------------------------------------------------------------ filtering

    def work_for(self, query: Query) -> int:
        """How many names filtering ``query`` must look at (the cached result of its
        longest prefix, or every name): lets the browser filter small cases inline."""
        if query.empty or (query.text, query.tags) in self._cache:
            return 0
        for n in range(len(query.text) - 1, 0, -1):
            prev = self._lows.get(query.text[:n])
            if prev is not None:
                return len(prev[0])
        return len(self._order)

    def first_matches(self, query: Query, limit: int, budget: int = 5000) -> list[str] | None:
        """The first ``limit`` names matching a name-only ``query``, in sort order: what a
        screen of rows needs, found by scanning the cached result of the query's longest
        prefix and stopping early. At most ``budget`` candidates are looked at; None when
        that was not enough, when the query has tag terms, or when no prefix is cached
        (then :meth:`filter` is the way). The full result is ``filter(query)``, whose
        first ``limit`` names are exactly these.
        """
        text = query.text
        if query.tags or not text:
            return None
        hit = self._cache.get((text, ()))
        if hit is not None:
            return hit[:limit]
        for n in range(len(text) - 1, 0, -1):
            prev = self._lows.get(text[:n])
            if prev is not None:
                break
        else:
            return self._first_from_masks(text, limit, budget)
        names, lows, starts = prev
        pending = starts if isinstance(starts, str) else ""
        rest = text[n:]
        out: list[str] = []
        chars = pending + rest
        for i in range(min(len(names), budget)):
            if _continues(lows[i], chars, 0 if pending else starts[i]):
                out.append(names[i])
                if len(out) >= limit:
                    return out
        return out if len(names) <= budget else None

    def _first_from_masks(self, text: str, limit: int, budget: int) -> list[str] | None:
        """:meth:`first_matches` with nothing cached: walk the warm mask of the first
        character (names that contain it) and test only those, in sort order."""
        first, low, names = self._first, self._low, self._order
        if first is None or first[0] is not names or low is None:
            return None
        mask = first[1].get(text[0])
        if mask is None:
            return []  # no name contains the first character
        out: list[str] = []
        pos = -1
        for _ in range(budget):
            pos = mask.find(1, pos + 1)
            if pos < 0:
                return out  # every candidate was looked at: this is the whole result
            if _continues(low[pos], text, 0):
                out.append(names[pos])
                if len(out) >= limit:
                    return out
        return None

    def filter(self, query: Query, cancelled: Callable[[], bool] | None = None) -> list[str] | None:
        """The names matching ``query``, in sort order (None if ``cancelled`` said so).

        Reuses the result of the longest cached query that this one extends. The list
        is shared with the index (its cache, or the order itself): read it, never change
        it.
        """
        for result in self.filter_steps(query):
            if result is not None:
                return result
            if cancelled is not None and cancelled():
                return None
        return None  # the order changed underneath (another thread re-sorted)

    def filter_steps(self, query: Query, chunk: int = 0) -> Iterator[list[str] | None]:
        """:meth:`filter` in steps: yields None after each step, then the result.

        A step is one typed character, or with ``chunk`` at most that many candidates of
        it, so a caller can spread a large search over several turns of the event loop
        and let keystrokes in between. Stops without a result if the index is re-sorted
        or reloaded meanwhile (its cached results would be stale).
        """
        if query.empty:
            yield self._order  # shared, as the cached results are (a copy is ~1 ms)
            return
        key = (query.text, query.tags)
        cache = self._cache
        hit = cache.get(key)
        if hit is not None:
            yield hit
            return
        if len(cache) > 64:
            cache.clear()
            self._lows.clear()
        order, low = self._order, self._low
        generation = self.generation
        if low is None:
            low = [n.lower() for n in order]
            if order is self._order:
                self._low = low
        if query.text:
            # start from the longest cached prefix of this query (or from everything)
            text = query.text
            done = 0
            base: tuple[list[str], list[str], Any] = (order, low, None)
            for n in range(len(text) - 1, 0, -1):
                prev = self._lows.get(text[:n])
                if prev is not None:
                    base, done = prev, n
                    break
            first = self._first
            if done == 0 and first is not None and first[0] is order:
                mask = first[1].get(text[0])
                if mask is None:  # no name contains it
                    base = ([], [], text[0])
                else:
                    base = (list(compress(order, mask)), list(compress(low, mask)), text[0])
                done = 1
                if len(text) > 1:
                    self._lows[text[:1]] = base
            for i in range(done, len(text)):
                yield None
                if self.generation != generation:
                    return
                if chunk and len(base[0]) > chunk:
                    parts = []
                    for lo in range(0, len(base[0]), chunk):
                        parts.append(_narrow(_part(base, lo, lo + chunk), text[i]))
                        yield None
                        if self.generation != generation:
                            return
                    base = _joined(parts)
                else:
                    base = _narrow(base, text[i])
                if i < len(text) - 1:
                    self._lows[text[: i + 1]] = base
            self._lows[text] = base
            names = base[0]
            if not query.tags:
                cache[key] = names
                yield names
                return
            cache[(query.text, ())] = names
        else:
            names = order
        yield None
        if self.generation != generation:
            return
        records = self.records
        out = []
        for name in names:
            rec = records.get(name)
            if rec is not None and all(tag_matches(rec.tags, t) for t in query.tags):
                out.append(name)
        cache[key] = out
        yield out
