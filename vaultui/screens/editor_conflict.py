"""A save conflict in the editor: both versions side by side, and the user's choice.

Someone else saved the secret while it was open in the editor (check-and-set refused
the save). :class:`ConflictScreen` shows the user's value ("mine") and the current one
("theirs"), masked until ``r``, and answers with a :class:`Resolution`: keep mine (saved
over theirs), take theirs (nothing saved; the editor shows theirs), or, for two dict
values, a merge chosen field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from core.controlchars import escape_controls
from vaultui.screens.detail import field_text
from vaultui.widgets.masked import MASK

ABSENT = "(no such field)"


@dataclass(frozen=True)
class Resolution:
    """The user's answer: ``keep`` says whose value wins; ``value`` is the one to save
    (for ``"theirs"``, their value: nothing needs saving)."""

    keep: Literal["mine", "theirs", "merged"]
    value: Any


def differing_fields(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """The field names whose values differ (or that only one side has), theirs' first."""
    names = list(theirs) + [k for k in mine if k not in theirs]
    return [k for k in names if k not in mine or k not in theirs or mine[k] != theirs[k]]


def merge_fields(
    mine: dict[str, Any], theirs: dict[str, Any], use_mine: set[str]
) -> dict[str, Any]:
    """Their fields, with those named in ``use_mine`` as mine (removed if mine lacks
    them); fields only mine has come last, in my order."""
    merged: dict[str, Any] = {}
    for key, value in theirs.items():
        if key not in use_mine:
            merged[key] = value
        elif key in mine:
            merged[key] = mine[key]
    for key, value in mine.items():
        if key not in theirs and key in use_mine:
            merged[key] = value
    return merged


def _shown(value: Any, revealed: bool, width: int = 40) -> str:
    if revealed:
        text = escape_controls(field_text(value) if not isinstance(value, bytes) else "(binary)")
    else:
        text = MASK
    lines = text.count("\n") + 1 if revealed and isinstance(value, str) else 0
    first = text.split("\n", 1)[0] if revealed else text
    if len(first) > width:
        first = first[: width - 1] + "…"
    return first + (f"  ({lines} lines)" if lines > 1 else "")


class ConflictScreen(ModalScreen[Resolution | None]):
    """Mine and theirs side by side; dismisses with a :class:`Resolution`, or None (Esc:
    back to the editor, nothing saved). ``base`` is the version the user started from:
    for dicts, the fields the user changed start as "mine", the others as "theirs"."""

    BINDINGS = [
        Binding("k", "keep_mine", "Keep mine", id="conflict.mine", tooltip="Save your value"),
        Binding(
            "t", "take_theirs", "Take theirs", id="conflict.theirs", tooltip="Load their value"
        ),
        Binding(
            "m",
            "merge",
            "Save merge",
            id="conflict.merge",
            tooltip="Save their fields with the ones marked 'mine' taken from yours",
        ),
        Binding(
            "space", "toggle", "Mine/theirs", id="conflict.toggle", tooltip="Switch this field"
        ),
        Binding("r", "reveal", "Reveal", id="conflict.reveal", tooltip="Show or hide values"),
        Binding("escape", "back", "Back", id="conflict.back", tooltip="Back to the editor"),
    ]

    def __init__(
        self, name: str, mine: Any, theirs: Any, their_version: int, base: Any = None
    ) -> None:
        super().__init__()
        self.secret_name = name
        self.mine = mine
        self.theirs = theirs
        self.their_version = their_version
        self.revealed = False
        self.mergeable = isinstance(mine, dict) and isinstance(theirs, dict)
        self.fields = differing_fields(mine, theirs) if self.mergeable else []
        # by default a field is mine where the user changed it from ``base`` (the version
        # the editor loaded), theirs where only they changed it
        base = base if isinstance(base, dict) else {}
        self.use_mine: set[str] = {
            k for k in self.fields if mine.get(k, ABSENT) != base.get(k, ABSENT)
        }

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog conflict-dialog"):
            yield Label("Changed by someone else", classes="dialog-title")
            yield Static(
                f"{escape_controls(self.secret_name)} was saved as version "
                f"{self.their_version} while you edited it. Keep your value (k), take "
                "theirs (t)"
                + (", or choose per field (space) and save the merge (m)." if self.fields else ".")
                + " r reveals; Esc goes back to the editor.",
                classes="dialog-body",
                markup=False,
            )
            if self.mergeable:
                yield DataTable(id="conflict-fields", cursor_type="row", zebra_stripes=True)
            else:
                yield Static("", id="conflict-values", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Keep mine (k)", id="conflict-mine", variant="primary")
                yield Button("Take theirs (t)", id="conflict-theirs")
                if self.fields:
                    yield Button("Save merge (m)", id="conflict-merge")

    def on_mount(self) -> None:
        if self.mergeable:
            table = self.query_one(DataTable)
            table.add_columns("Field", "Mine", "Theirs", "Use")
            table.focus()
        self._fill()

    def _fill(self) -> None:
        if not self.mergeable:
            self.query_one("#conflict-values", Static).update(
                f"Mine:   {_shown(self.mine, self.revealed)}\n"
                f"Theirs: {_shown(self.theirs, self.revealed)}"
            )
            return
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for key in self.fields:
            cells = [
                _shown(side[key], self.revealed, 24) if key in side else ABSENT
                for side in (self.mine, self.theirs)
            ]
            use = "mine" if key in self.use_mine else "theirs"
            table.add_row(escape_controls(key), *cells, use, key=key)
        if self.fields:
            table.move_cursor(row=min(row, len(self.fields) - 1))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions = {
            "conflict-mine": self.action_keep_mine,
            "conflict-theirs": self.action_take_theirs,
            "conflict-merge": self.action_merge,
        }
        actions[event.button.id or ""]()

    def action_keep_mine(self) -> None:
        """Save your value over theirs."""
        self.dismiss(Resolution("mine", self.mine))

    def action_take_theirs(self) -> None:
        """Drop your value; the editor shows theirs."""
        self.dismiss(Resolution("theirs", self.theirs))

    def action_merge(self) -> None:
        """Save their fields, with those marked 'mine' taken from your value."""
        if self.fields:
            merged = merge_fields(self.mine, self.theirs, self.use_mine)
            self.dismiss(Resolution("merged", merged))

    def action_toggle(self) -> None:  # type: ignore[override]  # a key action, not DOMNode's attribute toggle
        """Switch the highlighted field between mine and theirs."""
        if not self.fields:
            return
        key = self.fields[self.query_one(DataTable).cursor_row]
        self.use_mine ^= {key}
        self._fill()

    def action_reveal(self) -> None:
        """Show or hide both sides' values."""
        self.revealed = not self.revealed
        self._fill()

    def action_back(self) -> None:
        """Back to the editor, nothing saved."""
        self.dismiss(None)
