"""The audit pane (vaultui.screens.audit.AuditScreen) in a tiny app of its own, via Pilot."""

from __future__ import annotations

import asyncio
import csv
import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, Sparkline, Static

from core.audit import AlertRule, AuditLog
from vaultui.screens.audit import AuditScreen, EventDetails, ExportDialog

KEY = bytes(range(32))
SIZE = (120, 32)


class FixedClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 20, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def make_trail(path: Path, clock: FixedClock, n: int = 40) -> AuditLog:
    """A deterministic trail: reads and writes over a few days, failures on
    db/password, and one alert."""
    log = AuditLog(
        path,
        KEY,
        user="alice",
        host="testhost",
        durable=False,
        clock=clock,
        alert_rules=[AlertRule("burst", "failures", 2, timedelta(hours=1))],
    )
    clock.now -= timedelta(days=4)
    names = ["api_key", "db/password", "web/session", "ci/token"]
    for i in range(n):
        name = names[i % 4]
        failed = name == "db/password" and i % 8 == 1
        log.log(
            "read" if i % 3 else "write",
            name,
            user=["alice", "bob", "ci"][i % 3],
            success=not failed,
            error_message="wrong key" if failed else None,
            source="batch" if i % 5 == 0 else "app",
        )
        clock.now += timedelta(hours=2)
    for _ in range(3):
        log.log("reveal", "db/password", user="mallory", success=False, error_message="denied")
    clock.now = datetime(2024, 5, 20, 8, 0, tzinfo=UTC)
    return log


class PaneApp(App[None]):
    """Pushes the audit pane on start, as the real app does."""

    def __init__(self, log: AuditLog) -> None:
        super().__init__()
        self.audit_log = log

    def on_mount(self) -> None:
        self.push_screen(AuditScreen(self.audit_log))


def sync(test):
    """Run an async test body with asyncio (the project uses no async pytest plugin)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


async def wait_for(pilot, condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.02)


async def ready(pilot) -> AuditScreen:
    """Wait until the pane loaded, verified the chain and drew the sparkline."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AuditScreen))
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.loaded and screen.report is not None)
    await wait_for(pilot, lambda: screen.spark_shown)

    await pilot.pause()
    return screen


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def trail(tmp_path: Path, clock: FixedClock) -> AuditLog:
    log = make_trail(tmp_path / "logs" / "secrets_audit.log", clock)
    yield log
    log.close()


def chain_text(screen: AuditScreen) -> str:
    return str(screen.query_one("#chain-status", Static).render())


@sync
async def test_opens_on_the_newest_event_with_chain_status(trail: AuditLog) -> None:
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert len(screen.view) == 44  # 40 + 3 failures + 1 alert
        assert screen.table.cursor_row == 43
        assert screen.table.current.event["operation"] == "alert"
        assert "Chain intact · 44 events" in chain_text(screen)
        assert screen.query_one("#chain-status").has_class("-ok")


@sync
async def test_next_and_previous_failure(trail: AuditLog) -> None:
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("home")
        await pilot.press("n")
        await wait_for(pilot, lambda: screen.table.cursor_row == 1)
        assert screen.table.current.event["success"] is False
        await pilot.press("n")
        await wait_for(pilot, lambda: screen.table.cursor_row == 9)
        await pilot.press("N")
        await wait_for(pilot, lambda: screen.table.cursor_row == 1)


@sync
async def test_filter_bar_and_clear(trail: AuditLog) -> None:
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("f")
        assert isinstance(screen.focused, Input) and screen.focused.id == "filter-secret"
        await pilot.press(*"db/password")
        await pilot.press("tab", "tab", "tab", *"failed", "enter")
        await wait_for(pilot, lambda: len(screen.view) == 8 and screen.filters.success is False)
        assert all(screen.view.row(i).event["secret_name"] == "db/password" for i in range(8))
        assert screen.query_one("#filter-bar").has_class("-hidden")
        assert "secret=db/password failures" in str(
            screen.query_one("#audit-status", Static).render()
        )
        await pilot.press("c")
        await wait_for(pilot, lambda: len(screen.view) == 44)


@sync
async def test_time_range_and_failures_toggle(trail: AuditLog) -> None:
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("f", "tab", "tab", "tab", "tab")
        assert screen.focused.id == "filter-since"
        screen.focused.value = "2024-05-18T00:00+00:00"  # typed key by key elsewhere
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.filters.start is not None)
        await wait_for(pilot, lambda: 0 < len(screen.view) < 44)
        assert all(
            screen.view.row(i).event["timestamp"] >= "2024-05-18" for i in range(len(screen.view))
        )
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.filters.success is False)
        await wait_for(
            pilot,
            lambda: all(
                screen.view.row(i).event["success"] is False for i in range(len(screen.view))
            ),
        )
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.filters.success is None)


