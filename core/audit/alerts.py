"""Alert rules checked as audit events are written, and the hook that reports them.

Two kinds of rule, after the seed's "Alert Conditions":

- ``failures``: more than N failed operations within a window (per secret by default;
  failures with no secret, such as failed unlocks, count under the vault itself);
- ``volume``: more than M operations within a window (the seed's "1000 per hour").

A rule fires once when its count goes over the threshold and then stays quiet for one
window (per rule and subject), so a burst makes one alert, not one per event. An alert
is written to the trail as an event with ``operation`` ``"alert"``; the :class:`HookRunner`
then hands a value-free JSON document to a callable or to a command's **stdin** (never
its argv).

Rules can be written as text: ``failures>10/1h``, ``volume>1000/1h``,
``failures>3/5m:read,reveal`` (only those operations), ``volume>5000/1h:*`` (``*``: count
over all secrets together instead of per secret).
"""

from __future__ import annotations

import json
import logging
import queue
import re
import shlex
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from core.audit.events import parse_duration, parse_ts
from core.errors import ValidationError

log = logging.getLogger(__name__)

ALERT_OP = "alert"
HOOK_OP = "alert_hook"
INTEGRITY_OP = "audit_integrity"
NOT_COUNTED = frozenset({ALERT_OP, HOOK_OP, INTEGRITY_OP})
"""Operations no rule counts (an alert must not feed further alerts)."""

VAULT_SUBJECT = ""
"""The subject of failures that name no secret (failed unlocks and the like)."""

HookType = Callable[[dict[str, Any]], Any] | str | Sequence[str] | None

_RULE_TEXT = re.compile(
    r"\s*(failures|failed|volume|accesses)\s*>\s*(\d+)\s*/\s*([0-9.]+\s*[a-z]+)\s*(?::\s*([^\n]+?))?\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AlertRule:
    """One alert condition: more than ``threshold`` matching events within ``window``."""

    name: str
    kind: Literal["failures", "volume"]
    threshold: int
    window: timedelta
    per_secret: bool = True
    operations: frozenset[str] | None = None
    severity: str = "warning"

    def __post_init__(self) -> None:
        if self.kind not in ("failures", "volume"):
            raise ValidationError(
                f"Unknown alert kind {self.kind!r}", hint="use failures or volume"
            )
        if self.threshold < 0 or self.window.total_seconds() <= 0:
            raise ValidationError("An alert rule needs a threshold >= 0 and a positive window")

    @classmethod
    def parse(cls, text: str, name: str | None = None) -> AlertRule:
        """Read a rule such as ``failures>10/1h`` or ``volume>1000/1h:read,reveal``."""
        m = _RULE_TEXT.fullmatch(text or "")
        if not m:
            raise ValidationError(
                f"Cannot read the alert rule {text!r}",
                hint="write it like failures>10/1h or volume>1000/1h[:op1,op2|*]",
            )
        kind: Literal["failures", "volume"] = (
            "failures" if m.group(1).lower().startswith("fail") else "volume"
        )
        per_secret = True
        ops: frozenset[str] | None = None
        if m.group(4):
            spec = m.group(4).strip()
            if spec == "*":
                per_secret = False
            else:
                ops = frozenset(o.strip() for o in spec.split(",") if o.strip())
        rule_name = name or f"{kind}>{m.group(2)}/{m.group(3).replace(' ', '')}"
        return cls(rule_name, kind, int(m.group(2)), parse_duration(m.group(3)), per_secret, ops)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> AlertRule:
        """Build a rule from a config mapping (``name``, ``kind``, ``threshold``,
        ``window`` such as "1h", optional ``per_secret``, ``operations``, ``severity``)."""
        try:
            ops = doc.get("operations")
            return cls(
                name=str(doc.get("name") or f"{doc['kind']}>{doc['threshold']}/{doc['window']}"),
                kind=doc["kind"],
                threshold=int(doc["threshold"]),
                window=parse_duration(doc["window"])
                if isinstance(doc["window"], str)
                else timedelta(seconds=float(doc["window"])),
                per_secret=bool(doc.get("per_secret", True)),
                operations=frozenset(ops) if ops else None,
                severity=str(doc.get("severity", "warning")),
            )
        except KeyError as missing:
            raise ValidationError(f"Alert rule is missing {missing}") from None

    def to_dict(self) -> dict[str, Any]:
        """The config mapping of this rule (inverse of :meth:`from_dict`)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "threshold": self.threshold,
            "window": int(self.window.total_seconds()),
            "per_secret": self.per_secret,
            "operations": sorted(self.operations) if self.operations else None,
            "severity": self.severity,
        }

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Does ``event`` count towards this rule?"""
        op = event.get("operation")
        if op in NOT_COUNTED:
            return False
        if self.operations is not None and op not in self.operations:
            return False
        if self.kind == "failures":
            return event.get("success") is False
        return True

    def subject(self, event: Mapping[str, Any]) -> str:
        """What the count is kept for: the secret's name, the vault (""), or "*"."""
        if not self.per_secret:
            return "*"
        return event.get("secret_name") or VAULT_SUBJECT

    def describe(self) -> str:
        """A sentence such as 'more than 10 failed operations per secret within 1h'."""
        what = "failed operations" if self.kind == "failures" else "operations"
        if self.operations:
            what += " (" + ", ".join(sorted(self.operations)) + ")"
        scope = "per secret" if self.per_secret else "in total"
        return f"more than {self.threshold} {what} {scope} within {_fmt_window(self.window)}"


DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule("failed-accesses", "failures", 10, timedelta(hours=1)),
    AlertRule("access-volume", "volume", 1000, timedelta(hours=1)),
)
"""The seed's two alert conditions: >10 failures, >1000 accesses per hour, per secret."""


