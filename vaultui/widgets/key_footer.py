"""A footer that shows every key of the current screen, wrapping onto more lines.

Textual's ``Footer`` is one line that scrolls sideways, so on an 80-120 column terminal
the browser's keys would be cut off; this one wraps (up to three lines) so every action
with ``show=True`` is always visible, plus Ctrl+P for the command palette.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget


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
        line = 0
        for key, desc, enabled in self.items():
            item = cell_len(key) + 1 + cell_len(desc) + 2
            if line and line + item > width:
                text.append("\n")
                line = 0
            text.append(key, style=key_style if enabled else off_style)
            text.append(f" {desc}  ", style=None if enabled else off_style)
            line += item
        return text