@sync
async def test_bad_filter_is_reported_not_fatal(trail: AuditLog) -> None:
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("f", "tab", "tab", "tab", *"maybe", "enter")
        await pilot.pause(0.1)
        assert screen.filters.success is None and len(screen.view) == 44
        assert any("success filter" in n.message for n in pilot.app._notifications)


@sync
async def test_search_and_next_match(trail: AuditLog) -> None:
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("home", "slash")
        assert screen.focused.id == "search"
        await pilot.press(*"ci/token", "enter")
        await wait_for(pilot, lambda: screen.table.cursor_row == 3)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: screen.table.cursor_row == 7)
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: screen.table.cursor_row == 3)


@sync
async def test_enter_shows_event_details(trail: AuditLog) -> None:
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("home", "down", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, EventDetails))
        body = str(pilot.app.screen.query_one("#audit-details-body", Static).render())
        assert '"secret_name": "db/password"' in body and '"success": false' in body
        assert '"chain":' in body
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is screen)


@sync
async def test_live_tail_follows_new_events(trail: AuditLog, clock: FixedClock) -> None:
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        writer = AuditLog(trail.path, KEY, user="zed", durable=False, clock=clock, alert_rules=[])
        writer.log("rotate", "api_key")
        writer.log("read", "api_key")
        await wait_for(pilot, lambda: len(screen.view) == 46)
        await wait_for(pilot, lambda: screen.table.cursor_row == 45)
        assert screen.table.current.event["user"] == "zed"
        await wait_for(pilot, lambda: "46 events" in chain_text(screen))
        # moving up stops following; new events no longer move the cursor
        await pilot.press("up")
        writer.log("read", "api_key")
        await wait_for(pilot, lambda: len(screen.view) == 47)
        assert screen.table.cursor_row == 44
        await pilot.press("t")
        assert screen.table.cursor_row == 46 and screen.table.follow
        writer.close()


@sync
async def test_broken_chain_is_shown(trail: AuditLog) -> None:
    lines = trail.path.read_bytes().split(b"\n")
    del lines[5]
    trail.path.write_bytes(b"\n".join(lines))
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert screen.query_one("#chain-status").has_class("-broken")
        assert "broken at secrets_audit.log line 6: deleted" in chain_text(screen)
        assert len(screen.view) == 43  # the rest is still browsable


@sync
async def test_export_filtered_view(trail: AuditLog, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.filters.success is False and len(screen.view) == 8)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ExportDialog))
        field = pilot.app.screen.query_one(Input)
        field.value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, target.exists)
        rows = list(csv.DictReader(target.open()))
        assert len(rows) == 8 and {r["success"] for r in rows} == {"False"}


@sync
async def test_sparkline_follows_the_highlighted_secret(trail: AuditLog) -> None:
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("home")
        await wait_for(pilot, lambda: screen.spark_secret == "api_key")
        data = screen.query_one(Sparkline).data
        assert sum(data) == 10 and len(data) == 30
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(pilot.app.screen, AuditScreen))


@sync
async def test_empty_trail_then_first_event(tmp_path: Path, clock: FixedClock) -> None:
    path = tmp_path / "fresh" / "logs" / "secrets_audit.log"
    log = AuditLog(path, KEY, durable=False, clock=clock, alert_rules=[])
    async with PaneApp(log).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert len(screen.view) == 0 and screen.table.current is None
        assert "Chain intact · 0 events" in chain_text(screen)
        await pilot.press("n", "enter", "slash", "escape")  # nothing to do, nothing breaks
        log.log("unlock", success=False, error_message="wrong passphrase")
        await wait_for(pilot, lambda: len(screen.view) == 1)
        assert screen.table.current.event["operation"] == "unlock"
    log.close()


def test_snapshot(trail: AuditLog, snap_compare) -> None:
    async def run_before(pilot) -> None:
        await ready(pilot)
        await pilot.press("home", "n")
        await wait_for(pilot, lambda: pilot.app.screen.table.cursor_row == 1)
        await wait_for(pilot, lambda: pilot.app.screen.spark_secret == "db/password")
        await pilot.pause(0.1)

    assert snap_compare(PaneApp(trail), terminal_size=SIZE, run_before=run_before)


@sync
async def test_names_show_in_clear_with_the_key_and_as_a_placeholder_without(
    trail: AuditLog,
) -> None:
    assert b"db/password" not in trail.path.read_bytes()  # sealed on disk
    async with PaneApp(trail).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("home", "down")
        assert screen.table.current.event["secret_name"] == "db/password"
    locked = AuditLog(trail.path, None, durable=False, alert_rules=[])
    async with PaneApp(locked).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert "Chain intact · 44 events" in chain_text(screen)  # verified without the key
        await pilot.press("home", "down", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, EventDetails))
        body = str(pilot.app.screen.query_one("#audit-details-body", Static).render())
        assert '"secret_name": "<encrypted>"' in body and "db/password" not in body
    locked.close()
