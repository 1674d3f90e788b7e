"""A passphrase strength meter: a bar plus a label ('weak', 'strong', ...)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from vaultui.strength import Strength, estimate_strength

_COLOURS = ("red", "red", "yellow", "green", "bright_green")


class StrengthMeter(Widget):
    """Shows the estimated strength of the text given to :meth:`measure`.

    Only the estimate is kept, never the passphrase itself.
    """

    DEFAULT_CSS = """
    StrengthMeter { height: 1; width: 1fr; }
    """

    strength: reactive[Strength] = reactive(Strength(0.0, 0))
    """The current estimate."""

    def measure(self, passphrase: str) -> Strength:
        """Estimate ``passphrase`` and show the result."""
        self.strength = estimate_strength(passphrase)
        return self.strength

    def render(self) -> Text:
        s = self.strength
        cells = 20
        filled = 0 if s.bits == 0 else max(1, min(cells, round(s.bits / 100 * cells)))
        colour = _COLOURS[s.score]
        text = Text("Strength ")
        text.append("█" * filled, style=colour)
        text.append("░" * (cells - filled), style="dim")
        text.append(f" {s.label}" if s.bits else " (type a passphrase)")
        if s.bits:
            text.append(f" (~{int(s.bits)} bits)", style="dim")
        return text
