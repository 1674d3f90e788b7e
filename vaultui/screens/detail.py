"""A secret's detail: metadata in clear, the value masked until revealed.

Nothing is decrypted when the screen opens: the value is read only when the user
reveals (``r``) or copies (``c``, ``f``) it, each time through the service, which audits
that one action as one 'reveal' or 'copy'. Leaving the screen forgets the value.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from core.controlchars import escape_controls
from core.service import secrets
from core.service.types import SecretRecord
from vaultui.index import format_tags, format_time, rotation_label, sync_label
from vaultui.screens.base import ShowsWorkerErrors
from vaultui.screens.dialogs import ConfirmScreen
from vaultui.widgets.key_footer import KeyFooter
from vaultui.widgets.masked import MASK, MaskedValue
from vaultui.widgets.otp_code import OtpCode

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager
    from vaultui.app import VaultApp


def value_text(value: Any) -> str:
    """A value as text for showing or copying: str as is, dict as JSON, bytes as base64."""
    if isinstance(value, dict):
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def field_text(value: Any) -> str:
    """One dict field as text (nested values as compact JSON)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _field_at(value: Any, row: int) -> str | None:
    """The key of a dict value at table row ``row`` (clamped), or None for other values."""
    if not isinstance(value, dict) or not value:
        return None
    keys = list(value)
    return str(keys[min(max(row, 0), len(keys) - 1)])


def describe_record(rec: SecretRecord) -> list[tuple[str, str]]:
    """The (label, text) pairs the detail screen shows for a record (no value)."""
    stages = ", ".join(f"{k} v{v}" for k, v in sorted(rec.stages.items()))
    rotation = rotation_label(rec) or "never"
    last = (rec.rotation or {}).get("last_rotated")
    if last:
        rotation += f" (last {str(last)[:16].replace('T', ' ')})"
    return [
        ("Type", rec.type),
        ("Version", str(rec.version) + (f"  ({stages})" if stages else "")),
        ("Description", escape_controls(rec.description) or "—"),
        ("Tags", format_tags(rec.tags) or "—"),
        ("Created", format_time(rec.created_ts) + " UTC"),
        ("Updated", format_time(rec.updated_ts) + " UTC"),
        ("Rotation", rotation),
        ("Sync", sync_label(rec)),
        ("Size", f"{rec.size:,} bytes"),
    ]


