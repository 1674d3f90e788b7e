"""Chain verification: walk every segment oldest first and name the first broken line.

What each kind of damage looks like, and what the report says:

========== ==============================================================================
edited     a line's chain value does not match its bytes (changed, or forged without key)
deleted    seq jumps forward: lines are missing before this one (also a removed segment)
inserted   a line posing as seq N does not verify, while a later genuine line N does
reordered  a line shows up after lines that came later in the original order
duplicate  a genuine line appears twice
truncated  the head record names a later line than the log ends with
foreign    a JSON line vaultui did not write (no chain fields)
corrupt    a line that is not JSON at all
wrong-key  a line keyed by another vault's audit key
torn       an unterminated or repaired partial line from a crash: a warning, not a break
========== ==============================================================================

Keyless lines (written while the vault was locked) are hash-chained: changes to them are
caught at the next keyed line, which authenticates everything before it.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.audit.events import GENESIS, chain_value, key_id, parse_trailer
from core.audit.files import Head, LogFiles
from core.text import plural

MAX_ISSUES = 200
UNKNOWN = "?"
_HISTORY = 4096

ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class Issue:
    """One finding: where (file name, 1-based line number, seq if known) and what."""

    file: str
    line: int
    kind: str
    reason: str
    seq: int | None = None
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind}: {self.reason}"


@dataclass
class VerifyReport:
    """The result of :meth:`AuditLog.verify`. ``ok`` is False when any error was found
    (warnings, such as a line torn by a crash, keep it True)."""

    ok: bool = True
    lines: int = 0
    events: int = 0
    files: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    keyed: bool = True
    unchecked: int = 0
    """Keyed lines whose MAC could not be checked because no key was given."""
    last_seq: int = 0
    head_seq: int | None = None
    cursor: VerifyCursor | None = None

    @property
    def first_break(self) -> Issue | None:
        """The first error (the line the chain first breaks at), or None."""
        return self.issues[0] if self.issues else None

    def summary(self) -> str:
        """One line for humans: 'chain ok: ...' or 'chain broken at FILE:LINE: ...'."""
        if self.issues:
            b = self.issues[0]
            more = f" (+{len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
            return f"chain broken at {b.file} line {b.line}: {b.kind}: {b.reason}{more}"
        note = ""
        if self.warnings:
            note = f", {plural(len(self.warnings), 'warning')}"
        if not self.keyed and self.unchecked:
            note += ", MACs not checked (no key)"
        return (
            f"chain ok: {plural(self.events, 'event')} in {plural(len(self.files), 'file')}{note}"
        )

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> VerifyReport:
        """Rebuild a report from :meth:`to_dict` output (plus ``cursor`` if present)."""
        cursor = doc.get("cursor")
        return cls(
            ok=bool(doc["ok"]),
            lines=int(doc["lines"]),
            events=int(doc["events"]),
            files=list(doc["files"]),
            issues=[Issue(**i) for i in doc["issues"]],
            warnings=[Issue(**i) for i in doc["warnings"]],
            keyed=bool(doc["keyed"]),
            unchecked=int(doc["unchecked"]),
            last_seq=int(doc["last_seq"]),
            head_seq=doc.get("head_seq"),
            cursor=VerifyCursor(**cursor) if cursor else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the shape `vaultui --batch audit verify --json` prints)."""
        doc = asdict(self)
        doc.pop("cursor", None)
        doc["first_break"] = asdict(self.issues[0]) if self.issues else None
        doc["summary"] = self.summary()
        return doc


@dataclass
class VerifyCursor:
    """Where a verification stopped, so the next one can continue from there (the pane
    re-checks only what was appended)."""

    ident: str
    offset: int
    line: int
    state: dict[str, Any]


