"""The value generator dialog: length, character classes, no ambiguous characters.

Values come from ``core.rotation.generators`` (the :mod:`secrets` module). The preview is
masked until revealed; the dialog dismisses with the value, or None when cancelled.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from core.errors import ValidationError
from vaultui.strength import GeneratorOptions, generate, options_strength
from vaultui.widgets.masked import MaskedValue
from vaultui.widgets.strength import StrengthMeter

KINDS = [("Password", "password"), ("Token (URL-safe)", "token"), ("UUID", "uuid")]


class GeneratorScreen(ModalScreen[str | None]):
    """Make a random value; Enter (or Use) returns it."""

    BINDINGS = [
        Binding(
            "ctrl+g", "regenerate", "Regenerate", id="generator.again", tooltip="Make another value"
        ),
        Binding(
            "ctrl+r", "reveal", "Reveal", id="generator.reveal", tooltip="Show or hide the value"
        ),
        Binding("ctrl+s", "use", "Use", id="generator.use", tooltip="Use this value"),
        Binding(
            "escape", "cancel", "Cancel", id="generator.cancel", tooltip="Close without a value"
        ),
    ]

    def __init__(self, options: GeneratorOptions | None = None) -> None:
        super().__init__()
        self.options = options or GeneratorOptions()
        self.value: str | None = None

    def compose(self) -> ComposeResult:
        o = self.options
        with Vertical(classes="dialog generator-dialog"):
            yield Label("Generate a value", classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("Kind", classes="form-label")
                yield Select(KINDS, value=o.kind, allow_blank=False, id="gen-kind")
            with Horizontal(classes="form-row"):
                yield Label("Length", classes="form-label")
                yield Input(str(o.length), id="gen-length", type="integer", max_length=4)
            with Horizontal(classes="form-row checkboxes"):
                yield Checkbox("a-z", o.lower, id="gen-lower")
                yield Checkbox("A-Z", o.upper, id="gen-upper")
                yield Checkbox("0-9", o.digits, id="gen-digits")
                yield Checkbox("Symbols", o.symbols, id="gen-symbols")
            yield Checkbox(
                "No ambiguous characters (I l 1 | O 0 o)", o.avoid_ambiguous, id="gen-ambiguous"
            )
            yield MaskedValue(id="gen-preview")
            yield StrengthMeter(id="gen-strength")
            yield Static("", id="gen-message", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Use (Ctrl+S)", id="gen-use", variant="primary")
                yield Button("Again (Ctrl+G)", id="gen-again")
                yield Button("Cancel (Esc)", id="gen-cancel")

    def on_mount(self) -> None:
        self._regenerate()
        self.query_one("#gen-use", Button).focus()

    def _read_options(self) -> GeneratorOptions:
        raw = self.query_one("#gen-length", Input).value or "0"
        return GeneratorOptions(
            kind=str(self.query_one("#gen-kind", Select).value),
            length=int(raw) if raw.isdigit() else 0,
            lower=self.query_one("#gen-lower", Checkbox).value,
            upper=self.query_one("#gen-upper", Checkbox).value,
            digits=self.query_one("#gen-digits", Checkbox).value,
            symbols=self.query_one("#gen-symbols", Checkbox).value,
            avoid_ambiguous=self.query_one("#gen-ambiguous", Checkbox).value,
        )

    def _regenerate(self) -> None:
        self.options = self._read_options()
        message = self.query_one("#gen-message", Static)
        try:
            self.value = generate(self.options)
        except ValidationError as exc:
            self.value = None
            self.query_one(MaskedValue).set_value(None)
            message.update(exc.message)
            return
        message.update("")
        self.query_one(MaskedValue).set_value(self.value)
        meter = self.query_one(StrengthMeter)
        meter.strength = options_strength(self.options)

    @on(Input.Changed, "#gen-length")
    @on(Checkbox.Changed)
    @on(Select.Changed)
    def _options_changed(self) -> None:
        if self.is_mounted:
            self._regenerate()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "gen-use":
            self.action_use()
        elif event.button.id == "gen-again":
            self.action_regenerate()
        else:
            self.action_cancel()

    def action_regenerate(self) -> None:
        """Make another value with the same options."""
        self._regenerate()

    def action_reveal(self) -> None:
        """Show or hide the generated value."""
        preview = self.query_one(MaskedValue)
        preview.revealed = not preview.revealed

    def action_use(self) -> None:
        """Return the value to the editor."""
        if self.value is not None:
            self.dismiss(self.value)

    def action_cancel(self) -> None:
        """Close without a value."""
        self.dismiss(None)
