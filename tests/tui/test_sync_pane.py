"""The sync pane, driven with Pilot through a tiny app of its own, on real vault files.

The "remote" is the local provider over a second vault file, so a sync runs for real
without a server.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable, Input

from core.providers.local import LocalProvider
from core.secrets_manager import SecretsManager
from core.sync.merge import merge_file
from core.sync.service import Remote, add_remote
from core.vault import Argon2Params, KeySource, Vault
from vaultui.screens.sync import SCHEDULER_ATTR, SyncScreen
from vaultui.widgets.masked import MASK

SIZE = (130, 40)


def run_async(test: Callable[..., Coroutine[object, object, None]]) -> Callable[..., None]:
    """Run an async Pilot test with asyncio.run (no async pytest plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


class PaneApp(App[None]):
    """Just enough app to host the pane; records errors and sync messages."""

    def __init__(self, manager: SecretsManager, factory: Callable[[str], Any]) -> None:
        super().__init__()
        self.manager = manager
        self.factory = factory
        self.errors: list[str] = []
        self.synced: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(SyncScreen(self.manager, provider_factory=self.factory))

    def show_error(self, error: BaseException | str, title: str | None = None) -> None:
        self.errors.append(str(error))

    def on_sync_screen_synced(self, message: SyncScreen.Synced) -> None:
        self.synced.append(message.report)


async def wait_for(pilot: Any, condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        await pilot.pause(0.02)


def pane(app: App[None]) -> SyncScreen:
    screen = app.screen_stack[1] if len(app.screen_stack) > 1 else app.screen
    assert isinstance(screen, SyncScreen)
    return screen


def text(app: App[None], selector: str) -> str:
    return str(pane(app).query_one(selector).render())


def rows(app: App[None], table: str) -> list[list[str]]:
    t = pane(app).query_one(table, DataTable)
    return [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]


@pytest.fixture
def setup(manager: SecretsManager, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A vault with a value conflict (merged from a diverged copy) and a local remote."""
    vault = manager.vault
    vault.put("db/password", "base-value")
    vault.put("api/token", "t0")
    copy = tmp_path / "copy" / "vault.db"
    copy.parent.mkdir()
    shutil.copy(vault.path, copy)
    other = Vault.open(copy, KeySource.data_key(vault.data_key_for_agent()), device_id="laptop")
    vault.put("db/password", "mine-CANARY")
    other.put("db/password", "theirs-CANARY")  # later: wins the merge
    other.close()
    report = merge_file(vault, copy)
    assert [c.field for c in report.conflicts] == ["value"]
    remote = Vault.create(
        tmp_path / "remote" / "vault.db", KeySource.passphrase("r"), kdf=Argon2Params.fast()
    )
    add_remote(vault, Remote("local", "native"))

    def factory(name: str) -> Any:
        assert name == "local"
        return LocalProvider(manager.settings, vault=remote)

    yield {"factory": factory, "remote": remote}
    remote.close()


@run_async
async def test_remotes_and_conflicts_are_listed_with_values_masked(
    setup: dict[str, Any], manager: SecretsManager
) -> None:
    app = PaneApp(manager, setup["factory"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: pane(app).loaded)
        assert rows(app, "#remotes") == [["local", "native", "never", "2", "?", "ok"]]
        [conflict] = rows(app, "#conflicts")
        assert conflict[:4] == ["db/password", "value", "changed on both sides", "other"]
        await wait_for(pilot, lambda: text(app, "#mine") == MASK and text(app, "#theirs") == MASK)
        assert "CANARY" not in app.export_screenshot()
        await pilot.press("r")
        await wait_for(pilot, lambda: text(app, "#mine") == "mine-CANARY")
        assert text(app, "#theirs") == "theirs-CANARY"
        assert "v2" in text(app, "#mine-title") and "laptop" in text(app, "#theirs-title")
        await pilot.press("r")
        await wait_for(pilot, lambda: text(app, "#mine") == MASK)
        assert app.errors == []


@run_async
async def test_accept_mine_then_theirs_and_edit_merged(
    setup: dict[str, Any], manager: SecretsManager
) -> None:
    vault = manager.vault
    assert vault.get("db/password").value == "theirs-CANARY"
    app = PaneApp(manager, setup["factory"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: pane(app).loaded and rows(app, "#conflicts"))
        pane(app).query_one("#conflicts").focus()
        await pilot.press("m")
        await wait_for(pilot, lambda: not rows(app, "#conflicts"))
        assert vault.get("db/password").value == "mine-CANARY"
        assert vault.history("db/password")[-1].why == "sync conflict resolved: mine"
    # a second conflict, resolved by taking theirs, then one edited by hand
    for choice, expected in (("t", "theirs-2"), ("e", "hand-merged")):
        copy = Path(vault.path).parent / f"copy-{choice}.db"
        shutil.copy(vault.path, copy)
        other = Vault.open(
            copy, KeySource.data_key(vault.data_key_for_agent()), device_id=f"d-{choice}"
        )
        vault.put("api/token", "mine-2")
        other.put("api/token", "theirs-2")
        other.close()
        merge_file(vault, copy)
        copy.unlink()
        app2 = PaneApp(manager, setup["factory"])
        await _resolve_with_key(app2, choice)
        assert vault.get("api/token").value == expected


async def _resolve_with_key(app: PaneApp, key: str) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: pane(app).loaded and rows(app, "#conflicts"))
        await pilot.press(key)
        if key == "e":
            await wait_for(pilot, lambda: isinstance(app.focused, Input))
            assert app.focused.password  # a merged value is typed masked
            app.focused.value = "hand-merged"
            await pilot.press("enter")
        await wait_for(pilot, lambda: not rows(app, "#conflicts"))


@run_async
async def test_sync_now_plan_and_background_interval(
    setup: dict[str, Any], manager: SecretsManager
) -> None:
    remote: Vault = setup["remote"]
    app = PaneApp(manager, setup["factory"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: pane(app).loaded)
        await pilot.press("p")  # plan: nothing written
        await wait_for(pilot, lambda: "would push" in text(app, "#sync-message"))
        assert remote.names() == []
        assert rows(app, "#remotes")[0][3:5] == ["2", "0"]
        await pilot.press("s")
        await wait_for(pilot, lambda: "pushed 2" in text(app, "#sync-message"))
        assert sorted(remote.names()) == ["api/token", "db/password"]
        assert remote.get("db/password").value == "theirs-CANARY"
        await wait_for(pilot, lambda: rows(app, "#remotes")[0][2] != "never")
        assert rows(app, "#remotes")[0][3:] == ["0", "0", "ok"]
        assert [len(r.pushed) for r in app.synced] == [2]
        # a change made in the "provider" comes back with the next sync
        remote.put("api/token", "changed-remotely")
        await pilot.press("s")
        await wait_for(pilot, lambda: "pulled 1" in text(app, "#sync-message"))
        assert manager.vault.get("api/token").value == "changed-remotely"
        # background sync every 60 s
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.focused, Input))
        app.focused.value = "60"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "every 1 min" in text(app, "#sync-settings"))
        sched = getattr(app, SCHEDULER_ATTR)
        assert sched.is_running and sched.interval == 60
        sched.stop()
        assert app.errors == []
    from core.sync.service import load_config

    assert load_config(manager.vault).interval == 60


@run_async
async def test_conflict_copies_beside_the_vault_are_offered_for_merge(
    setup: dict[str, Any], manager: SecretsManager
) -> None:
    vault = manager.vault
    copy = Path(vault.path).with_name("vault.sync-conflict-20240101-120000-ABCDEFG.db")
    shutil.copy(vault.path, copy)
    other = Vault.open(copy, KeySource.data_key(vault.data_key_for_agent()), device_id="phone")
    other.put("from/phone", "added-on-phone")
    other.close()
    app = PaneApp(manager, setup["factory"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: pane(app).loaded)
        assert "1 conflict copy" in text(app, "#sync-settings")
        await pilot.press("c")
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 changed" in text(app, "#sync-message"))
    assert vault.get("from/phone").value == "added-on-phone"
