"""The trash: deleted secrets with when they were deleted, undelete (u) and purge (p,
after a confirmation that names the secret and says it is final)."""

from __future__ import annotations

from tests.trail import app_events
from tests.tui.conftest import SIZE, run, screen_name, wait_browser, wait_for
from vaultui.palette import screen_commands


def _rows(app) -> list[list[str]]:
    table = app.screen.query_one("#trash-table")
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _audit(app, name: str) -> list[tuple[str, bool]]:
    return [(e["operation"], e["success"]) for e in app_events(app) if e.get("secret_name") == name]


async def _open_trash(pilot) -> None:
    await pilot.press("D")
    await wait_for(pilot, lambda: screen_name(pilot.app) == "TrashScreen")


def test_trash_lists_deleted_secrets_and_undeletes(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await _open_trash(pilot)
            note = app.screen.query_one("#trash-note")
            await wait_for(pilot, lambda: "empty" in str(note.render()))
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")

            app.manager.delete_secret("ci/npm/token")
            app.manager.delete_secret("api/jwt_signing_key")  # deleted last: listed first
            await _open_trash(pilot)
            await wait_for(pilot, lambda: len(_rows(app)) == 2)
            rows = _rows(app)
            assert [r[0] for r in rows] == ["api/jwt_signing_key", "ci/npm/token"]
            assert rows[0][1][:4].isdigit() and rows[0][2] == "just now"
            assert "2 deleted secrets" in str(app.screen.query_one("#trash-note").render())

            await pilot.press("u")  # the highlighted (first) one comes back
            await wait_for(pilot, lambda: [r[0] for r in _rows(app)] == ["ci/npm/token"])
            assert app.manager.vault.get("api/jwt_signing_key") is not None
            assert ("undelete", True) in _audit(app, "api/jwt_signing_key")
            await pilot.press("escape")
            browser = app.browser()
            await wait_for(pilot, lambda: "api/jwt_signing_key" in browser.table.rows)

    run(go())


def test_purge_asks_naming_the_secret_and_is_final(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            app.manager.delete_secret("ci/npm/token")
            await _open_trash(pilot)
            await wait_for(pilot, lambda: len(_rows(app)) == 1)

            await pilot.press("p")
            await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
            question = str(app.screen.query_one(".dialog-body").render())
            assert "ci/npm/token" in question and "final" in question
            await pilot.press("n")  # no: nothing happens
            await wait_for(pilot, lambda: screen_name(app) == "TrashScreen")
            assert app.manager.vault.record("ci/npm/token", include_deleted=True) is not None

            await pilot.press("p")
            await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
            await pilot.press("y")
            note = app.screen.query_one("#trash-note")
            await wait_for(pilot, lambda: "empty" in str(note.render()))
            assert app.manager.vault.record("ci/npm/token", include_deleted=True) is None
            assert ("purge", True) in _audit(app, "ci/npm/token")
            assert not app.manager.undelete_secret("ci/npm/token")

    run(go())


def test_trash_is_in_the_command_palette(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            assert "Trash" in {c.title for c in screen_commands(app.screen)}
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: screen_name(app) == "CommandPalette")
            await pilot.press(*"trash")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "TrashScreen")

    run(go())
