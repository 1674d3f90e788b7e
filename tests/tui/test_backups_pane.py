"""The backups pane, driven with Pilot through a tiny app of its own, on a real vault."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from textual.app import App
from textual.widgets import DataTable, Input, ProgressBar, Static

from core.secrets_manager import SecretsManager
from vaultui.screens.backups import BackupsScreen, CleanupScreen, RestorePreviewScreen

SIZE = (130, 32)


def sync(test: Callable[..., Coroutine[object, object, None]]) -> Callable[..., None]:
    """Run an async Pilot test with asyncio.run (no async pytest plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


class PaneApp(App[None]):
    """Just enough app to host the pane; records what it posts."""

    def __init__(self, manager: SecretsManager, dests: list[Any] | None = None) -> None:
        super().__init__()
        self.manager = manager
        self.dests = dests
        self.restored: list[dict[str, Any]] = []

    def on_mount(self) -> None:
        self.push_screen(BackupsScreen(self.manager.backup_manager, self.dests))

    def on_backups_screen_restored(self, message: BackupsScreen.Restored) -> None:
        self.restored.append(message.result)


async def wait_for(pilot: Any, condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        await pilot.pause(0.02)


def _pane(app: App[None]) -> BackupsScreen:
    screen = app.screen_stack[1] if len(app.screen_stack) > 1 else app.screen
    assert isinstance(screen, BackupsScreen)
    return screen


def _rows(app: App[None]) -> list[list[str]]:
    table = _pane(app).query_one("#backups-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def _idle(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: _pane(app).busy is None)
    await pilot.pause(0.1)
    await wait_for(pilot, lambda: not [w for w in app.workers if w.is_running])
    await pilot.pause()


@sync
async def test_back_up_verify_restore_and_clean_up(manager: SecretsManager) -> None:
    manager.store_secret("db/password", "original", "db")
    manager.store_secret("api/token", "t-1")
    app = PaneApp(manager)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BackupsScreen))
        await _idle(pilot)
        empty = _pane(app).query_one("#backups-empty", Static)
        assert "No backups yet" in str(empty.render())

        await pilot.press("b")
        await wait_for(pilot, lambda: len(_rows(app)) == 1)
        await _idle(pilot)
        assert _rows(app)[0][1:3] == ["full", "-"]
        assert _rows(app)[0][5] == "2"  # secrets
        assert "Backed up to" in _pane(app).last_message
        full_name = _rows(app)[0][0]

        manager.store_secret("db/password", "changed", None)
        await pilot.press("i")
        await wait_for(pilot, lambda: len(_rows(app)) == 2)
        await _idle(pilot)
        newest = _rows(app)[0]
        assert newest[1] == "incremental"
        assert newest[2] == f"{newest[0]} ← {full_name}"

        await pilot.press("v")  # the incremental under the cursor: both files checked
        await wait_for(pilot, lambda: all(r[6] == "yes" for r in _rows(app)))
        await _idle(pilot)
        assert "is intact" in _pane(app).last_message

        manager.store_secret("db/password", "broken by mistake", None)
        manager.store_secret("late/one", "created later")
        await pilot.press("down")  # the full backup
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RestorePreviewScreen))
        preview = app.screen
        assert isinstance(preview, RestorePreviewScreen)
        assert preview.preview["changed"] == ["db/password"]
        assert preview.preview["kept"] == ["late/one"]
        assert manager.retrieve_secret("db/password") == "broken by mistake"  # dry run only
        await pilot.press("y")
        await wait_for(pilot, lambda: app.restored)
        await _idle(pilot)
        assert manager.retrieve_secret("db/password") == "original"
        assert manager.retrieve_secret("late/one") == "created later"
        assert app.restored[0]["counts"]["changed"] == 1

        await pilot.press("r")  # again, exactly: the later secret goes
        await wait_for(pilot, lambda: isinstance(app.screen, RestorePreviewScreen))
        await pilot.press("x")
        await wait_for(pilot, lambda: len(app.restored) == 2)
        await _idle(pilot)
        assert manager.retrieve_secret("late/one") is None

        await pilot.press("b")
        await wait_for(pilot, lambda: len(_rows(app)) == 3)
        await _idle(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CleanupScreen))
        days = app.screen.query_one("#keep-days", Input)
        days.value = "0"
        app.screen.query_one("#keep-last", Input).value = "1"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(_rows(app)) == 1)
        await _idle(pilot)
        assert "Deleted 2 old backups" in _pane(app).last_message
        bar = _pane(app).query_one("#backups-progress", ProgressBar)
        assert not bar.display


