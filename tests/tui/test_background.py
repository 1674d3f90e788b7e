"""What the app starts after unlock: the conflict-copy offer, background sync, the
rotation worker (a Textual worker inside the app)."""

from __future__ import annotations

import shutil

from vaultui.app import create_app

from .conftest import SIZE, run, wait_browser, wait_for


def test_conflict_copies_beside_the_vault_are_offered(key_file_vault) -> None:
    settings = key_file_vault
    copy = settings.vault_path.with_name("vault.sync-conflict-20261128-101500-ABCDEFG.db")
    shutil.copy(settings.vault_path, copy)

    async def go() -> None:
        app = create_app(settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await wait_for(
                pilot, lambda: any("conflict cop" in n.message for n in app._notifications)
            )
            note = next(n for n in app._notifications if "conflict cop" in n.message)
            assert copy.name in note.message

    run(go())


def test_rotation_worker_runs_inside_the_app_and_stops_on_lock(key_file_vault) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await wait_for(pilot, lambda: app.manager.rotation_manager.is_running, timeout=10)
            manager = app.manager
            await app.action_lock()
            await wait_for(pilot, lambda: not manager.rotation_manager.is_running, timeout=10)

    run(go())