class DetailScreen(ShowsWorkerErrors, Screen[None]):
    """One secret: metadata, the masked value, and the actions on it."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="detail.back", tooltip="Back to the list"),
        Binding(
            "r", "reveal", "Reveal", id="detail.reveal", tooltip="Show or hide the value (audited)"
        ),
        Binding(
            "c",
            "copy",
            "Copy",
            id="detail.copy",
            tooltip="Copy the value; the clipboard clears itself (audited)",
        ),
        Binding(
            "f",
            "copy_field",
            "Copy field",
            id="detail.copy_field",
            tooltip="Copy the highlighted field of a dict secret",
        ),
        Binding(
            "o",
            "otp",
            "OTP",
            id="detail.otp",
            tooltip="Show or hide the current one-time password (TOTP) with a countdown",
        ),
        Binding("m", "move('rename')", "Rename", id="detail.rename", tooltip="Give it a new name"),
        Binding(
            "M",
            "move('copy')",
            "Copy to",
            id="detail.copy_to",
            tooltip="Copy value, description, tags and rotation policy to a new name",
        ),
        Binding("e", "edit", "Edit", id="detail.edit", tooltip="Edit value, description and tags"),
        Binding(
            "h", "history", "History", id="detail.history", tooltip="Version history and rollback"
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            id="detail.delete",
            tooltip="Delete this secret (undo in the list with u)",
        ),
    ]

    def __init__(self, manager: SecretsManager, name: str) -> None:
        super().__init__()
        self.manager = manager
        self.secret_name = name
        self.record: SecretRecord | None = None
        self._value: Any = None
        self._loaded_version: int | None = None

    @property
    def vault_app(self) -> VaultApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Label(self.secret_name, id="detail-name", classes="screen-title", markup=False)
            yield Static("", id="detail-meta", markup=False)
            yield Label("Value", classes="section-title")
            yield MaskedValue(placeholder=MASK + "  (r reveals, c copies)", id="detail-value")
            yield DataTable(id="detail-fields", cursor_type="row", zebra_stripes=True)
            yield OtpCode(self.manager, self.secret_name, id="detail-otp")
            yield Static("", id="detail-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#detail-fields").display = False
        self.load_record()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_field":
            return self.record is None or self.record.type == "dict"
        return True

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="record", exit_on_error=False)
    def load_record(self) -> None:
        """Read the metadata (no value is decrypted)."""
        rec = secrets.record(self.manager, self.secret_name)
        self.app.call_from_thread(self._show_record, rec)

    def _show_record(self, rec: SecretRecord | None) -> None:
        self.record = rec
        meta = self.query_one("#detail-meta", Static)
        if rec is None:
            meta.update("This secret does not exist (it was deleted).")
            return
        width = max(len(k) for k, _ in describe_record(rec))
        meta.update("\n".join(f"{k.ljust(width)}  {v}" for k, v in describe_record(rec)))
        if self._loaded_version is not None and self._loaded_version != rec.version:
            self._forget()
            self.query_one("#detail-note", Static).update(
                f"The value changed (now version {rec.version}); press r to read it again."
            )
        self.refresh_bindings()

    def secrets_changed(self, names: set[str]) -> None:
        """Called by the browser after a refresh: reload if this secret changed."""
        if self.secret_name in names:
            self.load_record()

    def _forget(self) -> None:
        self.query_one(OtpCode).hide()
        self._value = None
        self._loaded_version = None
        self.query_one(MaskedValue).forget()
        self._fill_fields(masked=True)

    # ------------------------------------------------------------------ value

    def _use_value(self, then: str) -> None:
        """Read the value for ``then`` ('reveal', 'copy' or 'copy_field')."""
        table = self.query_one("#detail-fields", DataTable)
        self._read_value(then, table.cursor_row if table.display else 0)

    @work(thread=True, exclusive=True, group="value", exit_on_error=False)
    def _read_value(self, then: str, row: int) -> None:
        # one audited read per action: a reveal, or a copy naming the field copied
        pick = (lambda value: _field_at(value, row)) if then == "copy_field" else None
        use = "reveal" if then == "reveal" else "copy"
        found = secrets.read(self.manager, self.secret_name, use=use, pick=pick)
        self.app.call_from_thread(self._value_read, found, then, row)

    def _value_read(self, found: secrets.Read | None, then: str, row: int) -> None:
        if found is None:
            self.notify("This secret no longer exists.", severity="warning")
            return
        self._value = found.value
        self._loaded_version = found.record.version
        self.query_one(MaskedValue).set_value(value_text(found.value))
        self.query_one("#detail-note", Static).update("")
        if then == "reveal":
            self._reveal(True)
        elif then == "copy":
            self.vault_app.copy_secret(self.secret_name, self._value)
        elif then == "copy_field":
            self._copy_field(row)

    def _reveal(self, on: bool) -> None:
        masked = self.query_one(MaskedValue)
        masked.revealed = on
        if isinstance(self._value, dict):
            masked.display = False
            self._fill_fields(masked=not on)
        else:
            masked.display = True

    def _fill_fields(self, *, masked: bool) -> None:
        table = self.query_one("#detail-fields", DataTable)
        if not isinstance(self._value, dict):
            table.display = False
            return
        table.display = True
        row = table.cursor_row
        table.clear(columns=True)
        table.add_columns("Field", "Value")
        for key, val in self._value.items():
            table.add_row(key, MASK if masked else field_text(val), key=key)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def action_reveal(self) -> None:
        """Show the value (reading it first), or hide it again."""
        masked = self.query_one(MaskedValue)
        if masked.revealed:
            self._reveal(False)
        else:
            self._use_value("reveal")

    def action_copy(self) -> None:
        """Copy the whole value (a dict as JSON)."""
        self._use_value("copy")

    def action_copy_field(self) -> None:
        """Copy the highlighted field of a dict secret."""
        self._use_value("copy_field")

    def _copy_field(self, row: int) -> None:
        key = _field_at(self._value, row)
        if key is None:
            self.notify("Only dict secrets have fields.", severity="warning", timeout=2)
            return
        table = self.query_one("#detail-fields", DataTable)
        if not table.display:
            self._fill_fields(masked=not self.query_one(MaskedValue).revealed)
        self.vault_app.copy_secret(self.secret_name, field_text(self._value[key]), field=key)

    def action_otp(self) -> None:
        """Show the current one-time password with a countdown, or hide it."""
        otp = self.query_one(OtpCode)
        if otp.showing:
            otp.hide()
        else:
            otp.show()

    def action_move(self, op: str) -> None:
        """Rename this secret, or copy it to a new name."""
        from vaultui.screens.rename import move_or_copy

        move_or_copy(self, self.manager, self.secret_name, op)

    # ------------------------------------------------------------------ other actions

    def action_back(self) -> None:
        """Back to the list (the value is forgotten)."""
        self._forget()
        self.app.pop_screen()

    def action_edit(self) -> None:
        """Edit this secret."""
        from vaultui.screens.editor import EditorScreen

        self.app.push_screen(EditorScreen(self.manager, self.secret_name))

    def action_history(self) -> None:
        """This secret's version history."""
        from vaultui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen(self.manager, self.secret_name))

    def action_delete(self) -> None:
        """Delete this secret after confirmation, then go back to the list."""

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete()

        self.app.push_screen(
            ConfirmScreen(
                "Delete secret",
                f"Delete {self.secret_name}? It can be restored with u (undo) in the list.",
                "Delete",
                danger=True,
            ),
            answered,
        )

    @work(thread=True, group="secret-io", exit_on_error=False)
    def _delete(self) -> None:
        ok = self.manager.delete_secret(self.secret_name)
        self.app.call_from_thread(self._deleted, ok)

    def _deleted(self, ok: bool) -> None:
        if not ok:
            self.notify(f"{self.secret_name} was already gone.", severity="warning")
            return
        self._forget()
        self.vault_app.secret_deleted(self.secret_name)
        self.app.pop_screen()
