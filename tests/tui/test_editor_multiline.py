"""Values of several lines in the editor, at 80x24: paste, type, edit, masked until shown."""

from __future__ import annotations

from textual import events

from core.config import Settings
from core.vault import KeySource, Vault
from tests.tui.conftest import run, screen_name, wait_browser, wait_for
from vaultui.app import create_app

SMALL = (80, 24)

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    + "".join(f"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC{i:02d}\n" for i in range(28))
    + "-----END PRIVATE KEY-----\n"
)


def _vault(settings: Settings) -> Vault:
    return Vault.open(settings.vault_path, KeySource.from_key_file(settings.default_key_file))


def _area_lines(app) -> list[str]:
    area = app.screen.query_one("#editor-multiline")
    return [area.render_line(y).text for y in range(area.size.height)]


async def _new_secret(pilot, name: str) -> None:
    app = pilot.app
    await pilot.press("n")
    await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
    await pilot.pause()
    await pilot.press(*name, "tab", "tab")  # name -> type -> value
    assert app.focused is app.screen.query_one("#editor-value")


def test_a_pasted_pem_key_is_kept_whole_and_masked(key_file_vault: Settings) -> None:
    assert PEM.count("\n") == 30

    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SMALL) as pilot:
            await wait_browser(pilot)
            await _new_secret(pilot, "tls/key")
            app.post_message(events.Paste(PEM))
            await pilot.pause()
            editor = app.screen
            area = editor.query_one("#editor-multiline")
            assert area.display and app.focused is area
            assert area.text == PEM
            shown = "\n".join(_area_lines(app))
            assert "PRIVATE KEY" not in shown and "MIIE" not in shown and "•" in shown
            # the box fits the 80x24 screen, below the name, with the form still reachable
            assert area.region.bottom <= SMALL[1] and area.size.height >= 3
            await pilot.press("ctrl+r")  # reveal
            assert "-----END PRIVATE KEY-----" in "\n".join(_area_lines(app))  # scrolled to the end
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            await pilot.pause()
        app.cleanup()
        vault = _vault(key_file_vault)
        try:
            assert vault.get("tls/key").value == PEM
        finally:
            vault.close()

    run(go())


def test_a_two_line_value_can_be_typed(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SMALL) as pilot:
            await wait_browser(pilot)
            await _new_secret(pilot, "typed/two")
            await pilot.press(*"first", "ctrl+b")  # to several lines, keeping what was typed
            area = app.screen.query_one("#editor-multiline")
            assert area.display and app.focused is area
            await pilot.press("enter", *"second")
            assert "first" not in "\n".join(_area_lines(app))  # masked while typing
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            await pilot.pause()
        app.cleanup()
        vault = _vault(key_file_vault)
        try:
            assert vault.get("typed/two").value == "first\nsecond"
        finally:
            vault.close()

    run(go())


def test_editing_a_multi_line_value_keeps_every_line(key_file_vault: Settings) -> None:
    vault = _vault(key_file_vault)
    vault.put("tls/key", PEM)
    vault.close()

    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SMALL) as pilot:
            await wait_browser(pilot)
            app.browser().query_one("#filter").value = "tls/key"
            await wait_for(pilot, lambda: app.browser().table.rows == ["tls/key"])
            await pilot.press("enter", "enter")  # leave the filter, open the detail
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            await pilot.press("e")
            await wait_for(pilot, lambda: screen_name(app) == "EditorScreen")
            editor = app.screen
            await wait_for(pilot, lambda: editor.record is not None)
            area = editor.query_one("#editor-multiline")
            assert area.display and area.text == PEM
            assert "PRIVATE" not in "\n".join(_area_lines(app))
            # a new last line, typed at the end
            area.move_cursor(area.document.end)
            await pilot.press(*"extra")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            await pilot.pause()
        app.cleanup()
        vault = _vault(key_file_vault)
        try:
            assert vault.get("tls/key").value == PEM + "extra"
            assert vault.get("tls/key").version == 2
        finally:
            vault.close()

    run(go())