@sync
async def test_damage_and_errors_are_shown_not_raised(manager: SecretsManager) -> None:
    manager.store_secret("a", "1")
    path = Path(manager.create_backup("only"))
    data = bytearray(path.read_bytes())
    data[-40] ^= 0xFF  # in the body: the manifest still reads, the file does not verify
    path.write_bytes(bytes(data))
    header_damaged = Path(manager.create_backup("head"))
    data = bytearray(header_damaged.read_bytes())
    data[30] ^= 0xFF
    header_damaged.write_bytes(bytes(data))
    app = PaneApp(manager)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(_rows(app)) == 2)
        await _idle(pilot)
        statuses = {r[0]: r[7] for r in _rows(app)}
        assert statuses == {"only": "ok", "head": "damaged"}
        await pilot.press("down")
        assert _pane(app).selected_name() == "only"
        await pilot.press("v")
        await _idle(pilot)
        assert "Backup integrity check failed: only" in _pane(app).last_message
        await pilot.press("r")
        await _idle(pilot)
        assert isinstance(app.screen, BackupsScreen)  # no preview: refused
        assert "Backup integrity check failed" in _pane(app).last_message
        assert manager.retrieve_secret("a") == "1"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, BackupsScreen)


@sync
async def test_each_destination_is_shown_and_d_switches_to_it(
    manager: SecretsManager, tmp_path: Path
) -> None:
    from core.backup.destinations import Destination

    manager.store_secret("db/password", "original", "db")
    drive = tmp_path / "usb"
    drive.mkdir()
    dests = [
        Destination(manager.backup_manager.backups_dir, "home"),
        Destination(drive / "vaultui", "configured"),
        Destination(tmp_path / "unplugged" / "vaultui", "configured"),
    ]
    manager.backup_manager.create_backup("at-home")
    app = PaneApp(manager, dests)  # a drive folder, and one on an unmounted drive
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BackupsScreen))
        await _idle(pilot)
        table = _pane(app).query_one("#backups-destinations", DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(3)]
        assert rows[0][0] == "▶" and rows[0][2:4] == ["home", "1"]
        assert rows[1][1] == str(drive / "vaultui") and rows[1][3] == "0"
        assert "mounted" in rows[2][5]
        assert [r[0] for r in _rows(app)] == ["at-home"]

        await pilot.press("d")  # the drive: not created yet, empty
        await _idle(pilot)
        empty = str(_pane(app).query_one("#backups-empty", Static).render())
        assert "is not there" in empty and _rows(app) == []
        await pilot.press("b")  # back up there: the folder is made 0700
        await wait_for(pilot, lambda: len(_rows(app)) == 1)
        await _idle(pilot)
        assert (drive / "vaultui").stat().st_mode & 0o777 == 0o700
        assert len(list((drive / "vaultui").glob("*.vbak"))) == 1
        await wait_for(pilot, lambda: str(table.get_row_at(1)[3]) == "1")
        assert str(table.get_row_at(1)[0]) == "▶"

        await pilot.press("d")  # the unplugged one: b refuses, nothing made
        await _idle(pilot)
        await pilot.press("b")
        await _idle(pilot)
        assert "does not exist" in _pane(app).last_message
        assert not (tmp_path / "unplugged").exists()

        await pilot.press("d")  # back home
        await _idle(pilot)
        assert [r[0] for r in _rows(app)] == ["at-home"]
