"""`vaultui --demo` shows every pane with something in it, as the screenshots do."""

from __future__ import annotations

from textual.widgets import DataTable

from tests.tui.conftest import SIZE, run, screen_name, wait_browser, wait_for


async def _open_pane(pilot, key: str, screen: str) -> None:
    await wait_browser(pilot)
    await pilot.press(key)
    await wait_for(pilot, lambda: screen_name(pilot.app) == screen, timeout=10)


def test_demo_sync_pane_shows_remotes_and_a_conflict(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await _open_pane(pilot, "y", "SyncScreen")
            await wait_for(pilot, lambda: app.screen.loaded, timeout=10)
            remotes = app.screen.query_one("#remotes", DataTable)
            conflicts = app.screen.query_one("#conflicts", DataTable)
            assert remotes.row_count == 2
            assert conflicts.row_count == 1
            assert app.screen.selected_conflict()["name"] == "shared/slack/webhook"

    run(go())


def test_demo_sync_never_reaches_the_users_servers(demo_app) -> None:
    """A user's own server settings do not reach the demo: syncing it fails at once."""

    async def go() -> None:
        app = demo_app(vault_addr="http://127.0.0.1:9", vault_token="canary-user-token")
        async with app.run_test(size=SIZE) as pilot:
            await _open_pane(pilot, "y", "SyncScreen")
            await wait_for(pilot, lambda: app.screen.loaded, timeout=10)
            await pilot.press("a")  # sync every remote
            await wait_for(pilot, lambda: len(app.screen._results) == 2, timeout=10)
            await wait_for(pilot, lambda: not app.screen.busy, timeout=10)
            assert set(app.screen._results.values()) == {"failed"}
            message = str(app.screen.query_one("#sync-message").render())
            assert "not configured" in message

    run(go())


def test_demo_backups_pane_shows_a_verified_chain(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await _open_pane(pilot, "b", "BackupsScreen")
            await wait_for(pilot, lambda: app.screen.rows, timeout=10)
            assert app.screen.query_one("#backups-table", DataTable).row_count == 2
            kinds = sorted(str(row.get("kind") or row.get("type")) for row in app.screen.rows)
            assert kinds == ["full", "incremental"], app.screen.rows

    run(go())


def test_demo_audit_pane_shows_events_and_an_alert(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await _open_pane(pilot, "a", "AuditScreen")
            await wait_for(pilot, lambda: app.screen.loaded, timeout=10)
            view = app.screen.view
            assert len(view) > 10
            operations = [view.row(i).event["operation"] for i in range(len(view))]
            assert "alert" in operations
            assert operations.count("read") > 10

    run(go())


def test_demo_rotation_pane_lists_the_policies(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await _open_pane(pilot, "o", "RotationScreen")
            await wait_for(pilot, lambda: app.screen._loaded, timeout=10)
            names = {row.name for row in app.screen.rows}
            assert {"prod/db/password", "prod/db/config", "staging/db/password"} <= names
            assert app.screen.query_one("#rotation-table", DataTable).row_count == len(
                app.screen.rows
            )

    run(go())
