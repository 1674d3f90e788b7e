"""Small modal dialogs: confirm, error, progress and the tag chooser.

Each is a ``ModalScreen`` that answers through ``dismiss`` (as frogmouth's dialogs do).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from core.controlchars import escape_controls
from core.errors import VaultError


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True for yes."""

    BINDINGS = [
        Binding("y", "yes", "Yes", id="confirm.yes", tooltip="Answer yes"),
        Binding("n,escape", "no", "No", id="confirm.no", tooltip="Answer no"),
    ]

    def __init__(
        self, title: str, question: str, yes_label: str = "Yes", *, danger: bool = False
    ) -> None:
        super().__init__()
        self._title = title
        self._question = question
        self._yes_label = yes_label
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title")
            yield Static(self._question, classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    f"{self._yes_label} (y)",
                    id="yes",
                    variant="error" if self._danger else "primary",
                )
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        for button in self.query("#no").results(Button):
            button.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        """Answer yes."""
        self.dismiss(True)

    def action_no(self) -> None:
        """Answer no."""
        self.dismiss(False)


def confirm_rotation(names: list[str]) -> ConfirmScreen:
    """The yes/no question before rotating ``names`` (each gets a new CURRENT value)."""
    if len(names) == 1:
        question = (
            f"Rotate {names[0]} now? It gets a new value; the old one stays readable as PREVIOUS."
        )
    else:
        question = (
            f"Rotate {len(names)} secrets now? Each gets a new value; the old ones stay "
            "readable as PREVIOUS."
        )
    title = "Rotate 1 secret" if len(names) == 1 else f"Rotate {len(names)} secrets"
    return ConfirmScreen(title, question, "Rotate", danger=True)


def error_title(error: BaseException) -> str:
    """The headline for an error: the core error class's title, else its class name."""
    if isinstance(error, VaultError):
        return error.title
    return f"Unexpected error ({type(error).__name__})"


class ErrorScreen(ModalScreen[None]):
    """Shows an error: the core error's title as headline and its text (message + hint)."""

    BINDINGS = [
        Binding("escape,enter", "close", "Close", id="error.close", tooltip="Close this message"),
    ]

    def __init__(self, error: BaseException | str, title: str | None = None) -> None:
        super().__init__()
        if isinstance(error, str):
            self.title_text = title or "Error"
            self.message = escape_controls(error, keep_lines=True)
        else:
            self.title_text = title or error_title(error)
            # provider error text may carry anything a server sent: never raw
            self.message = escape_controls(str(error) or type(error).__name__, keep_lines=True)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error-dialog"):
            yield Label(self.title_text, classes="dialog-title", id="error-title")
            yield Static(self.message, classes="dialog-body", id="error-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", id="ok", variant="primary")

    def on_mount(self) -> None:
        for button in self.query("#ok").results(Button):
            button.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        """Close the message."""
        self.dismiss(None)


class ProgressScreen(ModalScreen[None]):
    """A progress bar for long work; the worker calls :meth:`advance` via the app thread
    (``call_from_thread``) and dismisses it when done."""

    def __init__(self, title: str, total: float | None = None) -> None:
        super().__init__()
        self._title = title
        self._total = total

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title")
            yield ProgressBar(total=self._total, id="progress")
            yield Static("", id="progress-detail", markup=False)

    def update_progress(
        self, completed: float, total: float | None = None, detail: str = ""
    ) -> None:
        """Move the bar to ``completed`` of ``total`` and show ``detail``."""
        bar = self.query_one(ProgressBar)
        bar.update(total=total if total is not None else bar.total, progress=completed)
        self.query_one("#progress-detail", Static).update(detail)


class TagFilterScreen(ModalScreen[str | None]):
    """Choose a tag to filter by; dismisses with 'key=value', '' for all, None to cancel."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="tags.cancel", tooltip="Keep the current filter")
    ]

    def __init__(self, tags: list[tuple[str, int]], current: str | None) -> None:
        super().__init__()
        self._tags = tags
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tag-dialog"):
            yield Label("Filter by tag", classes="dialog-title")
            options = [Option("(all secrets)", id="")]
            options += [Option(f"{label}  ({count})", id=label) for label, count in self._tags]
            yield OptionList(*options, id="tag-list")

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        ol.focus()
        if self._current:
            for i, (label, _count) in enumerate(self._tags, start=1):
                if label == self._current:
                    ol.highlighted = i
                    break

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")

    def action_cancel(self) -> None:
        """Close without changing the filter."""
        self.dismiss(None)
