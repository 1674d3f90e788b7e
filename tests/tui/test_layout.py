"""Every screen readable at 80x24 and at 160 columns: footers keep Esc, ? and Ctrl+P,
and the tables give the names the room."""

from __future__ import annotations

import pytest

from tests.tui.conftest import run, screen_name, wait_browser, wait_for
from vaultui.widgets.key_footer import KeyFooter

PANES = [
    ("a", "AuditScreen"),
    ("o", "RotationScreen"),
    ("b", "BackupsScreen"),
    ("y", "SyncScreen"),
    ("i", "StatusScreen"),
]


def _footer_lines(app) -> list[str]:
    footer = app.screen.query_one(KeyFooter)
    return [footer.render_line(y).text.rstrip() for y in range(footer.size.height)]


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
def test_every_pane_footer_keeps_esc_help_and_the_palette(demo_app, size) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=size) as pilot:
            await wait_browser(pilot)
            lines = _footer_lines(app)
            text = "\n".join(lines)
            assert "esc Clear" in text and "? Help" in text and "^p Commands" in text
            assert "q Quit" in text
            for key, name in PANES:
                await pilot.press(key)
                await wait_for(pilot, lambda name=name: screen_name(app) == name)
                await pilot.pause()
                lines = _footer_lines(app)
                text = "\n".join(lines)
                assert "esc Back" in text, (name, lines)
                assert "? Help" in text and "^p Commands" in text, (name, lines)
                assert all(len(line) <= size[0] for line in lines)
                await pilot.press("escape")
                await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")

    run(go())


def _table_lines(table) -> list[str]:
    return [table.render_line(y).text.rstrip() for y in range(table.size.height)]


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
def test_secret_names_get_the_room_at_80_columns(demo_app, size) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=size) as pilot:
            await wait_browser(pilot)
            lines = _table_lines(app.browser().table)
            text = "\n".join(lines)
            for name in ("prod/tls/wildcard_cert", "api/jwt_signing_key", "staging/redis/url"):
                assert name in text, (name, lines)
            row = next(line for line in lines if line.startswith("prod/db/password "))
            if size[0] >= 100:  # every column, the time of day included
                assert "Sync" in lines[0] and "2025-05-02 09:00" in row and "local" in row
            else:  # the date only, no sync column: the names are whole
                assert "Sync" not in lines[0] and "2025-05-02" in row and "09:00" not in row
            assert all(len(line) <= size[0] for line in lines)

    run(go())


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
def test_the_audit_table_keeps_secret_names_readable(demo_app, size) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=size) as pilot:
            await wait_browser(pilot)
            await pilot.press("a")
            await wait_for(pilot, lambda: screen_name(app) == "AuditScreen")
            table = app.screen.query_one("AuditTable")
            await wait_for(pilot, lambda: table.row_count > 0)
            await pilot.pause()
            lines = _table_lines(table)
            assert "Secret" in lines[0] and "Error / message" in lines[0]
            assert any("prod/aws/root" in line and "Secret not found" in line for line in lines)
            if size[0] >= 120:
                assert "User" in lines[0] and "Source" in lines[0]
                assert any("backup_create " in line for line in lines)  # whole, not "backup_crea…"

    run(go())


def test_help_fits_an_80_column_terminal(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_browser(pilot)
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: screen_name(app) == "HelpScreen")
            await pilot.pause()
            dialog = app.screen.query_one(".help-dialog")
            assert dialog.region.x >= 0 and dialog.region.right <= 80

    run(go())


def test_a_toast_shows_once_with_the_whole_name_at_80_columns(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await wait_browser(pilot)
            table = app.browser().table
            table.cursor_row = list(table.rows).index("prod/tls/wildcard_cert")
            await pilot.press("c")
            await pilot.pause(0.2)
            await pilot.press("c")  # the same toast again, while the first still shows
            await pilot.pause(0.3)
            toasts = [
                [t.render_line(y).text.strip() for y in range(t.size.height)]
                for t in app.screen.query("Toast")
            ]
            assert len(toasts) == 1, toasts
            assert any(line.startswith("Copied prod/tls/wildcard_cert.") for line in toasts[0])
            app.notify("Saved prod/orders-service/database/primary/password (version 12).")
            await pilot.pause(0.3)
            lines = [
                t.render_line(y).text.strip()
                for t in app.screen.query("Toast")
                for y in range(t.size.height)
            ]
            assert any("prod/orders-service/database/primary/password" in line for line in lines)

    run(go())
