"""Snapshot tests (pytest-textual-snapshot) of every screen, on the demo vault.

Deterministic: fixed terminal size, the demo's fixed timestamps, no optional panes, and
only demo values (obviously fake) are ever revealed. Update with
``pytest tests/tui/test_snapshots.py --snapshot-update`` after a deliberate change.
"""

from __future__ import annotations

import dataclasses

import pytest

from core.config import Settings
from core.vault import Argon2Params, KeySource, Vault
from tests.tui.conftest import filter_to, screen_name, wait_browser, wait_for
from vaultui.app import VaultApp, create_app

SIZE = (110, 32)


@pytest.fixture
def demo(settings: Settings):
    """A factory of demo apps without optional panes; cleaned up afterwards."""
    apps: list[VaultApp] = []

    def make() -> VaultApp:
        app = create_app(dataclasses.replace(settings, idle_lock_seconds=0), demo=True, panes=())
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.cleanup()


def until(name: str, *keys: str, then=None, filter: str | None = None):
    """A run_before that waits for the browser, filters by ``filter``, presses ``keys``,
    and waits for screen ``name``."""

    async def run_before(pilot) -> None:
        await wait_browser(pilot)
        if filter is not None:
            await filter_to(pilot, filter)
        if keys:
            await pilot.press(*keys)
        await wait_for(pilot, lambda: screen_name(pilot.app) == name)
        if then is not None:
            await then(pilot)
        await pilot.pause(0.1)

    return run_before


async def _record_loaded(pilot) -> None:
    await wait_for(pilot, lambda: pilot.app.screen.record is not None)


async def _revealed(pilot) -> None:
    await wait_for(pilot, lambda: pilot.app.screen.query_one("#detail-value").revealed)


async def _editor_loaded(pilot) -> None:
    await wait_for(pilot, lambda: len(pilot.app.screen.query("FieldRow")) == 5)


async def _history_loaded(pilot) -> None:
    await wait_for(pilot, lambda: pilot.app.screen.query_one("#history-table").row_count > 0)


def test_browser(snap_compare, demo) -> None:
    assert snap_compare(demo(), terminal_size=SIZE, run_before=until("BrowserScreen"))


def test_browser_filtered(snap_compare, demo) -> None:
    async def run_before(pilot) -> None:
        await wait_browser(pilot)
        await pilot.press("slash", *"prod")
        await filter_to(pilot, "prod #team=platform")
        await wait_for(pilot, lambda: len(pilot.app.browser().table.rows) == 3)

    assert snap_compare(demo(), terminal_size=SIZE, run_before=run_before)


def test_detail_masked(snap_compare, demo) -> None:
    run_before = until("DetailScreen", "enter", then=_record_loaded, filter="pdbpw")
    assert snap_compare(demo(), terminal_size=SIZE, run_before=run_before)


def test_detail_revealed_demo_value(snap_compare, demo) -> None:
    async def then(pilot) -> None:
        await _record_loaded(pilot)
        await pilot.press("r")
        await _revealed(pilot)

    run_before = until("DetailScreen", "enter", then=then, filter="pdbpw")
    assert snap_compare(demo(), terminal_size=SIZE, run_before=run_before)


def test_editor_dict(snap_compare, demo) -> None:
    run_before = until(
        "EditorScreen", "slash", *"prod/db/config", "enter", "e", then=_editor_loaded
    )
    assert snap_compare(demo(), terminal_size=SIZE, run_before=run_before)


def test_history(snap_compare, demo) -> None:
    run_before = until(
        "HistoryScreen", "slash", *"staging/db/p", "enter", "h", then=_history_loaded
    )
    assert snap_compare(demo(), terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare, demo) -> None:
    assert snap_compare(demo(), terminal_size=SIZE, run_before=until("HelpScreen", "question_mark"))


