"""A value shown as dots until revealed."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

MASK = "••••••••••••"
"""What a hidden value looks like (fixed width: the mask does not leak the length)."""


class MaskedValue(Static):
    """Shows ``MASK`` or, once :attr:`revealed`, the value itself.

    The value is kept only in this widget (and cleared with :meth:`forget`); the widget's
    ``repr`` never shows it.
    """

    DEFAULT_CSS = """
    MaskedValue { height: auto; padding: 0 1; }
    MaskedValue.-revealed { color: $warning; }
    """

    revealed: reactive[bool] = reactive(False)
    """True while the value is shown in clear."""

    def __init__(
        self, value: str | None = None, *, placeholder: str = "", id: str | None = None
    ) -> None:
        super().__init__("", id=id, markup=False)
        self._value = value
        self._placeholder = placeholder

    def __repr__(self) -> str:
        return f"MaskedValue(id={self.id!r}, revealed={self.revealed})"

    @property
    def has_value(self) -> bool:
        """True once a value is loaded."""
        return self._value is not None

    def set_value(self, value: str | None) -> None:
        """Load (or with None, clear) the value; the reveal state is kept."""
        self._value = value
        self._refresh_text()

    def forget(self) -> None:
        """Drop the value and hide."""
        self._value = None
        self.revealed = False
        self._refresh_text()

    def on_mount(self) -> None:
        self._refresh_text()

    def watch_revealed(self, revealed: bool) -> None:
        self.set_class(revealed, "-revealed")
        self._refresh_text()

    def _refresh_text(self) -> None:
        if self.revealed and self._value is not None:
            self.update(self._value)
        elif self._value is None and self._placeholder:
            self.update(self._placeholder)
        else:
            self.update(MASK)