class ChainChecker:
    """Feeds on raw lines in order and collects issues. Usable incrementally."""

    def __init__(self, key: bytes | None, anchor: tuple[int, str] | None = None) -> None:
        self.key = key
        self.kid = key_id(key) if key is not None else None
        self.anchor = anchor
        self.prev = GENESIS
        self.expected: int | None = None
        self.report = VerifyReport(keyed=key is not None)
        self._history: OrderedDict[int, tuple[str, bool, Issue | None]] = OrderedDict()
        self._missing: dict[int, Issue] = {}
        self._junk: list[tuple[str, int, bytes]] = []
        self._keyless_run = 0
        self.last_chain = GENESIS

    # -- state for incremental use
    def state(self) -> dict[str, Any]:
        """What :meth:`restore` needs to continue checking after the last line fed."""
        return {
            "prev": self.prev,
            "expected": self.expected,
            "last_chain": self.last_chain,
            "lines": self.report.lines,
            "events": self.report.events,
            "last_seq": self.report.last_seq,
            "keyless_run": self._keyless_run,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state` taken earlier (incremental verification)."""
        self.prev = state["prev"]
        self.expected = state["expected"]
        self.last_chain = state["last_chain"]
        self.report.lines = state["lines"]
        self.report.events = state["events"]
        self.report.last_seq = state["last_seq"]
        self._keyless_run = state.get("keyless_run", 0)

    def _add(self, issue: Issue) -> Issue:
        target = self.report.issues if issue.severity == "error" else self.report.warnings
        if len(target) < MAX_ISSUES:
            target.append(issue)
        if issue.severity == "error":
            self.report.ok = False
        return issue

    def feed(self, file: str, lineno: int, raw: bytes, complete: bool) -> None:
        """Check one line (without its newline)."""
        self.report.lines += 1
        t = parse_trailer(raw)
        if t is None:
            if not complete:
                self._add(
                    Issue(
                        file,
                        lineno,
                        "torn",
                        f"incomplete last line ({len(raw)} bytes): a write was cut short",
                        severity="warning",
                    )
                )
                return
            self._junk.append((file, lineno, raw))
            return
        torn_note = self._settle_junk(raw) if self._junk else None
        self.report.events += 1
        seq = t.seq
        if self.expected is None:
            self._first(file, lineno, seq)
        assert self.expected is not None
        if t.kid is not None and self.kid is not None and t.kid != self.kid:
            self._add(
                Issue(
                    file, lineno, "wrong-key", f"written with another audit key (kid {t.kid})", seq
                )
            )
            self._accept(seq, t.chain, keyless=False)
            return
        can_check = t.kid is None or self.key is not None
        if not can_check:
            self.report.unchecked += 1
        key = self.key if t.kid is not None else None

        def ok_with(prev: str) -> bool:
            return not can_check or chain_value(key, prev, t.prefix) == t.chain

        if seq < self.expected:
            self._late(file, lineno, seq, t.chain, ok_with)
            return
        if seq > self.expected:
            first, last = self.expected, seq - 1
            span = f"seq {first}" + (f"..{last}" if last > first else "")
            issue = self._add(
                Issue(
                    file,
                    lineno,
                    "deleted",
                    f"{plural(seq - first, 'line')} missing before this one ({span})",
                    seq,
                )
            )
            for missing in range(first, min(last, first + _HISTORY) + 1):
                self._missing[missing] = issue
            self._accept(seq, t.chain, keyless=t.kid is None)
            return
        if self.prev == UNKNOWN or ok_with(self.prev):
            self._accept(seq, t.chain, keyless=t.kid is None)
            if torn_note is not None:
                self._add(torn_note)
            return
        if t.kid is None:
            why = "hash chain mismatch on a line written without a key"
        elif self._keyless_run:
            why = (
                f"chain mismatch: this line or the {plural(self._keyless_run, 'keyless line')} "
                "before it (written while locked) were altered"
            )
        else:
            why = "its content does not match its chain value (edited, or forged without the key)"
        issue = self._add(Issue(file, lineno, "edited", why, seq))
        self._accept(seq, t.chain, keyless=t.kid is None, failed=issue)

    def _first(self, file: str, lineno: int, seq: int) -> None:
        if seq == 1:
            self.expected, self.prev = 1, GENESIS
        elif self.anchor is not None and self.anchor[0] + 1 == seq:
            self.expected, self.prev = seq, self.anchor[1]
        else:
            self._add(
                Issue(
                    file,
                    lineno,
                    "deleted",
                    f"the trail starts at seq {seq}: lines 1..{seq - 1} are missing",
                    seq,
                )
            )
            self.expected, self.prev = seq, UNKNOWN  # take this line as the new start

    def _accept(self, seq: int, chain: str, *, keyless: bool, failed: Issue | None = None) -> None:
        self._history[seq] = (self.prev, failed is None, failed)
        if len(self._history) > _HISTORY:
            self._history.popitem(last=False)
        self.prev = chain
        self.last_chain = chain
        self.expected = seq + 1
        self.report.last_seq = seq
        self._keyless_run = self._keyless_run + 1 if keyless else 0

    def _late(
        self, file: str, lineno: int, seq: int, chain: str, ok_with: Callable[[str], bool]
    ) -> None:
        slot = self._history.get(seq)
        if slot is not None:
            prev_for_slot, slot_ok, slot_issue = slot
            if ok_with(prev_for_slot):
                if slot_ok:
                    self._add(
                        Issue(file, lineno, "duplicate", f"a copy of the line with seq {seq}", seq)
                    )
                    return
                if slot_issue is not None and seq == (self.expected or 0) - 1:
                    # the line we rejected at this slot was an insertion; this is the
                    # genuine one: retitle and take it as the chain's continuation
                    self._retitle(
                        slot_issue,
                        "inserted",
                        f"a line posing as seq {seq} that vaultui did not write",
                    )
                    self.prev = chain
                    self.last_chain = chain
                    self._history[seq] = (prev_for_slot, True, None)
                    return
        gap_issue = self._missing.pop(seq, None)
        if gap_issue is not None:
            self._retitle(
                gap_issue,
                "reordered",
                f"lines are out of order: seq {seq} appears later, at line {lineno}",
            )
            self._add(
                Issue(
                    file,
                    lineno,
                    "reordered",
                    f"seq {seq} appears after seq {(self.expected or 1) - 1}",
                    seq,
                )
            )
            return
        self._add(
            Issue(
                file,
                lineno,
                "reordered",
                f"seq {seq} appears after seq {(self.expected or 1) - 1}",
                seq,
            )
        )

    def _retitle(self, issue: Issue, kind: str, reason: str) -> None:
        for bucket in (self.report.issues,):
            for i, existing in enumerate(bucket):
                if existing is issue:
                    bucket[i] = Issue(issue.file, issue.line, kind, reason, issue.seq)
                    for seq, (p, ok, iss) in list(self._history.items()):
                        if iss is issue:
                            self._history[seq] = (p, ok, bucket[i])
                    for seq, iss in list(self._missing.items()):
                        if iss is issue:
                            self._missing[seq] = bucket[i]
                    return

    def _settle_junk(self, next_raw: bytes) -> Issue | None:
        """Classify lines without a trailer seen before a good line. A single fragment
        whose length the next line records in ``torn`` is a repaired crash (warning)."""
        junk, self._junk = self._junk, []
        torn_len = _torn_field(next_raw)
        if len(junk) == 1 and torn_len is not None and torn_len == len(junk[0][2]):
            file, lineno, raw = junk[0]
            return Issue(
                file,
                lineno,
                "torn",
                f"partial line of {len(raw)} bytes left by a crash, repaired by the next write",
                severity="warning",
            )
        for file, lineno, raw in junk:
            self._classify_junk(file, lineno, raw)
        return None

    def _classify_junk(self, file: str, lineno: int, raw: bytes) -> None:
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            self._add(
                Issue(
                    file,
                    lineno,
                    "foreign",
                    "a JSON line without chain fields: not written by vaultui",
                )
            )
        elif raw.strip():
            self._add(Issue(file, lineno, "corrupt", "not a JSON event line"))
        else:
            self._add(Issue(file, lineno, "corrupt", "an empty line"))

    def finish(
        self, head: Head | None, state_exists: bool, last_file: str, last_line: int
    ) -> VerifyReport:
        """Close the walk: leftover junk and the head record (truncation)."""
        for file, lineno, raw in self._junk:
            self._classify_junk(file, lineno, raw)
        self._junk = []
        rep = self.report
        rep.head_seq = head.seq if head else None
        if head is not None:
            if head.seq > rep.last_seq:
                self._add(
                    Issue(
                        last_file,
                        last_line + 1,
                        "truncated",
                        f"the log ends at seq {rep.last_seq} but the head record says "
                        f"seq {head.seq} was written: {plural(head.seq - rep.last_seq, 'line')} "
                        "cut from the end",
                        head.seq,
                    )
                )
            elif head.seq == rep.last_seq and head.chain != self.last_chain and rep.last_seq:
                self._add(
                    Issue(
                        last_file,
                        last_line,
                        "edited",
                        "the last line differs from the one the head record names",
                        head.seq,
                    )
                )
        elif rep.events and not state_exists:
            self._add(
                Issue(
                    last_file,
                    last_line + 1,
                    "truncated",
                    "the head record (secrets_audit.state) is missing, so lines cut "
                    "from the end cannot be ruled out",
                )
            )
        return rep


def _torn_field(raw: bytes) -> int | None:
    at = raw.rfind(b', "torn": ')
    if at < 0:
        return None
    num = raw[at + 10 : raw.find(b",", at + 10)]
    try:
        return int(num)
    except ValueError:
        return None


def verify_files(
    files: LogFiles,
    key: bytes | None,
    *,
    resume: VerifyCursor | None = None,
    progress: ProgressFn | None = None,
    cancelled: CancelFn | None = None,
) -> VerifyReport:
    """Verify the trail behind ``files`` (see :class:`ChainChecker`).

    With ``resume`` (a previous report's ``cursor``), only lines after it are checked;
    issues found before are not repeated.
    """
    import hashlib

    state_exists, head = files.read_head_file()
    segments = files.segments()
    sizes: list[tuple[Path, int, str]] = []
    for path in segments:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        first = LogFiles.first_line(path)
        ident = hashlib.sha256(first).hexdigest()[:32] if first is not None else ""
        sizes.append((path, size, ident))
    anchor = None
    if head is not None and head.anchor_seq is not None and head.anchor_chain:
        anchor = (head.anchor_seq, head.anchor_chain)
    checker = ChainChecker(key, anchor)
    start_index, start_offset, start_line = 0, 0, 0
    if resume is not None:
        for i, (_, size, ident) in enumerate(sizes):
            if ident == resume.ident and size >= resume.offset:
                checker.restore(resume.state)
                start_index, start_offset, start_line = i, resume.offset, resume.line
                break
    total = sum(size for _, size, _ in sizes[start_index:]) - start_offset
    done = 0
    last_file, last_line = files.path.name, 0
    cursor: VerifyCursor | None = None
    for i, (path, size, ident) in enumerate(sizes[start_index:], start_index):
        offset = start_offset if i == start_index else 0
        lineno = start_line if i == start_index else 0
        name = path.name
        checker.report.files.append(name)
        good_end = offset
        for off, raw, complete in LogFiles.iter_lines(path, offset, size):
            lineno += 1
            is_last = i == len(sizes) - 1
            if not complete and not is_last:
                complete = True  # an unterminated line in a closed segment is damage
            checker.feed(name, lineno, raw, complete)
            if complete:
                good_end = off + len(raw) + 1
                last_line = lineno
            if progress is not None and lineno % 50_000 == 0:
                progress(done + off, total)
            if cancelled is not None and lineno % 10_000 == 0 and cancelled():
                checker.report.ok = False
                checker.report.warnings.append(
                    Issue(
                        name, lineno, "cancelled", "verification was cancelled", severity="warning"
                    )
                )
                return checker.report
        done += size - offset
        last_file = name
        if ident:
            cursor = VerifyCursor(ident, good_end, last_line, checker.state())
    report = checker.finish(head, state_exists, last_file, last_line)
    report.cursor = cursor
    if progress is not None:
        progress(total, total)
    return report


def verify_isolated(
    log_path: Path,
    key: bytes | None,
    *,
    progress: ProgressFn | None = None,
    cancelled: CancelFn | None = None,
    poll: float = 0.1,
) -> VerifyReport:
    """Run :func:`verify_files` in a child Python process (``python -m
    core.audit.verify_child``) so a long check does not hold this process's GIL (the app stays
    responsive). The key goes to the child on stdin, never in argv. Cancelling kills it.
    """
    import os
    import subprocess
    import sys
    import threading

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "core.audit.verify_child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=root,
        env=env,
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(
        json.dumps({"path": str(log_path), "key": key.hex() if key else None}).encode() + b"\n"
    )
    child.stdin.close()
    result: dict[str, Any] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(poll):
            if cancelled is not None and cancelled():
                child.kill()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for line in child.stdout:
            doc = json.loads(line)
            if "progress" in doc and progress is not None:
                progress(*doc["progress"])
            elif "report" in doc:
                result = doc["report"]
    finally:
        stop.set()
        child.wait()
    if not result:
        if cancelled is not None and cancelled():
            rep = VerifyReport(ok=False)
            rep.warnings.append(
                Issue("", 0, "cancelled", "verification was cancelled", severity="warning")
            )
            return rep
        from core.errors import AuditError

        raise AuditError("The chain verification process failed")
    return VerifyReport.from_dict(result)
