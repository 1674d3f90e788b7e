"""Help: what the screen underneath does and every key it answers to."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label, Static

from vaultui.palette import screen_commands

INTRO = (
    "vaultui keeps every secret in one encrypted vault file. Values stay masked until "
    "you reveal them; reveals and copies are audited; the clipboard clears itself. "
    "Ctrl+P opens the command palette with every action; Ctrl+L locks the vault."
)


class HelpScreen(ModalScreen[None]):
    """Keys and actions of ``for_screen`` (the screen ``?`` was pressed on)."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close", tooltip="Close help")
    ]

    def __init__(self, for_screen: Screen) -> None:
        super().__init__()
        self.for_screen = for_screen
        self.rows = [(c.keys, c.title, c.tooltip) for c in screen_commands(for_screen)]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Label(f"Help — {screen_title(self.for_screen)}", classes="dialog-title")
            yield Static(INTRO, classes="dialog-body")
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            yield Static("Esc closes this help.", classes="dim")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "What it does")
        for row in self.rows:
            table.add_row(*row)
        table.focus()

    def action_close(self) -> None:
        """Close help."""
        self.dismiss(None)


def screen_title(screen: Screen) -> str:
    """A human name for a screen class ('BrowserScreen' -> 'Browser')."""
    name = type(screen).__name__
    return name[:-6] if name.endswith("Screen") else name
