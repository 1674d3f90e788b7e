"""The rotation pane's editor: a secret's policy, generator and hooks in one dialog."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from core.errors import VaultError
from core.service.rotation import (
    DEFAULT_TIMEOUT,
    VIA_CHOICES,
    HookConfig,
    RotationStatus,
    parse_generator,
    parse_policy,
    policy_label,
)


@dataclass(frozen=True)
class RotationEdit:
    """What the edit dialog returns: the settings to save for one secret."""

    name: str
    policy: str
    generator: str
    hooks: HookConfig


class RotationEditScreen(ModalScreen[RotationEdit | None]):
    """Set a secret's policy, generator and hooks; validates before dismissing.

    With ``name=None`` it asks for the secret's name too (adding a policy).
    """

    CSS_PATH = "rotation.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="rotation-edit.save", tooltip="Save these settings"),
        Binding("escape", "cancel", "Cancel", id="rotation-edit.cancel", tooltip="Close unsaved"),
    ]

    def __init__(
        self, name: str | None, status: RotationStatus | None, focus_field: str = "policy"
    ) -> None:
        super().__init__()
        self.secret_name = name
        self.status = status
        self.focus_field = focus_field

    def compose(self) -> ComposeResult:
        s = self.status
        hooks = s.hooks if s else HookConfig()
        generator = "" if (s is None or s.generator_guessed) else s.generator
        with Vertical(classes="dialog", id="rotation-edit"):
            title = f"Rotation of {self.secret_name}" if self.secret_name else "Add a policy"
            yield Label(title, classes="dialog-title")
            if self.secret_name is None:
                yield Label("Secret name")
                yield Input(placeholder="db/password", id="edit-name")
            yield Label("Policy: NEVER HOURLY DAILY WEEKLY MONTHLY ON_ACCESS, or 90d / 12h")
            yield Input(value=s.policy if s else "DAILY", id="edit-policy")
            yield Label("Generator (empty: guess from the name and value)")
            yield Input(
                value=generator,
                placeholder="password:length=32,classes=ulds  token:hex:32  uuid  ...",
                id="edit-generator",
            )
            yield Label("Apply hook (command; gets values on stdin/env, never argv)")
            yield Input(value=hooks.apply or "", placeholder="none", id="edit-apply")
            yield Label("Verify hook")
            yield Input(value=hooks.verify or "", placeholder="none", id="edit-verify")
            with Horizontal(classes="edit-row"):
                yield Label("Timeout (s)")
                yield Input(value=f"{hooks.timeout:g}", id="edit-timeout", type="number")
                yield Label("Values via")
                yield Select(
                    [(v, v) for v in VIA_CHOICES],
                    value=hooks.via,
                    allow_blank=False,
                    id="edit-via",
                )
            yield Static("", id="edit-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        target = "#edit-name" if self.secret_name is None else f"#edit-{self.focus_field}"
        self.query_one(target, Input).focus()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        """Validate the fields and return them; show the problem instead if any."""
        value = {i.id: i.value.strip() for i in self.query(Input)}
        name = self.secret_name or value.get("edit-name", "")
        try:
            if not name:
                raise VaultError("Enter the secret's name")
            policy = policy_label(parse_policy(value["edit-policy"]))
            generator = value["edit-generator"]
            if generator:
                generator = parse_generator(generator).spec
            try:
                timeout = float(value["edit-timeout"] or DEFAULT_TIMEOUT)
            except ValueError:
                raise VaultError("The timeout must be a number of seconds") from None
            via = self.query_one("#edit-via", Select).value
            hooks = HookConfig(
                apply=value["edit-apply"] or None,
                verify=value["edit-verify"] or None,
                timeout=timeout,
                via=str(via),
            )
        except VaultError as exc:
            self.query_one("#edit-error", Static).update(str(exc))
            return
        self.dismiss(RotationEdit(name, policy, generator, hooks))

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)
