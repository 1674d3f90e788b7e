"""The editor as a new user meets it: field types kept, no silent loss on Esc, a save
conflict resolved without losing either side, and every value masked until revealed."""

from __future__ import annotations

from core.config import Settings
from tests.tui.conftest import SIZE, other_process_vault, run, screen_name, wait_browser, wait_for
from vaultui.app import create_app


async def open_editor(pilot, name: str) -> None:
    """Open the editor on ``name`` (from the browser) and wait for its value."""
    app = pilot.app
    await wait_browser(pilot)
    browser = app.browser()
    browser.table.cursor_row = list(browser.table.rows).index(name)
    await pilot.pause()
    await pilot.press("e")
    await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
    editor = app.screen
    await wait_for(pilot, lambda: editor.record is not None)
    if isinstance(editor.original, dict):
        await wait_for(pilot, lambda: len(editor.query("FieldRow")) == len(editor.original))
    await pilot.pause()


def field_input(editor, key: str, part: str = "value"):
    for row in editor.query("FieldRow"):
        if row.key == key:
            return row.query_one(f".field-{part}")
    raise AssertionError(f"no field {key!r}")


def test_a_number_field_edited_in_fields_mode_stays_a_number(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await open_editor(pilot, "app/db")  # {"host", "port": 5432, "password"}
            editor = app.screen
            field_input(editor, "port").value = "9443"
            field_input(editor, "host").value = "10.0.0.7"
            await pilot.press("ctrl+n")
            await pilot.pause()
            new = list(editor.query("FieldRow"))[-1]
            new.query_one(".field-key").value = "replicas"
            new.query_one(".field-value").value = "3"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) != "EditorScreen")
            value = app.manager.vault.get("app/db").value
            assert value == {
                "host": "10.0.0.7",
                "port": 9443,  # was a number: still one (not "9443")
                "password": "canary-db-pw",
                "replicas": "3",  # a new field is text, as typed
            }
            # a number field given text that is no number becomes text (nothing lost)
            await open_editor(pilot, "app/db")
            editor = app.screen
            field_input(editor, "port").value = "auto"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) != "EditorScreen")
            assert app.manager.vault.get("app/db").value["port"] == "auto"
        app.cleanup()

    run(go())


def test_each_json_type_is_kept_when_the_edit_parses_as_it() -> None:
    from vaultui.screens.editor_form import typed_field

    assert typed_field(5432, "9443") == 9443
    assert typed_field(0.5, "0.75") == 0.75 and typed_field(1, "1.5") == 1.5
    assert typed_field(True, "false") is False and typed_field(True, "no") == "no"
    assert typed_field(None, "null") is None and typed_field(None, "x") == "x"
    assert typed_field([1, 2], "[3]") == [3] and typed_field({"a": 1}, "[3]") == "[3]"
    assert typed_field("8443", "9443") == "9443"  # a string stays a string
    assert typed_field(7, "NaN") == "NaN" and typed_field(7, "true") == "true"


def test_esc_asks_before_throwing_away_a_changed_form(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            # nothing changed: Esc leaves at once
            await open_editor(pilot, "app/db")
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            # a changed field: Esc asks; "n" keeps the form as it was
            await open_editor(pilot, "app/db")
            editor = app.screen
            field_input(editor, "host").focus()
            await pilot.press("end", *"-new")
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
            assert "Leave and lose your changes to app/db?" in str(
                app.screen.query_one(".dialog-body").render()
            )
            await pilot.press("n")
            await wait_for(pilot, lambda: app.screen is editor)
            assert field_input(editor, "host").value == "db.local-new"
            # "y" leaves without saving
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
            await pilot.press("y")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            assert app.manager.vault.get("app/db").value["host"] == "db.local"
            # a new secret with only a name typed counts as changed too
            await pilot.press("n")
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            await pilot.pause()
            await pilot.press(*"draft/name", "escape")
            await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
            await pilot.press("escape")  # the dialog's own "no"
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            # an edit undone by hand is no change
            await pilot.press(*["backspace"] * len("draft/name"), "escape")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
        app.cleanup()

    run(go())


def _drawn(widget) -> str:
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


def test_the_json_tab_and_multi_line_values_are_masked_until_revealed(
    key_file_vault: Settings,
) -> None:
    vault = other_process_vault(key_file_vault)
    vault.put("tls/key", "-----BEGIN KEY-----\ncanary-line-two\n-----END KEY-----\n")
    vault.close()

    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await open_editor(pilot, "app/db")
            editor = app.screen
            await pilot.press("ctrl+t")  # the JSON tab
            area = editor.query_one("#editor-json")
            await wait_for(pilot, lambda: area.region.height > 0)
            await pilot.pause()
            shown = _drawn(area)
            assert "canary-db-pw" not in shown and "5432" not in shown and "db.local" not in shown
            assert '"password":' in shown and '"port":' in shown and "•" in shown
            await pilot.press("ctrl+r")
            await pilot.pause()
            shown = _drawn(area)
            assert '"password": "canary-db-pw"' in shown and '"port": 5432' in shown
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert "canary-db-pw" not in _drawn(area)
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            # a value of several lines opens in the text area, masked too
            await open_editor(pilot, "tls/key")
            box = app.screen.query_one("#editor-multiline")
            assert box.display
            shown = _drawn(box)
            assert "canary-line-two" not in shown and "BEGIN" not in shown and "•" in shown
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert "canary-line-two" in _drawn(box)
        app.cleanup()

    run(go())


async def _save_into_a_conflict(pilot, key_file_vault: Settings, name: str, theirs) -> None:
    """Another process saves ``theirs`` as ``name``; Ctrl+S then shows both sides."""
    other = other_process_vault(key_file_vault)
    other.put(name, theirs)
    other.close()
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: screen_name(pilot.app) == "ConflictScreen")
    await pilot.pause()


