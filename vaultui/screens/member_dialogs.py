"""The Members pane's two dialogs: add a member by a pasted public key, and confirm a
removal after seeing every secret it marks exposed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from core.errors import VaultError
from core.service.members import MAX_RECIPIENT_CHARS, check_member_name, parse_recipient
from core.text import plural

SHOWN_EXPOSED = 1000
"""Names listed in the removal dialog; the count covers the rest (a vault may hold 100k)."""


class AddMemberScreen(ModalScreen[tuple[str, str] | None]):
    """Ask for a member's name and public key line; dismisses with (name, key) once both
    pass the same checks as ``vaultui --batch members add``, or None."""

    CSS_PATH = "members.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="members.add.cancel", tooltip="Add nobody"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog member-dialog"):
            yield Label("Add a member", classes="dialog-title")
            yield Static(
                "Their PUBLIC key: one ssh-ed25519 or ssh-rsa line (~/.ssh/id_ed25519.pub) "
                "or an age recipient (age1...). Compare the fingerprint with them over "
                "another channel.",
                classes="dialog-body",
                markup=False,
            )
            yield Input(placeholder="name (letters, digits, . _ @ + -)", id="member-name")
            yield Input(
                placeholder="ssh-ed25519 AAAA... or age1...",
                id="member-key",
                max_length=MAX_RECIPIENT_CHARS,
            )
            yield Static("", id="member-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add", id="add", variant="primary")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#member-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "member-name":
            self.query_one("#member-key", Input).focus()
        else:
            self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self._submit()
        else:
            self.dismiss(None)

    def _submit(self) -> None:
        name = self.query_one("#member-name", Input).value.strip()
        key = self.query_one("#member-key", Input).value.strip()
        try:
            check_member_name(name)
            recipient = parse_recipient(key)
        except VaultError as exc:
            # the core messages name the rule, never echo the pasted text
            self.query_one("#member-error", Static).update(exc.message)
            return
        self.dismiss((name, recipient.text))

    def action_cancel(self) -> None:
        """Close without adding anyone."""
        self.dismiss(None)


class ConfirmRemovalScreen(ModalScreen[bool]):
    """Say what removing ``member`` does (a rekey) and list, scrollable, every secret
    that will be marked exposed; dismisses with True for yes."""

    CSS_PATH = "members.tcss"
    BINDINGS = [
        Binding("y", "yes", "Remove", id="members.remove.yes", tooltip="Remove the member"),
        Binding("n,escape", "no", "Cancel", id="members.remove.no", tooltip="Keep the member"),
    ]

    def __init__(self, member: str, exposed: list[str]) -> None:
        super().__init__()
        self.member = member
        self.exposed = exposed

    def compose(self) -> ComposeResult:
        n = len(self.exposed)
        with Vertical(classes="dialog member-dialog"):
            yield Label(f"Remove member {self.member}?", classes="dialog-title")
            yield Static(
                f"The vault will be rekeyed: a new data key re-encrypts every secret and "
                f"every other key slot is rewrapped, so {self.member}'s key opens nothing "
                f"written from now on. A running unlock agent is stopped. "
                f"{plural(n, 'secret')} {self.member} could read will be marked EXPOSED "
                "and queued for rotation until each gets a new value:",
                id="removal-body",
                classes="dialog-body",
                markup=False,
            )
            shown = self.exposed[:SHOWN_EXPOSED]
            more = n - len(shown)
            lines = "\n".join(shown) + (f"\n... and {more:,} more" if more > 0 else "")
            with VerticalScroll(id="exposed-list"):
                yield Static(lines or "(no live secrets)", id="exposed-names", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Remove (y)", id="yes", variant="error")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        """Remove the member."""
        self.dismiss(True)

    def action_no(self) -> None:
        """Keep the member."""
        self.dismiss(False)


__all__ = ["AddMemberScreen", "ConfirmRemovalScreen"]
