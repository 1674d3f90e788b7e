"""The command palette's vaultui commands: every action of the current screen.

Built from the active key bindings, so the palette and the footer can never disagree:
each command shows its key and its tooltip, and runs the same action as the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from rich.markup import escape
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget


@dataclass(frozen=True)
class Command:
    """One action a screen offers: its title, tooltip, key(s), and how to run it."""

    title: str
    tooltip: str
    keys: str
    node: DOMNode
    action: str

    @property
    def help(self) -> str:
        """The palette's help line: the tooltip and the key."""
        return f"{self.tooltip} · key {self.keys}" if self.tooltip else f"key {self.keys}"


GENERIC_ACTIONS = frozenset({"app.focus_next", "app.focus_previous", "screen.copy_text"})
"""Textual's own screen keys (Tab, Shift+Tab, copy selection): not vaultui actions."""


def screen_commands(screen: Screen[object]) -> list[Command]:
    """Every bound action of ``screen`` that can run now, once each (keys merged).

    Includes the app's actions (lock, help, quit) and the screen's; widget-level
    navigation keys (up/down/page) are left out.
    """
    app = screen.app
    found: dict[tuple[int, str], tuple[Binding, DOMNode, list[str]]] = {}
    for _key, active in screen.active_bindings.items():
        binding = active.binding
        node = active.node
        if binding.system or not binding.description or not active.enabled:
            continue
        if binding.action in GENERIC_ACTIONS:
            continue
        if isinstance(node, Widget) and not isinstance(node, Screen) and not binding.show:
            continue
        ident = (id(node), binding.action)
        entry = found.setdefault(ident, (binding, node, []))
        shown = app.get_key_display(binding)
        if shown not in entry[2]:
            entry[2].append(shown)
    out = []
    for binding, node, keys in found.values():
        out.append(
            Command(
                binding.description,
                binding.tooltip,
                " ".join(keys),
                node,
                binding.action,
            )
        )
    return out


class VaultCommands(Provider):
    """Command palette provider listing every action of the screen it was opened on."""

    def _commands(self) -> list[Command]:
        return sorted(screen_commands(self.screen), key=lambda c: c.title)

    async def discover(self) -> Hits:
        """Every command, when the palette's search box is empty."""
        for c in self._commands():
            yield DiscoveryHit(
                c.title, partial(self.app.run_action, c.action, c.node), help=escape(c.help)
            )

    async def search(self, query: str) -> Hits:
        """Commands whose title fuzzily matches ``query``."""
        matcher = self.matcher(query)
        for c in self._commands():
            score = matcher.match(c.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(c.title),
                    partial(self.app.run_action, c.action, c.node),
                    help=escape(c.help),
                )
