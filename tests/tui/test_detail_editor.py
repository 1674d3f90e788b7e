"""Detail (masked value, reveal, copy), editor (str, dict, JSON, generator, conflicts),
history and rollback."""

from __future__ import annotations

import json

from core.config import Settings
from tests.trail import has_event, trail_events
from tests.tui.conftest import (
    SIZE,
    filter_to,
    other_process_vault,
    run,
    screen_name,
    wait_browser,
    wait_for,
)
from vaultui.app import create_app
from vaultui.strength import AMBIGUOUS
from vaultui.widgets.masked import MASK


async def open_detail(pilot, name: str) -> None:
    app = pilot.app
    await wait_browser(pilot)
    await filter_to(pilot, name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
    assert app.screen.secret_name == name
    await wait_for(pilot, lambda: app.screen.record is not None)


def shown(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def test_value_is_masked_until_revealed_and_reveal_is_audited(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot, "prod/db/password")
            assert MASK in shown(app, "#detail-value")
            meta = shown(app, "#detail-meta")
            assert "Postgres password for the orders service" in meta
            assert "monthly" in meta and "3  (PREVIOUS v2)" in meta
            key = app.manager.vault.derive_key("audit")
            events = trail_events(app.settings.audit_log_path, key)
            assert not has_event(events, secret_name="prod/db/password")  # opening reads nothing
            await pilot.press("r")
            await wait_for(pilot, lambda: "demo-password-not-real" in shown(app, "#detail-value"))
            log = app.settings.audit_log_path.read_text()
            events = trail_events(app.settings.audit_log_path, key)
            assert has_event(events, operation="reveal", secret_name="prod/db/password")
            assert "demo-password-not-real" not in log and "prod/db/password" not in log
            await pilot.press("r")  # hide again
            assert MASK in shown(app, "#detail-value")
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")

    run(go())


def test_dict_secret_shows_fields_and_copies_one_field(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot, "prod/db/config")
            await pilot.press("f")  # copy the first field without revealing
            await wait_for(pilot, lambda: app.clipboard == "db.demo.internal")
            table = app.screen.query_one("#detail-fields")
            assert table.display and table.get_row_at(3) == ["password", MASK]
            await pilot.press("r")
            await wait_for(pilot, lambda: table.get_row_at(3) == ["password", "demo-db-pass-2"])
            assert table.get_row_at(1) == ["port", "5432"]
            await pilot.press("c")  # whole value as JSON
            await wait_for(pilot, lambda: app.clipboard.startswith("{"))
            assert json.loads(app.clipboard)["password"] == "demo-db-pass-2"
            events = trail_events(
                app.settings.audit_log_path, app.manager.vault.derive_key("audit")
            )
            assert has_event(events, operation="copy", secret_name="prod/db/config", field="host")
            assert "prod/db/config" not in app.settings.audit_log_path.read_text()

    run(go())


def test_new_secret_with_the_generator(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            app.screen.query_one("#editor-name").value = "new/generated"
            await pilot.press("ctrl+g")
            await wait_for(pilot, lambda: screen_name(app) == "GeneratorScreen")
            gen = app.screen
            assert MASK in str(gen.query_one("#gen-preview").render())
            length = gen.query_one("#gen-length")
            length.value = "30"
            await pilot.pause()
            await pilot.press("ctrl+g")
            value = gen.value
            assert value is not None and len(value) == 30
            assert not set(value) & set(AMBIGUOUS)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            editor = app.screen
            assert editor.query_one("#editor-value").value == value
            editor.query_one("#editor-description").value = "made by the generator"
            editor.query_one("#editor-tags").value = "env=test owner=me"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            secret = app.manager.vault.get("new/generated")
            assert secret.value == value
            assert secret.record.description == "made by the generator"
            assert secret.record.tags == {"env": "test", "owner": "me"}
            await wait_for(pilot, lambda: app.browser().table.current == "new/generated")

    run(go())


def test_new_secret_validation_messages(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            app.screen.query_one("#editor-name").value = "bad name!"
            await pilot.press("ctrl+s")
            assert "Invalid" in shown(app, "#editor-message") or "name" in shown(
                app, "#editor-message"
            )
            app.screen.query_one("#editor-name").value = "prod/db/password"
            await pilot.press("ctrl+s")
            assert "empty" in shown(app, "#editor-message")
            app.screen.query_one("#editor-value").value = "x"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "already exists" in shown(app, "#editor-message"))
            assert app.manager.vault.get("prod/db/password").value == "demo-password-not-real"

    run(go())


def test_edit_a_str_value_makes_a_new_version(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot, "staging/redis/url")
            await pilot.press("e")
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            editor = app.screen
            await wait_for(pilot, lambda: editor.record is not None)
            value_input = editor.query_one("#editor-value")
            assert value_input.password  # masked while editing
            await pilot.press("ctrl+r")
            assert not value_input.password
            value_input.value = "redis://demo-changed"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            secret = app.manager.vault.get("staging/redis/url")
            assert secret.value == "redis://demo-changed" and secret.record.version == 2
            await wait_for(pilot, lambda: "Version      2" in shown(app, "#detail-meta"))

    run(go())


def test_edit_dict_field_by_field_and_as_validated_json(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot, "prod/db/config")
            await pilot.press("e")
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            editor = app.screen
            await wait_for(pilot, lambda: len(editor.query("FieldRow")) == 5)
            rows = list(editor.query("FieldRow"))
            rows[2].query_one(".field-value").value = "orders_rw"  # username
            await pilot.press("ctrl+n")  # add a field
            await pilot.pause()
            new = list(editor.query("FieldRow"))[-1]
            new.query_one(".field-key").value = "pool_size"
            new.query_one(".field-value").value = "10"
            # the JSON tab shows the fields; invalid JSON is refused with its position
            await pilot.press("ctrl+t")
            area = editor.query_one("#editor-json")
            data = json.loads(area.text)
            assert data["username"] == "orders_rw" and data["port"] == 5432
            area.text = '{"host": "db", "port": '
            await pilot.press("ctrl+s")
            assert "Invalid JSON at line 1" in shown(app, "#editor-message")
            assert app.manager.vault.get("prod/db/config").record.version == 2
            data["sslmode"] = "verify-full"
            area.text = json.dumps(data)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            secret = app.manager.vault.get("prod/db/config")
            assert secret.record.version == 3
            assert secret.value == {
                "host": "db.demo.internal",
                "port": 5432,
                "username": "orders_rw",
                "password": "demo-db-pass-2",
                "sslmode": "verify-full",
                "pool_size": "10",
            }

    run(go())


def test_editor_refuses_to_overwrite_a_change_made_underneath(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await pilot.press("e")  # app/api_key
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            editor = app.screen
            await wait_for(pilot, lambda: editor.record is not None)
            editor.query_one("#editor-value").value = "canary-mine"
            other = other_process_vault(key_file_vault)
            other.put("app/api_key", "canary-theirs")
            other.close()
            # the live reload notices first and says so
            banner = editor.query_one("#editor-conflict")
            await wait_for(pilot, lambda: banner.display, timeout=3)
            assert "changed by another process (now version 2)" in str(banner.render())
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "Not saved" in str(banner.render()))
            assert app.manager.vault.get("app/api_key").value == "canary-theirs"
            await wait_for(pilot, lambda: screen_name(app) == "ConflictScreen")
            await pilot.press("escape")  # the conflict dialog: back to the form
            await wait_for(pilot, lambda: app.screen is editor)
            await pilot.press("ctrl+o")  # load theirs
            await wait_for(pilot, lambda: not banner.display)
            assert editor.query_one("#editor-value").value == "canary-theirs"
        app.cleanup()

    run(go())


def test_history_lists_versions_and_rolls_back(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot, "staging/db/password")
            await pilot.press("h")
            await wait_for(pilot, lambda: screen_name(app) == "HistoryScreen")
            table = app.screen.query_one("#history-table")
            await wait_for(pilot, lambda: table.row_count == 4)
            assert table.get_row_at(0)[:4] == ["4", "CURRENT", "2025-03-29 09:00:00", "demo"]
            assert table.get_row_at(3)[4] == "created"
            await pilot.press("enter")  # current: nothing to do
            assert screen_name(app) == "HistoryScreen"
            await pilot.press("down", "down", "down", "b")  # version 1
            await wait_for(pilot, lambda: screen_name(app) == "RollbackDiffScreen")
            # what would change is shown first, masked
            await wait_for(pilot, lambda: "~ value" in shown(app, "#rollback-diff"))
            diff = shown(app, "#rollback-diff")
            assert diff == "~ value: •••• (19 chars) -> •••• (19 chars)"
            await pilot.press("r")
            await wait_for(pilot, lambda: "demo-staging" in shown(app, "#rollback-diff"))
            diff = shown(app, "#rollback-diff")
            assert "-demo-staging-pass-4" in diff and "+demo-staging-pass-1" in diff
            await pilot.press("r")  # hide again before answering
            assert "demo-staging" not in shown(app, "#rollback-diff")
            log = app.settings.audit_log_path.read_text()
            assert '"operation": "history_diff"' in log and "demo-staging-pass" not in log
            await pilot.press("y")
            await wait_for(pilot, lambda: table.row_count == 5)
            secret = app.manager.vault.get("staging/db/password")
            assert secret.value == "demo-staging-pass-1" and secret.record.version == 5
            assert "rollback to version 1" in table.get_row_at(0)[4]

    run(go())


def test_delete_from_the_detail_screen(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot, "ci/npm/token")
            await pilot.press("d", "y")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            browser = app.browser()
            await wait_for(pilot, lambda: "ci/npm/token" not in browser.table.rows)
            assert browser.undo_stack == ["ci/npm/token"]

    run(go())


def test_multiline_and_binary_values_in_the_editor(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            app.manager.vault.put("blob/key", b"\x00\x01binary")
            await open_detail(pilot, "prod/tls/wildcard_cert")
            await pilot.press("e")
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            editor = app.screen
            await wait_for(pilot, lambda: editor.record is not None)
            area = editor.query_one("#editor-multiline")
            assert area.display and "BEGIN CERTIFICATE" in area.text
            area.text = area.text.replace("DEMO-CERTIFICATE", "DEMO-RENEWED")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            assert "DEMO-RENEWED" in app.manager.vault.get("prod/tls/wildcard_cert").value
            await pilot.press("escape")
            await open_detail(pilot, "blob/key")
            await pilot.press("e")
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            editor = app.screen
            await wait_for(pilot, lambda: editor.record is not None)
            assert "binary data" in shown(app, "#editor-message")
            editor.query_one("#editor-description").value = "a binary key"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            secret = app.manager.vault.get("blob/key")
            assert secret.value == b"\x00\x01binary" and secret.record.description == "a binary key"

    run(go())
