"""Finding stored secret values in files (``vaultui --batch scan``).

All values are compiled into one regular expression shaped like a trie (shared
prefixes written once), so a file is searched in a single pass whatever the number of
secrets: 10,000 values cost about what a few do. Reports carry the file, the line and
the secret's name (and dict field), never the value.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", ".tox"})
DEFAULT_MAX_SIZE = 10 * 1024 * 1024


@dataclass(frozen=True)
class Hit:
    """One stored value found in a file (no value)."""

    path: str
    line: int
    secret: str
    field: str | None = None


def trie_pattern(words: Iterable[bytes]) -> bytes:
    """A regex matching any of ``words`` (longest first at each position), as a trie."""
    root: dict = {}
    for w in words:
        node = root
        for b in w:
            node = node.setdefault(b, {})
        node[-1] = True
    return _node_pattern(root)


def _node_pattern(node: dict) -> bytes:
    # Walk single-child chains iteratively (values can be thousands of bytes long);
    # recurse only where the trie branches.
    out = b""
    while True:
        children = [k for k in node if k != -1]
        ends = -1 in node
        if not children:
            return out
        if len(children) == 1 and not ends:
            b = children[0]
            out += re.escape(bytes([b]))
            node = node[b]
            continue
        alts = [re.escape(bytes([b])) + _node_pattern(node[b]) for b in sorted(children)]
        body = alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"
        return out + (b"(?:" + body + b")?" if ends else body)


class ValueMatcher:
    """Finds any of many byte values in data; maps each match back to its secrets."""

    def __init__(self, values: Iterable[tuple[str, str | None, bytes]]) -> None:
        self.owners: dict[bytes, list[tuple[str, str | None]]] = {}
        for name, field, raw in values:
            self.owners.setdefault(raw, []).append((name, field))
        self._rx = re.compile(trie_pattern(self.owners)) if self.owners else None

    def __len__(self) -> int:
        return len(self.owners)

    def search(self, data: bytes, path: str) -> Iterator[Hit]:
        """Every hit in ``data`` with its 1-based line number."""
        if self._rx is None:
            return
        line, pos = 1, 0
        for m in self._rx.finditer(data):
            line += data.count(b"\n", pos, m.start())
            pos = m.start()
            for name, field in self.owners.get(m.group(0), ()):
                yield Hit(path, line, name, field)


def iter_files(paths: Iterable[Path], excludes: Iterable[str] = ()) -> Iterator[Path]:
    """Regular files under ``paths`` (folders walked, symlinks not followed, VCS and
    dependency folders skipped), minus those matching an ``excludes`` glob."""
    patterns = list(excludes)

    def excluded(p: Path) -> bool:
        text = str(p)
        return any(fnmatch.fnmatch(text, pat) or fnmatch.fnmatch(p.name, pat) for pat in patterns)

    for root in paths:
        if root.is_file():
            if not excluded(root):
                yield root
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(
                d for d in dirs if d not in SKIP_DIRS and not excluded(Path(folder, d))
            )
            for name in sorted(files):
                p = Path(folder, name)
                if not p.is_symlink() and p.is_file() and not excluded(p):
                    yield p


def scan(
    matcher: ValueMatcher,
    paths: Iterable[Path],
    *,
    excludes: Iterable[str] = (),
    max_size: int = DEFAULT_MAX_SIZE,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Hit], int, list[str]]:
    """Search every file; returns (hits, files scanned, skipped files with reasons)."""
    hits: list[Hit] = []
    skipped: list[str] = []
    count = 0
    for path in iter_files(paths, excludes):
        try:
            size = path.stat().st_size
            if size > max_size:
                skipped.append(f"{path} (larger than {max_size} bytes)")
                continue
            data = path.read_bytes()
        except OSError as exc:
            skipped.append(f"{path} ({exc.strerror})")
            continue
        count += 1
        hits.extend(matcher.search(data, str(path)))
        if progress is not None:
            progress(count)
    return hits, count, skipped
