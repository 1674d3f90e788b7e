"""Every operation leaves exactly one audit event, whichever front end runs it: the
facade, ``--batch`` in its own process, ``--batch`` through the unlock agent, and the app.

Session events (a process unlocking the vault, the agent starting) are not operations and
are left out of the count; everything else a step writes is compared with the one event
it should write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from core.vault import KeySource
from tests.batch.conftest import run_vaultui, stop_agent_at
from tests.conftest import clean_env
from tests.trail import trail_events, vault_audit_key

PASS = "correct horse battery"
SESSION = frozenset({"unlock", "lock", "agent_start", "agent_stop", "agent_hello"})


class Trail:
    """Reads what the audit trail gained since the last look (names opened)."""

    def __init__(self, settings: Settings, key: bytes) -> None:
        self.path = settings.audit_log_path
        self.key = key
        self.seen = self._count()

    def _count(self) -> int:
        return len(self.path.read_text().splitlines()) if self.path.exists() else 0

    def new(self) -> list[dict[str, Any]]:
        """The operation events written since the last call (session events left out)."""
        events = trail_events(self.path, self.key)[self.seen :]
        self.seen += len(events)
        return [e for e in events if e["operation"] not in SESSION]

    def peek(self) -> list[dict]:
        """The operation events written since the last look, without consuming them."""
        events = trail_events(self.path, self.key)[self.seen :]
        return [e for e in events if e["operation"] not in SESSION]

    def expect(self, operation: str, name: str | None, *, success: bool = True) -> dict:
        """Exactly one new event: ``operation`` on ``name``; returns it."""
        events = self.new()
        got = [(e["operation"], e.get("secret_name"), e["success"]) for e in events]
        assert got == [(operation, name, success)], got
        return events[0]


# ---------------------------------------------------------------------- the facade


def test_the_facade_writes_one_event_per_call(settings: Settings) -> None:
    from core.secrets_manager import SecretsManager

    m = SecretsManager(settings)
    try:
        trail = Trail(settings, m.vault.derive_key("audit"))
        steps: list[tuple[Callable[[], Any], str, str | None, bool]] = [
            (lambda: m.store_secret("svc/token", "first-value"), "write", "svc/token", True),
            (lambda: m.store_secret("svc/token", "second-value"), "write", "svc/token", True),
            (lambda: m.retrieve_secret("svc/token"), "read", "svc/token", True),
            (lambda: m.retrieve_secret("svc/missing"), "read", "svc/missing", False),
            (lambda: m.list_secrets(), "list", None, True),
            (lambda: m.history("svc/token"), "history", "svc/token", True),
            (
                lambda: m.update_secret_metadata("svc/token", description="the token"),
                "update_metadata",
                "svc/token",
                True,
            ),
            (lambda: m.rollback_secret("svc/token", 1), "rollback", "svc/token", True),
            (lambda: m.delete_secret("svc/token"), "delete", "svc/token", True),
            (lambda: m.delete_secret("svc/token"), "delete", "svc/token", False),
            (lambda: m.undelete_secret("svc/token"), "undelete", "svc/token", True),
        ]
        for call, operation, name, success in steps:
            call()
            trail.expect(operation, name, success=success)
        assert m.retrieve_secret("svc/token") == "first-value"
    finally:
        m.close()


# ---------------------------------------------------------------------- --batch


BATCH_STEPS: list[tuple[tuple[str, ...], bytes, str, str | None, bool]] = [
    (("set", "svc/token"), b"first-value", "write", "svc/token", True),
    (("set", "svc/token"), b"second-value", "write", "svc/token", True),
    (("get", "svc/token"), b"", "read", "svc/token", True),
    (("get", "svc/missing"), b"", "read", "svc/missing", False),
    (("get", "svc/token", "--stage", "NOPE"), b"", "get", "svc/token", False),
    (("list",), b"", "list", None, True),
    (("history", "svc/token"), b"", "history", "svc/token", True),
    (("describe", "svc/token", "--text", "the token"), b"", "update_metadata", "svc/token", True),
    (("tag", "svc/token", "env=prod"), b"", "update_metadata", "svc/token", True),
    (("rollback", "svc/token", "1"), b"", "rollback", "svc/token", True),
    (("delete", "svc/token"), b"", "delete", "svc/token", True),
    (("undelete", "svc/token"), b"", "undelete", "svc/token", True),
]


@pytest.fixture
def pw_env(home: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of a ``--batch`` process whose vault opens with a passphrase file."""
    pw = tmp_path / "pw.txt"
    pw.write_text(PASS)
    env = clean_env(home, VAULTUI_PASSPHRASE_FILE=str(pw))
    r = run_vaultui(home, "--batch", "set", "seed/first", stdin=b"x", env=env)
    assert r.code == 0, r.err
    return env


