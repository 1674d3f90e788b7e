"""Fixtures for the audit tests: a fresh trail per test, a fixed key, a movable clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.audit import AuditLog

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


class Clock:
    """A clock tests move by hand (alerts and reports depend on time)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2024, 1, 15, 10, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "logs" / "secrets_audit.log"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_log(log_path: Path) -> Iterator[Callable[..., AuditLog]]:
    made: list[AuditLog] = []

    def factory(key: bytes | None = KEY, **kw: Any) -> AuditLog:
        kw.setdefault("user", "alice")
        kw.setdefault("host", "testhost")
        kw.setdefault("durable", False)
        kw.setdefault("alert_rules", [])
        log = AuditLog(kw.pop("path", log_path), key, **kw)
        made.append(log)
        return log

    yield factory
    for log in made:
        log.close()


def lines_of(path: Path) -> list[bytes]:
    """The raw lines of a file (without newlines)."""
    return path.read_bytes().split(b"\n")[:-1]


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
