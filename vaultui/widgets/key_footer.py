"""A footer that shows every key of the current screen, wrapping onto more lines.

Textual's ``Footer`` is one line that scrolls sideways, so on an 80-120 column terminal
the browser's keys would be cut off; this one wraps (up to three lines) so every action
with ``show=True`` is visible, plus Ctrl+P for the command palette. When even three
lines are too few (a screen with many keys on an 80-column terminal), the last keys
give way first; Esc, ``?`` (help, which lists every key), ``q`` and Ctrl+P always stay.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

MAX_LINES = 3
"""Lines the footer may take (its CSS max-height)."""

ESSENTIAL = frozenset(["esc", "?", "q", "^p"])
"""Keys shown however narrow the terminal."""


def layout(items: list[tuple[str, str, bool]], width: int) -> list[list[tuple[str, str, bool]]]:
    """``items`` in lines of at most ``width`` cells and at most :data:`MAX_LINES` lines,
    dropping the last non-essential items first when they do not fit."""
    items = list(items)
    while True:
        lines: list[list[tuple[str, str, bool]]] = [[]]
        used = 0
        for item in items:
            size = cell_len(item[0]) + 1 + cell_len(item[1]) + 2
            if used and used + size > width:
                lines.append([])
                used = 0
            lines[-1].append(item)
            used += size
        droppable = [i for i, item in enumerate(items) if item[0] not in ESSENTIAL]
        if len(lines) <= MAX_LINES or not droppable:
            return lines[:MAX_LINES]
        del items[droppable[-1]]


class KeyFooter(Widget):
    """Every shown binding of the screen as ``key Description``, wrapped to the width."""

    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: auto;
        max-height: 3;
        background: $panel;
        padding: 0 1;
    }
    KeyFooter > .key-footer--key { color: $accent; text-style: bold; }
    KeyFooter > .key-footer--disabled { color: $text-disabled; }
    """

    COMPONENT_CLASSES = {"key-footer--key", "key-footer--disabled"}

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh(layout=True)

    def items(self) -> list[tuple[str, str, bool]]:
        """(key display, description, enabled) for each shown action, keys merged."""
        found: dict[tuple[int, str], list] = {}
        for _key, active in self.screen.active_bindings.items():
            b = active.binding
            if not b.show or not b.description:
                continue
            entry = found.setdefault(
                (id(active.node), b.action), [[], b.description, active.enabled]
            )
            shown = self.app.get_key_display(b)
            if shown not in entry[0]:
                entry[0].append(shown)
        out = [("/".join(keys), desc, enabled) for keys, desc, enabled in found.values()]
        if self.app.ENABLE_COMMAND_PALETTE:
            out.append(("^p", "Commands", True))
        return out

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key", partial=True)
        off_style = self.get_component_rich_style("key-footer--disabled", partial=True)
        width = max(self.size.width, 20)
        text = Text(no_wrap=True, overflow="crop")
        for n, line in enumerate(layout(self.items(), width)):
            if n:
                text.append("\n")
            for key, desc, enabled in line:
                text.append(key, style=key_style if enabled else off_style)
                text.append(f" {desc}  ", style=None if enabled else off_style)
        return text