def _run_steps(home: Path, env: dict[str, str], trail: Trail, *, source: str) -> None:
    for argv, stdin, operation, name, success in BATCH_STEPS:
        r = run_vaultui(home, "--batch", *argv, stdin=stdin, env=env)
        assert (r.code == 0) is success, (argv, r.err)
        event = trail.expect(operation, name, success=success)
        assert event["source"] == source, (argv, event)


def test_batch_in_its_own_process_writes_one_event_per_command(
    home: Path, settings: Settings, pw_env: dict[str, str]
) -> None:
    trail = Trail(settings, vault_audit_key(settings.vault_path, KeySource.passphrase(PASS)))
    _run_steps(home, pw_env, trail, source="batch")


@pytest.fixture
def agent(home: Path, pw_env: dict[str, str]) -> Iterator[None]:
    r = run_vaultui(home, "--batch", "unlock", "--ttl", "2m", env=pw_env)
    assert r.code == 0, r.err
    yield
    stop_agent_at(home / "agent.sock")


def test_batch_through_the_agent_writes_one_event_per_command(
    home: Path, settings: Settings, agent: None
) -> None:
    trail = Trail(settings, vault_audit_key(settings.vault_path, KeySource.passphrase(PASS)))
    _run_steps(home, clean_env(home), trail, source="agent")  # no key: only the agent has it


# ---------------------------------------------------------------------- the app


@pytest.fixture
def app_home(settings: Settings) -> Settings:
    """A key-file vault with a str secret (two versions) and a dict secret."""
    from core.unlock import open_vault

    vault = open_vault(settings)
    try:
        vault.put("app/token", "canary-token-1")
        vault.put("app/token", "canary-token-2")
        vault.put("app/db", {"host": "db.local", "password": "canary-db-pw"})
    finally:
        vault.close()
    return settings


def test_the_app_writes_one_event_per_action(app_home: Settings) -> None:
    from tests.tui.conftest import SIZE, filter_to, screen_name, wait_browser, wait_for
    from vaultui.app import create_app

    async def open_detail(pilot: Any, name: str) -> None:
        app = pilot.app
        await filter_to(pilot, name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
        await wait_for(pilot, lambda: app.screen.record is not None)

    async def go() -> None:
        app = create_app(app_home)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            trail = Trail(app_home, app.manager.vault.derive_key("audit"))
            trail.new()  # opening the app: the unlock and the browser's list

            await open_detail(pilot, "app/db")
            assert trail.new() == []  # opening a secret reads no value
            await pilot.press("f")  # copy the first field, never revealed
            await wait_for(pilot, lambda: app.clipboard == "db.local")
            assert trail.expect("copy", "app/db")["field"] == "host"
            await pilot.press("r")
            await wait_for(pilot, lambda: app.screen.query_one("MaskedValue").revealed)
            await pilot.pause(0.1)
            trail.expect("reveal", "app/db")
            await pilot.press("c")  # the whole value, already revealed: still one copy
            await wait_for(pilot, lambda: app.clipboard.startswith("{"))
            trail.expect("copy", "app/db")

            await pilot.press("e")
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            editor = app.screen
            await wait_for(pilot, lambda: editor.record is not None)
            assert trail.expect("read", "app/db")["purpose"] == "edit"
            row = editor.query("FieldRow").first()
            row.query_one(".field-value").value = "db2.local"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            trail.expect("write", "app/db")

            await pilot.press("escape")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            await open_detail(pilot, "app/token")
            await pilot.press("h")
            await wait_for(pilot, lambda: screen_name(app) == "HistoryScreen")
            table = app.screen.query_one("#history-table")
            await wait_for(pilot, lambda: table.row_count == 2)
            trail.expect("history", "app/token")
            await pilot.press("down", "b")  # version 1
            # the rollback shows what changes first: the comparison is its own event
            await wait_for(pilot, lambda: screen_name(app) == "RollbackDiffScreen")
            await wait_for(pilot, lambda: len(trail.peek()) == 1)
            trail.expect("history_diff", "app/token")
            await pilot.press("y")
            await wait_for(pilot, lambda: table.row_count == 3)
            await pilot.pause(0.2)  # the screen reloads its list: not a new event
            trail.expect("rollback", "app/token")

            await pilot.press("escape")
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            await pilot.press("d", "y")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            await wait_for(pilot, lambda: app.browser().undo_stack == ["app/token"])
            trail.expect("delete", "app/token")
            await pilot.press("u")
            await wait_for(pilot, lambda: "app/token" in app.browser().table.rows, timeout=5)
            trail.expect("undelete", "app/token")
            await filter_to(pilot, "app/token")
            await pilot.press("c")  # copy from the list
            await wait_for(pilot, lambda: app.clipboard == "canary-token-1")
            trail.expect("copy", "app/token")
        app.cleanup()

    asyncio.run(go())