def _dialog_text(app) -> str:
    lines = []
    for widget in app.screen.query("Static, DataTable"):
        lines += [widget.render_line(y).text for y in range(widget.size.height)]
    return "\n".join(lines)


def test_a_save_conflict_lets_me_keep_my_value_or_take_theirs(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await open_editor(pilot, "app/api_key")
            editor = app.screen
            editor.query_one("#editor-value").value = "canary-mine"
            await _save_into_a_conflict(pilot, key_file_vault, "app/api_key", "canary-theirs")
            shown = _dialog_text(app)
            assert "saved as version 2 while you edited it" in shown
            assert "canary" not in shown  # both sides masked
            await pilot.press("r")
            await pilot.pause()
            shown = _dialog_text(app)
            assert "canary-mine" in shown and "canary-theirs" in shown
            await pilot.press("k")  # keep mine: saved over their version
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            secret = app.manager.vault.get("app/api_key")
            assert secret.value == "canary-mine" and secret.record.version == 3
            history = [v.version for v in app.manager.vault.history("app/api_key")]
            assert 2 in history  # theirs is kept in the history

            # take theirs: nothing saved, the editor shows their value
            await open_editor(pilot, "app/api_key")
            editor = app.screen
            editor.query_one("#editor-value").value = "canary-mine-again"
            await _save_into_a_conflict(pilot, key_file_vault, "app/api_key", "canary-theirs-2")
            await pilot.press("t")
            await wait_for(pilot, lambda: app.screen is editor)
            await wait_for(pilot, lambda: editor.loaded_version == 4)
            assert editor.query_one("#editor-value").value == "canary-theirs-2"
            assert not editor.query_one("#editor-conflict").display
            assert app.manager.vault.get("app/api_key").record.version == 4
            await pilot.press("escape")  # nothing changed since theirs was loaded
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
        app.cleanup()

    run(go())


def test_a_dict_conflict_is_merged_field_by_field(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await open_editor(pilot, "app/db")  # {"host", "port": 5432, "password"}
            editor = app.screen
            field_input(editor, "host").value = "db.mine"
            field_input(editor, "password").value = "pw-mine"
            theirs = {"host": "db.local", "port": 6543, "password": "pw-theirs", "ssl": "on"}
            await _save_into_a_conflict(pilot, key_file_vault, "app/db", theirs)
            table = app.screen.query_one("#conflict-fields")
            rows = {table.get_row_at(i)[0]: table.get_row_at(i)[1:] for i in range(table.row_count)}
            # only the differing fields; the ones I changed start as mine
            assert set(rows) == {"host", "port", "password", "ssl"}
            assert {k: v[2] for k, v in rows.items()} == {
                "host": "mine",
                "port": "theirs",
                "password": "mine",
                "ssl": "theirs",
            }
            assert rows["ssl"][0] == "(no such field)"
            assert "pw-" not in _dialog_text(app)  # masked
            # password: take theirs after all
            table.move_cursor(row=list(rows).index("password"))
            await pilot.press("space")
            await pilot.pause()
            assert table.get_row_at(list(rows).index("password"))[3] == "theirs"
            await pilot.press("m")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            secret = app.manager.vault.get("app/db")
            assert secret.value == {
                "host": "db.mine",
                "port": 6543,
                "password": "pw-theirs",
                "ssl": "on",
            }
            assert secret.record.version == 3
        app.cleanup()

    run(go())
