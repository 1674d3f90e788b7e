"""The unlock / create screen: the first thing the app shows, and what it shows when locked.

Modes:

- ``unlock``: a vault exists and no key is configured: ask for the passphrase (masked),
  say clearly when it is wrong, count the failed attempts;
- ``create``: no vault yet: choose a passphrase (typed twice, strength shown), or use a
  generated key file instead;
- ``auto``: a key file, ``FEDZK_ENCRYPTION_MASTER_KEY`` or ``VAULTUI_PASSPHRASE_FILE`` is
  configured: no prompt, the vault opens at once;
- ``locked``: the app was locked and the key is configured: Enter opens it again.

Opening (Argon2 key derivation) runs in a thread worker; the screen stays live. When the
vault file fails its integrity checks, Ctrl+R recovers it from the latest backup (the
damaged file is moved aside, never deleted; see :mod:`core.backup.damaged`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, LoadingIndicator, Static

from core.errors import BackupIntegrityError, IntegrityError, VaultError, WrongKeyError
from core.service.types import KeySource
from vaultui.name_cache import current_names
from vaultui.strength import MIN_PASSPHRASE_LENGTH
from vaultui.widgets.key_footer import KeyFooter
from vaultui.widgets.strength import StrengthMeter

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager
    from vaultui.app import VaultApp

MODES = ("unlock", "create", "auto", "locked")


class UnlockScreen(Screen[None]):
    """Ask for the passphrase (or create a vault) and hand the open manager to the app."""

    BINDINGS = [
        Binding(
            "ctrl+n",
            "use_key_file",
            "Use key file",
            id="unlock.key_file",
            tooltip="Create the vault with a generated key file instead of a passphrase",
        ),
        Binding(
            "enter",
            "submit",
            "Unlock",
            id="unlock.submit",
            tooltip="Open (or create) the vault",
            priority=True,
        ),
        Binding(
            "ctrl+r",
            "recover",
            "Recover from backup",
            id="unlock.recover",
            tooltip="Replace the damaged vault by its latest backup (the damaged file is kept)",
            priority=True,
            show=False,  # the message under the prompt names it when the vault is damaged
        ),
        Binding(
            "ctrl+q", "app.quit", "Quit", id="unlock.quit", tooltip="Quit vaultui", priority=True
        ),
    ]

    def __init__(self, mode: str, key_source: KeySource | None = None, key_label: str = "") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown unlock mode {mode!r}")
        super().__init__()
        self.mode = mode
        self.key_source = key_source
        self.key_label = key_label
        self.failed_attempts = 0
        self.busy = False
        self.damaged = False

    @property
    def vault_app(self) -> VaultApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="unlock-box", classes=f"unlock-{self.mode}"):
            yield Label("vaultui", id="unlock-title")
            if self.mode == "create":
                yield Static(
                    "No vault here yet. Choose a passphrase to create one "
                    f"(at least {MIN_PASSPHRASE_LENGTH} characters), or press Ctrl+N to "
                    "use a generated key file instead.",
                    id="unlock-intro",
                )
                yield Input(placeholder="New passphrase", password=True, id="passphrase")
                yield StrengthMeter(id="strength")
                yield Input(placeholder="Repeat the passphrase", password=True, id="passphrase2")
            elif self.mode == "unlock":
                yield Static("The vault is locked. Enter its passphrase.", id="unlock-intro")
                yield Input(placeholder="Passphrase", password=True, id="passphrase")
            elif self.mode == "locked":
                yield Static(
                    f"The vault is locked. Press Enter to open it with {self.key_label}.",
                    id="unlock-intro",
                )
            else:
                yield Static(f"Opening the vault with {self.key_label}…", id="unlock-intro")
            yield LoadingIndicator(id="unlock-busy")
            yield Static("", id="unlock-message")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#unlock-busy").display = False
        inputs = self.query(Input)
        if inputs:
            inputs.first().focus()
        if self.mode == "auto":
            self._start(self.key_source, create=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "use_key_file":
            return self.mode == "create"
        if action == "recover":
            # also after a lock: a vault that opens may still hold a damaged record
            return self.mode != "create"
        return True

    # ------------------------------------------------------------------ input

    @on(Input.Changed, "#passphrase")
    def _typed(self, event: Input.Changed) -> None:
        if self.mode == "create":
            self.query_one(StrengthMeter).measure(event.value)

    def action_submit(self) -> None:
        """Enter: next field, or open/create the vault.

        A priority binding: it acts in the app, but the app dispatches keys one at a
        time (:mod:`vaultui.key_order`), so it sees every character typed before it and
        the keys after it go to the field it focused, even when all arrive in one burst.
        """
        if self.mode in ("locked", "auto"):
            self.action_open_configured()
        elif self.mode == "create" and self.focused is self.query_one("#passphrase", Input):
            self.query_one("#passphrase2", Input).focus()
        else:
            self._submit()

    def _submit(self) -> None:
        if self.busy:
            return
        first = self.query_one("#passphrase", Input).value
        if not first:
            self.show_message("Type a passphrase first.", error=True)
            return
        if self.mode == "create":
            second = self.query_one("#passphrase2", Input).value
            if len(first) < MIN_PASSPHRASE_LENGTH:
                self.show_message(
                    f"Too short: use at least {MIN_PASSPHRASE_LENGTH} characters.", error=True
                )
                return
            if first != second:
                self.show_message("The two passphrases differ. Type them again.", error=True)
                self.query_one("#passphrase2", Input).value = ""
                self.query_one("#passphrase2", Input).focus()
                return
        self._start(KeySource.passphrase(first), create=self.mode == "create")

    def action_use_key_file(self) -> None:
        """Create the vault protected by a generated key file (no passphrase)."""
        if self.mode == "create" and not self.busy:
            self._start(None, create=True)

    def action_open_configured(self) -> None:
        """Open the vault with the configured key (locked / auto modes)."""
        if self.mode in ("locked", "auto") and not self.busy:
            self._start(self.key_source, create=False)

    # ------------------------------------------------------------------ opening

    def show_message(self, text: str, *, error: bool = False) -> None:
        """Show ``text`` under the prompt (red when ``error``)."""
        msg = self.query_one("#unlock-message", Static)
        msg.update(text)
        msg.set_class(error, "error")

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.query_one("#unlock-busy").display = busy
        for inp in self.query(Input):
            inp.disabled = busy

    def _start(self, key_source: KeySource | None, *, create: bool) -> None:
        self._set_busy(True)
        self.show_message("Creating the vault…" if create else "Deriving the key…")
        self._open(key_source)

    @work(thread=True, exclusive=True, group="unlock", exit_on_error=False)
    def _open(self, key_source: KeySource | None) -> None:
        try:
            if self.mode in ("auto", "locked"):
                manager = self.vault_app.open_configured(key_source)
            else:
                manager = self.vault_app.make_manager(key_source)
            # read the names here, in the same worker: the browser appears filled
            prefetched = current_names(manager.vault)
        except VaultError as exc:
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self._opened, manager, prefetched)

    def _opened(self, manager: SecretsManager, names: tuple[int, list[str], bool]) -> None:
        self._set_busy(False)
        for inp in self.query(Input):
            inp.value = ""
        self.vault_app.unlocked(manager, names)

    def _failed(self, exc: VaultError) -> None:
        self._set_busy(False)
        if isinstance(exc, WrongKeyError) and self.mode == "unlock":
            self.failed_attempts += 1
            plural = "s" if self.failed_attempts != 1 else ""
            self.show_message(
                f"Wrong passphrase. {self.failed_attempts} failed attempt{plural}.", error=True
            )
            inp = self.query_one("#passphrase", Input)
            inp.value = ""
            inp.focus()
            return
        if isinstance(exc, IntegrityError) and not isinstance(exc, BackupIntegrityError):
            self.damaged = True
            self.refresh_bindings()
            self.show_message(
                f"{exc.message}. Press Ctrl+R to recover the vault from its latest backup "
                "(the damaged file is kept aside).",
                error=True,
            )
        else:
            self.show_message(exc.message, error=True)
        self.vault_app.show_error(exc)

    # ------------------------------------------------------------------ recovery

    def _recovery_key(self) -> KeySource | None:
        if self.mode in ("locked", "auto"):
            return self.key_source or self.vault_app.explicit_key_source
        typed = self.query_one("#passphrase", Input).value
        return KeySource.passphrase(typed) if typed else None

    def action_recover(self) -> None:
        """Ask, then replace the damaged vault by its latest backup and open it."""
        if self.mode == "create" or self.busy:
            return
        key_source = self._recovery_key()
        if key_source is None:
            self.show_message("Type the passphrase first: it opens the backups.", error=True)
            return
        from vaultui.screens.dialogs import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes and not self.busy:
                self._set_busy(True)
                self.show_message("Recovering from the latest backup…")
                self._recover(key_source)

        self.app.push_screen(
            ConfirmScreen(
                "Recover the vault",
                "Move the damaged vault file aside (it is kept, not deleted) and rebuild "
                "the vault from its latest backup? Changes made after that backup are lost.",
                "Recover",
                danger=True,
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="unlock", exit_on_error=False)
    def _recover(self, key_source: KeySource) -> None:
        from core.service.backup import recover_damaged

        settings = self.vault_app.settings
        try:
            result = recover_damaged(settings.vault_path, settings.backups_dir, key_source)
        except VaultError as exc:
            self.app.call_from_thread(self._recover_failed, exc)
            return
        self.app.call_from_thread(self._recovered, result, key_source)

    def _recover_failed(self, exc: VaultError) -> None:
        self._set_busy(False)
        self.show_message(exc.message, error=True)
        self.vault_app.show_error(exc)

    def _recovered(self, result: dict[str, Any], key_source: KeySource) -> None:
        self._set_busy(False)
        self.damaged = False
        self.refresh_bindings()
        self.app.notify(
            f"Recovered {result['restored_secrets']} secrets from backup {result['backup']}. "
            f"The damaged file is kept at {result['moved_aside']}.",
            title="Vault recovered",
            timeout=15,
        )
        self._start(key_source, create=False)