def load_rules(doc: Iterable[Mapping[str, Any] | str] | None) -> tuple[AlertRule, ...]:
    """Rules from a config list (mappings or rule strings); None gives :data:`DEFAULT_RULES`."""
    if doc is None:
        return DEFAULT_RULES
    rules: list[AlertRule] = []
    for item in doc:
        rules.append(AlertRule.parse(item) if isinstance(item, str) else AlertRule.from_dict(item))
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise ValidationError("Alert rule names must be unique")
    return tuple(rules)


def load_rules_file(path: Any) -> tuple[AlertRule, ...]:
    """Rules from a JSON file holding a list (or ``{"rules": [...]}``); defaults if absent."""
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        return DEFAULT_RULES
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{p.name} is not valid JSON: {exc.msg} (line {exc.lineno})"
        ) from None
    except UnicodeDecodeError:  # a ValueError without .msg: it used to end as a crash
        raise ValidationError(f"{p.name} is not valid UTF-8 text") from None
    if isinstance(doc, dict):
        doc = doc.get("rules", [])
    if not isinstance(doc, list):
        raise ValidationError(f"{p.name} must hold a list of alert rules")
    return load_rules(doc)


@dataclass
class _Window:
    times: deque[float] = field(default_factory=deque)
    fired_at: float | None = None


