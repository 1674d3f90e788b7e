"""The secrets browser: columns, fuzzy filter, tag filter, sort, delete/undo, live reload."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from core.config import Settings
from core.vault import KeySource, Vault
from tests.conftest import clean_env
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
from vaultui.demo import DEMO_SECRETS


def test_browser_shows_every_secret_with_its_metadata(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            assert list(browser.table.rows) == sorted(n for n, *_ in DEMO_SECRETS)
            line = "".join(s.text for s in browser.table.render_line(1 + 5))  # prod/db/password
            assert "prod/db/password" in line
            assert "Postgres password" in line
            assert "env=prod" in line and "monthly" in line and "2025-05-02 09:00" in line
            assert "local" in line
            status = str(browser.query_one("#status-text").render())
            assert "12 secrets" in status

    run(go())


def test_filter_is_fuzzy_and_escape_clears_it(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            await pilot.press("slash", *"pdbpw")
            await wait_for(pilot, lambda: list(browser.table.rows) == ["prod/db/password"])
            assert "1 of 12 secrets" in str(browser.query_one("#status-text").render())
            await pilot.press("escape")
            await wait_for(pilot, lambda: len(browser.table.rows) == 12)
            assert browser.table.has_focus

    run(go())


def test_tag_words_in_the_filter_and_the_tag_dialog(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            await pilot.press("slash", *"#team=payments")
            await wait_for(pilot, lambda: list(browser.table.rows) == ["prod/stripe/api_key"])
            await pilot.press("escape", "escape")
            await wait_for(pilot, lambda: len(browser.table.rows) == 12)
            await pilot.press("t")
            await wait_for(pilot, lambda: screen_name(app) == "TagFilterScreen")
            options = app.screen.query_one("#tag-list")
            labels = [
                str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
            ]
            assert "env=staging  (2)" in labels
            options.highlighted = labels.index("env=staging  (2)")
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            assert list(browser.table.rows) == ["staging/db/password", "staging/redis/url"]
            assert "tag env=staging" in str(browser.query_one("#status-text").render())
            await pilot.press("t")
            await wait_for(pilot, lambda: screen_name(app) == "TagFilterScreen")
            app.screen.query_one("#tag-list").highlighted = 0  # (all secrets)
            await pilot.press("enter")
            await wait_for(pilot, lambda: len(browser.table.rows) == 12)

    run(go())


def test_sort_cycles_columns_and_reverses(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            await pilot.press("s")  # type
            assert browser.index.sort_key == "type"
            assert list(browser.table.rows)[:3] == [
                "prod/aws/deploy",
                "prod/db/config",
                "ssh/deploy_key",
            ]
            await pilot.press("s", "s", "s")  # description, tags, updated
            assert browser.index.sort_key == "updated"
            assert browser.table.rows[-1] == "prod/db/password"  # most recently changed
            await pilot.press("S")
            assert browser.index.reverse and browser.table.rows[0] == "prod/db/password"
            header = "".join(s.text for s in browser.table.render_line(0))
            assert "Updated (UTC) ▼" in header
            # clicking a heading sorts by it
            await pilot.click("#secrets", offset=(2, 0))
            assert browser.index.sort_key == "name" and not browser.index.reverse

    run(go())


def test_cursor_keys_and_enter_open_the_detail(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            table = app.browser().table
            await pilot.press("down", "down", "j")
            assert table.current == "prod/aws/deploy"
            await pilot.press("end")
            assert table.current == "staging/redis/url"
            await pilot.press("home", "k")
            assert table.current == "api/jwt_signing_key"
            await pilot.press("pagedown")
            assert table.current == "staging/redis/url"
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen_name(app) == "DetailScreen")
            assert app.screen.secret_name == "staging/redis/url"

    run(go())


def test_delete_asks_first_and_undo_brings_it_back(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            await pilot.press("d")
            await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
            await pilot.press("n")  # cancel: nothing happens
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            assert "api/jwt_signing_key" in browser.table.rows
            await pilot.press("d", "y")
            await wait_for(pilot, lambda: "api/jwt_signing_key" not in browser.table.rows)
            assert app.manager.vault.get("api/jwt_signing_key") is None
            await pilot.press("u")
            await wait_for(pilot, lambda: "api/jwt_signing_key" in browser.table.rows)
            assert app.manager.vault.get("api/jwt_signing_key") is not None

    run(go())


def test_copy_from_the_list_is_audited_and_the_clipboard_clears(demo_app) -> None:
    async def go() -> None:
        app = demo_app(clipboard_clear_seconds=1)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await pilot.press("c")
            await wait_for(pilot, lambda: app.clipboard.startswith("demo0000"))
            log = (app.settings.audit_log_path).read_text()
            events = trail_events(
                app.settings.audit_log_path, app.manager.vault.derive_key("audit")
            )
            assert has_event(events, operation="copy", secret_name="api/jwt_signing_key")
            assert "demo0000" not in log and "api/jwt_signing_key" not in log
            await wait_for(pilot, lambda: app.clipboard == "", timeout=3)

    run(go())


def test_another_process_writing_refreshes_the_list_and_keeps_the_cursor(
    key_file_vault: Settings,
) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            table = app.browser().table
            await pilot.press("down")
            assert table.current == "app/db"
            script = (
                "from core.config import Settings; from core.unlock import open_vault\n"
                "v = open_vault(Settings.from_env())\n"
                "v.put('aaa/first', 'x'); v.put('app/api_key', 'canary-new'); v.close()\n"
            )
            started = time.monotonic()
            subprocess.run(
                [sys.executable, "-c", script], env=clean_env(key_file_vault.home), check=True
            )
            await wait_for(pilot, lambda: "aaa/first" in table.rows, timeout=3)
            assert time.monotonic() - started < 3
            assert table.current == "app/db"  # same secret, although it moved down a row
            assert table.cursor_row == 2
            # the new order is prepared for the next keystroke off the event loop
            await wait_for(pilot, lambda: app.browser().index.warmed, timeout=3)
            # a tombstone removes the row
            other = other_process_vault(key_file_vault)
            other.delete("aaa/first")
            other.close()
            await wait_for(pilot, lambda: "aaa/first" not in table.rows, timeout=3)
            assert table.current == "app/db"
        app.cleanup()

    run(go())


def test_empty_vault_says_how_to_start(settings: Settings) -> None:
    async def go() -> None:
        from core.unlock import open_vault

        open_vault(settings).close()
        app = create_app(settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            assert app.browser().query_one("#empty-hint").display
        app.cleanup()

    run(go())


def test_export_the_rows_shown_and_import_a_dotenv_file(demo_app, tmp_path) -> None:
    import json
    import stat

    out = tmp_path / "staging.json"
    env_file = tmp_path / "app.env"
    env_file.write_text("NEW_TOKEN=demo-imported-1\nOTHER=demo-imported-2\n")

    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            browser.query_one("#filter").value = "#env=staging"
            await wait_for(pilot, lambda: len(browser.table.rows) == 2)
            browser.table.focus()
            await pilot.press("X")
            await wait_for(pilot, lambda: screen_name(app) == "ExportScreen")
            app.screen.query_one("#export-path").value = str(out)
            await pilot.press("ctrl+s")
            await wait_for(pilot, out.exists)
            await wait_for(pilot, lambda: screen_name(app) == "BrowserScreen")
            data = json.loads(out.read_text())
            assert sorted(e["name"] for e in data["secrets"]) == [
                "staging/db/password",
                "staging/redis/url",
            ]
            assert stat.S_IMODE(out.stat().st_mode) == 0o600
            await pilot.press("I")
            await wait_for(pilot, lambda: screen_name(app) == "ImportScreen")
            app.screen.query_one("#import-path").value = str(env_file)
            app.screen.query_one("#import-prefix").value = "imported/"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "imported/NEW_TOKEN" in app.manager.vault.names())
            browser.query_one("#filter").value = ""
            await wait_for(pilot, lambda: "imported/OTHER" in browser.table.rows, timeout=3)
            assert app.manager.vault.get("imported/NEW_TOKEN").value == "demo-imported-1"

    run(go())


def _subsequence(query: str, text: str) -> bool:
    it = iter(text)
    return all(ch in it for ch in query)


def test_garbage_collection_waits_for_a_pause_in_typing(demo_app, monkeypatch) -> None:
    """Python's collections would land on keystrokes; while keys come in the collector is
    held off, and in the first pause it is switched back on and one full collection runs."""
    import gc

    from vaultui.fast import typing_gc

    monkeypatch.setattr(typing_gc, "PAUSE", 0.3)
    runs: list[tuple[float, int]] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "stop":
            runs.append((time.monotonic(), info["generation"]))

    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            inp = app.browser().query_one("#filter")
            gc.callbacks.append(seen)
            try:
                started = time.monotonic()
                for text in ("p", "pr", "pro"):  # typing: each key restarts the wait
                    inp.value = text
                    assert not gc.isenabled()
                    junk = [[] for _ in range(5000)]  # would trigger young collections
                    for item in junk:
                        item.append(item)  # cycles: only the collector frees these
                    del junk
                    await pilot.pause(0.1)
                typed = time.monotonic()
                assert not [r for r in runs if started < r[0] <= typed]
                await wait_for(pilot, lambda: any(t > typed for t, _g in runs), timeout=5)
                assert gc.isenabled()
                assert next(g for t, g in runs if t > typed) == 2  # one full collection
            finally:
                gc.callbacks.remove(seen)
                gc.enable()

    run(go())


def test_the_collector_is_never_held_off_for_long(demo_app, monkeypatch) -> None:
    """Typing without any pause still lets a collection through after LONGEST seconds,
    and closing the app leaves the collector on."""
    import gc

    from vaultui.fast import typing_gc

    monkeypatch.setattr(typing_gc, "LONGEST", 0.3)
    monkeypatch.setattr(typing_gc, "PAUSE", 10.0)
    full: list[float] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "stop" and info["generation"] == 2:
            full.append(time.monotonic())

    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            inp = app.browser().query_one("#filter")
            gc.callbacks.append(seen)
            try:
                started = time.monotonic()
                for text in ("p", "pr", "pro", "prod", "prod/"):
                    inp.value = text
                    await pilot.pause(0.1)
                assert any(t > started for t in full)  # one ran mid-typing
                assert not gc.isenabled()  # and the hold resumed for the next keys
            finally:
                gc.callbacks.remove(seen)
        assert gc.isenabled()  # the browser went away: collector back on

    try:
        run(go())
    finally:
        gc.enable()


def test_a_collection_mid_typing_waits_for_the_keystrokes_frame(demo_app, monkeypatch) -> None:
    """The collection let through after LONGEST seconds of typing runs after the frame of
    the keystroke that asked for it, even when the screen goes idle before the widgets'
    updates reach it (with call_after_refresh it then ran first: 5-40 ms on that key)."""
    import gc

    from vaultui.fast import typing_gc

    monkeypatch.setattr(typing_gc, "LONGEST", 0.2)
    monkeypatch.setattr(typing_gc, "PAUSE", 10.0)
    at_frame: list[int] = []  # how many frames were composed when a full collection ended

    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            inp = browser.query_one("#filter")
            frames = _slow_frame_timer(browser)

            def seen(phase: str, info: dict) -> None:
                if phase == "stop" and info["generation"] == 2:
                    at_frame.append(len(frames))

            inp.insert_text_at_cursor("p")
            await _frames(frames, 1)
            await asyncio.sleep(0.3)  # typing for longer than LONGEST
            gc.callbacks.append(seen)
            try:
                await _hold_updates(browser)
                inp.insert_text_at_cursor("r")  # this key asks for the collection
                await _frames(frames, 2)
                await asyncio.sleep(0.1)
            finally:
                gc.callbacks.remove(seen)
            assert at_frame and at_frame[0] >= 2

    try:
        run(go())
    finally:
        gc.enable()


def test_the_rotation_worker_starts_from_the_browsers_listing(demo_app, monkeypatch) -> None:
    """The browser lists every record once at start; the rotation worker is handed that
    listing, so its first check does not decrypt the whole vault again while the user
    types."""

    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            await wait_for(pilot, lambda: browser.loaded)
            manager = browser.manager
            vault = manager.vault
            monkeypatch.setattr(vault, "list", lambda *a, **k: pytest.fail("listed again"))
            rotation = manager.rotation_manager
            with_policy = {r.name for r in rotation._with_policy()}
            expected = {
                rec.name
                for rec in browser.index.records.values()
                if rec is not None and (rec.rotation or {}).get("policy")
            }
            assert with_policy == expected and expected  # the demo has rotating secrets
            rotation.due()

    run(go())


def test_a_filter_longer_than_its_box_keeps_the_cursor_in_view(demo_app) -> None:
    """The filter box's text width changes without a screen layout pass; it still
    scrolls sideways to keep the cursor visible."""

    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            inp = app.browser().query_one("#filter")
            inp.focus()
            text = "prod/" * 40  # longer than the box
            for ch in text[:130]:
                await pilot.press(ch if ch != "/" else "slash")
            await pilot.pause()
            assert inp.value == text[:130]
            assert inp.scroll_x > 0
            assert inp.cursor_screen_offset.x < inp.region.right

    run(go())


def _slow_frame_timer(screen) -> list[tuple[set[str | None], str, str, list[str]]]:
    """Make Textual's frame timer fire every 5 s instead of every 1/60 s, and record each
    frame the screen composes: (ids of the widgets repainted, filter text, status, rows).

    A frame that waits for the timer then misses any test's 1 s window, so a frame that
    arrives within it was asked for at once."""
    screen._update_timer.stop()
    screen._Screen__update_timer = screen.set_interval(
        5.0, screen._on_timer_update, name="screen_update", pause=True
    )
    frames: list[tuple[set[str | None], str, str, list[str]]] = []
    original = screen._compositor_refresh

    def compose() -> None:
        frames.append(
            (
                {w.id for w in screen._dirty_widgets},
                screen.query_one("#filter").value,
                str(screen.query_one("#status-text").render()),
                list(screen.table.rows),
            )
        )
        original()

    screen._compositor_refresh = compose
    return frames


async def _hold_updates(screen, seconds: float = 0.1) -> None:
    """Make the next update of the table, the filter box and the status line reach the
    screen ``seconds`` late (each widget is kept busy), so the screen goes idle first."""

    async def busy() -> None:
        await asyncio.sleep(seconds)

    for widget in (screen.table, screen.query_one("#filter"), screen.query_one("#status-text")):
        widget.call_later(busy)
    await asyncio.sleep(0.01)  # let them start


async def _frames(frames: list, count: int, timeout: float = 1.0) -> None:
    """Wait for ``count`` frames without Pilot (its pause() composes a frame itself)."""
    deadline = time.monotonic() + timeout
    while len(frames) < count:
        assert time.monotonic() < deadline, f"{len(frames)} frames after {timeout} s"
        await asyncio.sleep(0.01)


def test_a_keystroke_is_painted_at_once_in_one_frame(demo_app) -> None:
    """A keystroke's frame does not wait for Textual's next frame slot (up to ~17 ms,
    measured as a third of the slowest keystrokes at 100,000 secrets), and it shows the
    typed character, the new rows and the new count together."""

    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            await pilot.press("slash")
            await pilot.pause(0.2)
            frames = _slow_frame_timer(browser)
            inp = browser.query_one("#filter")
            inp.insert_text_at_cursor("p")  # a key typed (Pilot's press composes a frame)
            await _frames(frames, 1)
            repainted, text, status, rows = frames[0]
            assert {"filter", "secrets", "status-text"} <= repainted
            assert text == "p"
            expected = sorted(n for n, *_ in DEMO_SECRETS if "p" in n.lower())
            assert rows == expected and f"{len(expected)} of 12 secrets" in status
            await asyncio.sleep(0.05)
            inp.insert_text_at_cursor("d")
            await _frames(frames, 2)
            assert frames[1][1] == "pd" and "status-text" in frames[1][0]

    run(go())


@pytest.mark.parametrize("late_updates", [False, True])
def test_a_large_search_paints_its_first_screen_then_its_whole_result_at_once(
    demo_app, monkeypatch, late_updates
) -> None:
    """The first screen of a large search and then its whole result: two frames, neither
    waiting for the frame timer. The rest of the search runs strictly after the first
    frame, also when the screen goes idle before the widgets' updates reach it
    (``late_updates``): Textual's call_after_refresh would then run it first, and the
    first screen would wait for the whole search (once a 53 ms keystroke at 100,000)."""
    from vaultui.screens import browser as browser_module

    monkeypatch.setattr(browser_module, "QUICK_FILTER_FROM", 4)
    monkeypatch.setattr(browser_module, "QUICK_ROWS", 2)

    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            inp = browser.query_one("#filter")
            inp.value = "s"
            await pilot.pause(0.2)
            frames = _slow_frame_timer(browser)
            if late_updates:
                await _hold_updates(browser)
            inp.value = "st"
            await _frames(frames, 2)
            full = sorted(n for n, *_ in DEMO_SECRETS if _subsequence("st", n.lower()))
            assert len(full) > 2  # more than the first screen
            assert frames[0][3] == full[:2] and "searching" in frames[0][2]
            assert frames[1][3] == full and "searching" not in frames[1][2]

    run(go())


def test_a_new_sort_keeps_the_cursor_and_is_prepared_for_typing(demo_app) -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            await wait_for(pilot, lambda: browser.index.warmed)
            await pilot.press("down", "down", "down")
            current = browser.table.current
            browser.sort_by("updated", True)
            assert not browser.index.warmed
            assert browser.table.current == current
            await wait_for(pilot, lambda: browser.index.warmed, timeout=3)
            # the cursor is found by position now; moving keeps working as before
            await filter_to(pilot, current.split("/")[0])
            assert browser.table.current == current

    run(go())


def test_a_conflict_copy_arriving_is_merged_into_the_open_app(key_file_vault: Settings) -> None:
    """A file-sync service drops another machine's copy beside the vault while the app
    runs: its secrets appear in the list and the copy moves to merged/."""
    import shutil

    home = key_file_vault.home
    other = home.parent / "other-machine"
    other.mkdir()
    shutil.copy(key_file_vault.vault_path, other / "vault.db")
    copy_vault = Vault.open(
        other / "vault.db", KeySource.from_key_file(key_file_vault.default_key_file), device_id="b"
    )
    copy_vault.put("zzz/from-laptop", "laptop-value")
    copy_vault.close()

    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            table = app.browser().table
            name = "vault.sync-conflict-20261204-101112-LAPTOP1.db"
            shutil.copy(other / "vault.db", home / name)
            await wait_for(pilot, lambda: "zzz/from-laptop" in table.rows, timeout=5)
            assert (home / "merged" / name).exists()
            assert not (home / name).exists()
        app.cleanup()

    run(go())