def test_command_palette(snap_compare, demo) -> None:
    async def then(pilot) -> None:
        from textual.widgets import Input

        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor made this snapshot flaky
        # one provider's hits only: the order of several providers' hits can vary
        await pilot.press(*"undo")
        await pilot.pause(0.6)

    run_before = until("CommandPalette", "ctrl+p", then=then)
    assert snap_compare(demo(), terminal_size=SIZE, run_before=run_before)


def test_generator_masked(snap_compare, demo) -> None:
    run_before = until("GeneratorScreen", "n", "ctrl+g")
    assert snap_compare(demo(), terminal_size=SIZE, run_before=run_before)


def test_confirm_delete(snap_compare, demo) -> None:
    assert snap_compare(demo(), terminal_size=SIZE, run_before=until("ConfirmScreen", "d"))


def test_tag_filter(snap_compare, demo) -> None:
    assert snap_compare(demo(), terminal_size=SIZE, run_before=until("TagFilterScreen", "t"))


def test_error_modal(snap_compare, demo) -> None:
    async def run_before(pilot) -> None:
        from core.errors import ConflictError

        await wait_browser(pilot)
        pilot.app.show_error(ConflictError("Secret 'prod/db/password' is at version 4, not 3"))
        await wait_for(pilot, lambda: pilot.app.screen.query("#error-title"))
        await pilot.pause(0.1)

    assert snap_compare(demo(), terminal_size=SIZE, run_before=run_before)


def test_unlock_create(snap_compare, settings: Settings) -> None:
    app = create_app(settings, panes=())

    async def run_before(pilot) -> None:
        await wait_for(pilot, lambda: screen_name(pilot.app) == "UnlockScreen")
        pilot.app.screen.query_one("#passphrase").value = "not-a-real-passphrase"
        await pilot.press("enter", *"not")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    app.cleanup()


def test_unlock_wrong_passphrase(snap_compare, settings: Settings) -> None:
    from core.config import ensure_home

    ensure_home(settings)
    Vault.create(
        settings.vault_path, KeySource.passphrase("right passphrase"), kdf=Argon2Params.fast()
    ).close()
    app = create_app(settings, panes=())

    async def run_before(pilot) -> None:
        await wait_for(pilot, lambda: screen_name(pilot.app) == "UnlockScreen")
        pilot.app.screen.query_one("#passphrase").value = "wrong passphrase"
        await pilot.press("enter")
        await wait_for(pilot, lambda: pilot.app.screen.failed_attempts == 1)
        await wait_for(pilot, lambda: not pilot.app.screen.busy)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    app.cleanup()


def test_import_dialog(snap_compare, demo) -> None:
    assert snap_compare(demo(), terminal_size=SIZE, run_before=until("ImportScreen", "I"))


SMALL_AND_WIDE = [(80, 24), (160, 45)]
"""The smallest usual terminal and a wide one: every main screen must read well in both."""


@pytest.mark.parametrize("size", SMALL_AND_WIDE, ids=["80x24", "160x45"])
def test_browser_at(snap_compare, demo, size) -> None:
    assert snap_compare(demo(), terminal_size=size, run_before=until("BrowserScreen"))


@pytest.mark.parametrize("size", SMALL_AND_WIDE, ids=["80x24", "160x45"])
def test_detail_at(snap_compare, demo, size) -> None:
    run_before = until("DetailScreen", "enter", then=_record_loaded, filter="pdbpw")
    assert snap_compare(demo(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SMALL_AND_WIDE, ids=["80x24", "160x45"])
def test_editor_at(snap_compare, demo, size) -> None:
    run_before = until(
        "EditorScreen", "slash", *"prod/db/config", "enter", "e", then=_editor_loaded
    )
    assert snap_compare(demo(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SMALL_AND_WIDE, ids=["80x24", "160x45"])
def test_help_at(snap_compare, demo, size) -> None:
    assert snap_compare(demo(), terminal_size=size, run_before=until("HelpScreen", "question_mark"))