class AlertEngine:
    """Sliding-window counters for a set of rules. Not thread-safe: the audit writer
    calls it under its own lock."""

    def __init__(self, rules: Iterable[AlertRule] | None) -> None:
        self.rules: tuple[AlertRule, ...] = tuple(rules) if rules is not None else DEFAULT_RULES
        self._by_name = {r.name: r for r in self.rules}
        self._windows: dict[tuple[str, str], _Window] = {}

    @property
    def active(self) -> bool:
        """True when there is at least one rule."""
        return bool(self.rules)

    @property
    def max_window(self) -> float:
        """The longest window in seconds (how far back history matters)."""
        return max((r.window.total_seconds() for r in self.rules), default=0.0)

    def observe(self, event: Mapping[str, Any], *, own: bool) -> list[dict[str, Any]]:
        """Count ``event``; return the alerts it fires (only when ``own`` is True).

        Events written by other processes are counted with ``own=False``: they move the
        windows (and an alert they logged silences the same rule) but fire nothing
        here, so one burst seen by two processes gives one alert.
        """
        ts = parse_ts(event.get("timestamp", ""))
        if ts is None:
            return []
        if event.get("operation") == ALERT_OP:
            rule_name = event.get("rule")
            if isinstance(rule_name, str) and rule_name in self._by_name:
                subject = event.get("subject", event.get("secret_name") or VAULT_SUBJECT)
                self._window(rule_name, str(subject)).fired_at = ts
            return []
        fired: list[dict[str, Any]] = []
        for rule in self.rules:
            if not rule.matches(event):
                continue
            subject = rule.subject(event)
            win = self._window(rule.name, subject)
            span = rule.window.total_seconds()
            win.times.append(ts)
            while win.times and win.times[0] <= ts - span:
                win.times.popleft()
            if not own or len(win.times) <= rule.threshold:
                continue
            if win.fired_at is not None and ts - win.fired_at < span:
                continue
            win.fired_at = ts
            fired.append(self._alert(rule, subject, len(win.times), event))
        return fired

    def _window(self, rule: str, subject: str) -> _Window:
        key = (rule, subject)
        win = self._windows.get(key)
        if win is None:
            win = self._windows[key] = _Window()
        return win

    @staticmethod
    def _alert(
        rule: AlertRule, subject: str, count: int, event: Mapping[str, Any]
    ) -> dict[str, Any]:
        if subject == "*":
            where = "across all secrets"
        elif subject == VAULT_SUBJECT:
            where = "on the vault"
        else:
            where = f"on {subject!r}"
        what = "failed operations" if rule.kind == "failures" else "operations"
        return {
            "secret_name": subject if subject not in ("*", VAULT_SUBJECT) else None,
            "rule": rule.name,
            "kind": rule.kind,
            "subject": subject,
            "count": count,
            "threshold": rule.threshold,
            "window_seconds": int(rule.window.total_seconds()),
            "severity": rule.severity,
            "message": f"{count} {what} {where} within {_fmt_window(rule.window)} "
            f"(threshold {rule.threshold})",
            "trigger": {
                k: event.get(k)
                for k in ("operation", "user", "source", "host", "success", "timestamp")
            },
        }


def hook_payload(alert_event: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document a hook receives: the alert event's fields, no chain, no value."""
    keep = (
        "timestamp",
        "secret_name",
        "rule",
        "kind",
        "subject",
        "count",
        "threshold",
        "window_seconds",
        "severity",
        "message",
        "trigger",
        "host",
        "seq",
    )
    doc = {k: alert_event.get(k) for k in keep if k in alert_event}
    doc["type"] = "vaultui.audit.alert"
    return doc


class HookRunner:
    """Runs the alert hook off the writer's thread, one alert at a time.

    ``hook`` is a callable (given the payload dict) or a command (a string split with
    shlex, or an argv list) that gets the payload as JSON on stdin. ``on_failure`` is
    called with a short reason when a hook fails (the audit log records it).
    """

    def __init__(
        self,
        hook: HookType,
        *,
        timeout: float = 30.0,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.hook = hook
        self.timeout = timeout
        self.on_failure = on_failure
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition(self._lock)

    def submit(self, payload: dict[str, Any]) -> None:
        """Queue one alert for the hook (returns at once)."""
        if self.hook is None:
            return
        with self._lock:
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="audit-alert-hook", daemon=True
                )
                self._thread.start()
        self._queue.put(payload)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued alert went through the hook (for tests and exit)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        while True:
            try:
                payload = self._queue.get(timeout=5.0)
            except queue.Empty:
                with self._lock:
                    if self._pending == 0:
                        self._thread = None
                        return
                continue
            if payload is None:
                return
            try:
                self._call(payload)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _call(self, payload: dict[str, Any]) -> None:
        hook = self.hook
        reason: str | None = None
        try:
            if callable(hook):
                hook(payload)
            else:
                argv = shlex.split(hook) if isinstance(hook, str) else list(hook or [])
                if not argv:
                    return
                done = subprocess.run(
                    argv,
                    input=json.dumps(payload).encode(),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=self.timeout,
                    close_fds=True,
                    check=False,
                )
                if done.returncode != 0:
                    reason = f"alert hook exited with status {done.returncode}"
        except subprocess.TimeoutExpired:
            reason = f"alert hook timed out after {self.timeout:g}s"
        except OSError as exc:
            reason = f"alert hook could not start: {exc.strerror or type(exc).__name__}"
        except Exception as exc:  # a callable hook must not kill the thread
            reason = f"alert hook raised {type(exc).__name__}"
        if reason:
            log.warning("%s", reason)
            if self.on_failure is not None:
                try:
                    self.on_failure(reason)
                except Exception:
                    log.exception("recording an alert hook failure failed")


def _fmt_window(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
