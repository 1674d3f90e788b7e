"""The app's speed tricks (vaultui.fast): every private Textual member they use exists
on the installed Textual, none is used undeclared, and each trick falls back to stock
behaviour when Textual's internals differ (simulated by renaming a declared member)."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
from pathlib import Path

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.screen import ModalScreen, Screen
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.widget import Widget
from textual.widgets import Input, Static, TextArea

from core.config import Settings
from tests.tui.conftest import SIZE, run, wait_browser, wait_for
from vaultui.app import create_app
from vaultui.fast import internals
from vaultui.fast.prompt_frame import PromptFrame
from vaultui.fast.quick_scrollbar import QuickScrollBar
from vaultui.index import SecretIndex
from vaultui.widgets.secrets_table import SecretsTable

NAMES = [f"app/service{i:05d}/password" for i in range(3000)]
VAULTUI = Path(__file__).resolve().parents[2] / "vaultui"

# private names in vaultui that are not Textual's although Textual has a member so named
NOT_TEXTUAL = {
    "_value": "MaskedValue's and FieldRow's own field (Input._value is not read)",
    "_lines": "SecretsTable's own row cache (OptionList._lines is another class's)",
    "_exit": "os._exit",
    "_context": "click/argparse context, not Textual's",
    "_filters": "the audit query's own filters",
}


class TableScreen(PromptFrame[None]):
    def compose(self) -> ComposeResult:
        yield SecretsTable(self.app.index, id="secrets")  # type: ignore[attr-defined]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.index = SecretIndex()
        self.index.set_names(list(NAMES))

    def on_mount(self) -> None:
        self.push_screen(TableScreen())


def _with_table(check) -> None:
    async def go() -> None:
        app = TableApp()
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            table = app.screen.query_one(SecretsTable)
            table.set_rows(app.index.order)
            table.focus()
            await pilot.pause()
            await check(pilot, table)

    asyncio.run(go())


@pytest.fixture
def other_textual(monkeypatch):
    """``rename(name)``: pretend the installed Textual calls declared member ``name``
    something else (every trick that needs it must take its public path)."""
    internals.forget_verdicts()

    def rename(name: str) -> None:
        members = tuple(
            dataclasses.replace(m, name=m.name + "_renamed") if m.name == name else m
            for m in internals.PRIVATE_MEMBERS
        )
        monkeypatch.setattr(internals, "PRIVATE_MEMBERS", members)
        internals.forget_verdicts()

    yield rename
    internals.forget_verdicts()


def test_every_declared_private_member_exists_on_the_installed_textual() -> None:
    async def check(pilot, table) -> None:
        objects = {
            "App": pilot.app,
            "Screen": pilot.app.screen,
            "Widget": table,
            "Event": events.Key("a", "a"),
            "Input": Input(),
        }
        tricks = {m.trick for m in internals.PRIVATE_MEMBERS}
        assert {m.owner for m in internals.PRIVATE_MEMBERS} <= set(objects)
        gone = {t: internals.missing(t, objects) for t in tricks}
        assert gone == {t: [] for t in tricks}
        # and so the shortcuts are taken here
        assert isinstance(table.vertical_scrollbar, QuickScrollBar)

    internals.forget_verdicts()
    _with_table(check)


def _textual_private_names() -> set[str]:
    names: set[str] = set()
    for cls in (App, Screen, ModalScreen, ScrollView, Widget, Input, TextArea, ScrollBar):
        names |= set(dir(cls))
    names |= set(dir(events.Key)) | set(vars(events.Key("a", "a")))

    async def live() -> None:
        app = App()
        async with app.run_test():
            static = Static("x")
            await app.screen.mount(static)
            for obj in (app, app.screen, static):
                names.update(vars(obj))

    asyncio.run(live())
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def test_no_private_textual_member_is_used_undeclared() -> None:
    """A new reach into Textual's internals must be declared (and so probed)."""
    textual_names = _textual_private_names()
    used: dict[str, set[str]] = {}
    for path in VAULTUI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = node.name
            else:
                continue
            if name in textual_names:
                used.setdefault(name, set()).add(path.relative_to(VAULTUI.parent).as_posix())
    declared = {m.name for m in internals.PRIVATE_MEMBERS}
    undeclared = {n: sorted(p) for n, p in used.items() if n not in declared | set(NOT_TEXTUAL)}
    assert undeclared == {}
    # the declared list holds nothing the app no longer uses
    assert declared <= set(used)


def test_prompt_frame_falls_back_to_textual_pace_and_call_after_refresh(
    key_file_vault: Settings, other_textual
) -> None:
    other_textual("_compositor_refresh")

    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            browser = app.browser()
            await pilot.press("slash", *"web")
            await wait_for(pilot, lambda: list(browser.table.rows) == ["web/session"])
            browser.frame_now()
            assert not browser._frame_wanted  # no frame asked for out of turn
            ran: list[int] = []
            browser.call_after_frame(ran.append, 1)
            assert browser._after_frame is None  # handed to Textual's call_after_refresh
            await wait_for(pilot, lambda: ran == [1])
            line = "".join(s.text for s in browser.table.render_line(1))
            assert "web/session" in line and "cookie key" in line

    run(go())


def test_table_falls_back_to_textuals_scrollbar(other_textual) -> None:
    other_textual("_start_widget")

    async def check(pilot, table) -> None:
        bar = table.vertical_scrollbar
        assert type(bar) is ScrollBar and bar.display
        assert bar.window_virtual_size == len(NAMES) + 1
        await pilot.click(bar, offset=(0, bar.size.height - 2))
        await pilot.pause()
        assert table.scroll_y > 0

    _with_table(check)


def test_table_row_count_falls_back_to_a_layout_pass(other_textual) -> None:
    other_textual("_scroll_update")

    async def check(pilot, table) -> None:
        shortcuts: list[object] = []
        set_reactive = table.set_reactive
        table.set_reactive = lambda *a: (shortcuts.append(a), set_reactive(*a))
        bar = table.vertical_scrollbar
        wide = table.scrollable_content_region.width
        table.set_rows(NAMES[:500])
        await pilot.pause()
        assert bar.window_virtual_size == 501
        table.action_last()
        table.set_rows(NAMES[:10])  # fits: no scrollbar, scrolled back to the top
        await pilot.pause()
        assert not table.show_vertical_scrollbar and table.scroll_y == 0
        assert table.scrollable_content_region.width == wide + bar.size.width
        assert NAMES[9][:16] in "".join(s.text for s in table.render_line(10))
        table.set_rows(NAMES)
        await pilot.pause()
        assert table.show_vertical_scrollbar and bar.window_virtual_size == len(NAMES) + 1
        assert shortcuts == []  # every new row count went through virtual_size

    _with_table(check)


def test_a_mistyped_member_counts_as_missing() -> None:
    class Odd:
        _dirty_widgets = ["not", "a", "set"]
        _compositor_refresh = None

    gone = internals.missing(internals.PROMPT_FRAME, {"Screen": Odd()})
    assert "Screen._dirty_widgets (is list)" in gone
    assert "Screen._compositor_refresh (is NoneType)" in gone
    assert "Screen._on_idle (missing)" in gone
