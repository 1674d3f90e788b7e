"""The editor: a new secret, or a new version of an existing one.

- ``str`` values in a masked input, or a masked text area for values of several lines
  (Ctrl+B switches; pasting several lines into the input switches by itself);
- ``dict`` values field by field (masked value inputs) and as JSON (validated on save
  and when switching tabs);
- description, tags (``key=value`` words) and rotation policy;
- values from the generator dialog (Ctrl+G);
- check-and-set: saving passes the version the editor loaded; if another process
  changed the secret meanwhile the vault refuses (``ConflictError``) and the editor says
  so instead of overwriting. A change noticed by the live reload is announced at once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Input,
    Label,
    Select,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)

from core.controlchars import escape_controls
from core.errors import ConflictError, ValidationError, VaultError
from core.service import secrets
from core.service.rotation import SecretRotationPolicy
from core.service.types import SecretRecord, validate_name
from vaultui.index import format_tags
from vaultui.screens.base import ShowsWorkerErrors
from vaultui.screens.detail import field_text
from vaultui.screens.dialogs import ConfirmScreen
from vaultui.screens.editor_conflict import ConflictScreen, Resolution
from vaultui.screens.editor_form import FieldRow, fields_from_rows, parse_json_object, parse_tags
from vaultui.screens.editor_keys import EDITOR_BINDINGS
from vaultui.widgets.key_footer import KeyFooter
from vaultui.widgets.secret_text import MaskedJsonArea, MaskedTextArea, ValueInput

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager
    from vaultui.app import VaultApp

POLICIES = [(p.name.replace("_", " ").lower(), p.value) for p in SecretRotationPolicy]


class EditorScreen(ShowsWorkerErrors, Screen[None]):
    """Create or edit a secret; saving is a check-and-set on the loaded version."""

    BINDINGS = EDITOR_BINDINGS

    def __init__(
        self, manager: SecretsManager, name: str | None, *, value_type: str = "str"
    ) -> None:
        super().__init__()
        self.manager = manager
        self.secret_name = name
        self.is_new = name is None
        self.value_type = value_type
        self.record: SecretRecord | None = None
        self.original: Any = None
        self.loaded_version = 0
        self.loaded_rev = 0
        self.revealed = False
        self.multiline = False
        self.conflict = False
        self.saving = False
        self._pristine: tuple[object, ...] | None = None  # the form as loaded (see changed)
        self._pending: tuple[str, Any, str, dict[str, str], str] | None = None  # last save

    @property
    def vault_app(self) -> VaultApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        title = "New secret" if self.is_new else f"Edit {self.secret_name}"
        with VerticalScroll(id="editor"):
            yield Label(title, classes="screen-title", id="editor-title", markup=False)
            yield Static("", id="editor-conflict", markup=False)
            with Horizontal(classes="form-row"):
                yield Label("Name", classes="form-label")
                yield Input(
                    self.secret_name or "",
                    placeholder="e.g. prod/db/password",
                    id="editor-name",
                    disabled=not self.is_new,
                )
            with Horizontal(classes="form-row"):
                yield Label("Type", classes="form-label")
                yield Select(
                    [("text (str)", "str"), ("fields (dict)", "dict")],
                    value=self.value_type,
                    allow_blank=False,
                    id="editor-type",
                )
            with Vertical(id="value-str"):
                with Horizontal(classes="form-row"):
                    yield Label("Value", classes="form-label")
                    yield ValueInput(
                        placeholder="value (Ctrl+G generates one, Ctrl+B for several lines)",
                        password=True,
                        id="editor-value",
                    )
                yield MaskedTextArea("", id="editor-multiline", soft_wrap=True)
            with TabbedContent(id="value-dict"):
                with TabPane("Fields", id="tab-fields"):
                    yield Vertical(id="fields")
                    yield Button("Add field (Ctrl+N)", id="add-field")
                with TabPane("JSON", id="tab-json"):
                    yield MaskedJsonArea("{}", id="editor-json", soft_wrap=False)
            with Horizontal(classes="form-row"):
                yield Label("Description", classes="form-label")
                yield Input(placeholder="what it is for", id="editor-description")
            with Horizontal(classes="form-row"):
                yield Label("Tags", classes="form-label")
                yield Input(placeholder="env=prod team=payments", id="editor-tags")
            with Horizontal(classes="form-row"):
                yield Label("Rotation", classes="form-label")
                yield Select(POLICIES, value="never", allow_blank=False, id="editor-rotation")
            yield Static("", id="editor-message", classes="error", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#editor-conflict").display = False
        self.query_one("#editor-multiline").display = False
        self._show_type(self.value_type)
        if self.is_new:
            self.query_one("#editor-name", Input).focus()
            self.call_after_refresh(self._remember_form)
        else:
            self.load()

    def _show_type(self, kind: str) -> None:
        self.value_type = kind
        self.query_one("#value-str").display = kind == "str"
        self.query_one("#value-dict").display = kind == "dict"
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add_field", "toggle_json"):
            return self.value_type == "dict"
        if action == "reload":
            return not self.is_new
        if action == "multiline":
            return self.value_type == "str" and not isinstance(self.original, bytes)
        return True

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> None:
        """Read the current value and metadata."""
        assert self.secret_name is not None
        # one read gives the value and the record it belongs to (the version that
        # check-and-set compares against), so they cannot disagree
        found = secrets.read(self.manager, self.secret_name, local=True, purpose="edit")
        if found is None:
            self.app.call_from_thread(self._loaded, None, None)
            return
        self.app.call_from_thread(self._loaded, found.value, found.record)

    def _loaded(self, value: Any, rec: SecretRecord | None) -> None:
        if rec is None or value is None:
            self.show_message(f"{self.secret_name} does not exist any more.")
            return
        if isinstance(value, bytes):
            self.show_message(
                f"{self.secret_name} holds binary data: edit its description and tags here, "
                "or replace the value with `vaultui --batch set NAME --file FILE`."
            )
        self.record = rec
        self.original = value
        self.loaded_version = rec.version
        self.loaded_rev = rec.rev
        self.conflict = False
        self.query_one("#editor-conflict").display = False
        # text stored before control characters were refused: shown (and saved) escaped
        self.query_one("#editor-description", Input).value = escape_controls(rec.description)
        self.query_one("#editor-tags", Input).value = format_tags(rec.tags)
        policy = (rec.rotation or {}).get("policy") or "never"
        rotation = self.query_one("#editor-rotation", Select)
        if policy not in [v for _l, v in POLICIES]:
            rotation.set_options([*POLICIES, (policy, policy)])
        rotation.value = policy
        kind = "dict" if isinstance(value, dict) else "str"
        self.query_one("#editor-type", Select).value = kind
        if isinstance(value, dict):
            self._set_fields(value)
            self.query_one("#editor-json", TextArea).text = json.dumps(
                value, indent=2, ensure_ascii=False
            )
        elif isinstance(value, bytes):
            self._set_str("")
            self.query_one("#value-str").disabled = True
            self.query_one("#editor-type").disabled = True
        else:
            self._set_str(value)
        self._show_type(kind)
        self.call_after_refresh(self._remember_form)
        if kind == "dict":
            self.call_after_refresh(self._focus_first_field)
        elif self.multiline:
            self.query_one("#editor-multiline", TextArea).focus()
        else:
            self.query_one("#editor-value", Input).focus()

    def _focus_first_field(self) -> None:
        values = self.query(".field-value").results(Input)
        for inp in values:
            inp.focus()
            break

    def _set_str(self, text: str, *, multiline: bool | None = None) -> None:
        """Put ``text`` in the value box: the text area if it has several lines."""
        self.multiline = "\n" in text if multiline is None else multiline
        self.query_one("#editor-value", Input).value = "" if self.multiline else text
        self.query_one("#editor-value").parent.display = not self.multiline  # type: ignore[union-attr]
        area = self.query_one("#editor-multiline", MaskedTextArea)
        area.masked = not self.revealed
        area.text = text if self.multiline else ""
        area.display = self.multiline
        self.refresh_bindings()

    @on(ValueInput.MultilinePaste, "#editor-value")
    def _pasted_lines(self, event: ValueInput.MultilinePaste) -> None:
        """Several lines pasted into the one-line box: keep them all, in the text area."""
        event.stop()
        inp = self.query_one("#editor-value", Input)
        at = inp.cursor_position
        self._set_str(inp.value[:at] + event.text + inp.value[at:], multiline=True)
        area = self.query_one("#editor-multiline", MaskedTextArea)
        area.focus()
        area.move_cursor(area.document.end)

    def action_multiline(self) -> None:
        """Switch the value between the one-line box and the text area."""
        if self.value_type != "str" or isinstance(self.original, bytes):
            return
        text = self._str_value()
        if self.multiline and "\n" in text.rstrip("\n"):
            self.show_message("The value has several lines: it stays in the text area.")
            return
        self.show_message("")
        self._set_str(text.rstrip("\n") if self.multiline else text, multiline=not self.multiline)
        if self.multiline:
            area = self.query_one("#editor-multiline", MaskedTextArea)
            area.focus()
            area.move_cursor(area.document.end)
        else:
            self.query_one("#editor-value", Input).focus()

    def _set_fields(self, data: dict[str, Any]) -> None:
        box = self.query_one("#fields", Vertical)
        box.remove_children()
        box.mount_all(FieldRow(k, field_text(v), masked=not self.revealed) for k, v in data.items())

    def secrets_changed(self, names: set[str]) -> None:
        """Called after a refresh: warn if this secret changed underneath."""
        if not self.is_new and self.secret_name in names and not self.saving:
            self._check_underneath()

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def _check_underneath(self) -> None:
        assert self.secret_name is not None
        rec = secrets.record(self.manager, self.secret_name)
        if rec is None or rec.rev != self.loaded_rev:
            self.app.call_from_thread(self._changed_underneath, rec)

    def _changed_underneath(self, rec: SecretRecord | None) -> None:
        self.conflict = True
        banner = self.query_one("#editor-conflict", Static)
        if rec is None:
            banner.update(f"{self.secret_name} was deleted by another process since you opened it.")
        else:
            banner.update(
                f"{self.secret_name} was changed by another process (now version {rec.version}) "
                "since you opened it: saving shows both versions to choose from. Ctrl+O loads "
                "the new version (your edits are lost); Esc leaves."
            )
        banner.display = True

    # ------------------------------------------------------------------ editing

    @on(Select.Changed, "#editor-type")
    def _type_changed(self, event: Select.Changed) -> None:
        kind = str(event.value)
        if kind == self.value_type:
            return
        if kind == "dict":
            text = self._str_value()
            data: dict[str, Any] = {}
            if text:
                try:
                    parsed = json.loads(text)
                    data = parsed if isinstance(parsed, dict) else {"value": text}
                except ValueError:
                    data = {"value": text}
            self._set_fields(data)
            self.query_one("#editor-json", TextArea).text = json.dumps(
                data, indent=2, ensure_ascii=False
            )
        self._show_type(kind)

    @on(Button.Pressed, "#add-field")
    def _add_field_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_add_field()

    @on(TabbedContent.TabActivated, "#value-dict")
    def _tab_switched(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-json":
            try:
                data = self._fields_value()
            except ValidationError as exc:
                self.show_message(exc.message)
                return
            self.query_one("#editor-json", TextArea).text = json.dumps(
                data, indent=2, ensure_ascii=False
            )
            self.show_message("")
        else:
            try:
                data = parse_json_object(self.query_one("#editor-json", TextArea).text)
            except ValidationError as exc:
                self.show_message(exc.message)
                self.query_one(TabbedContent).active = "tab-json"
                return
            self._set_fields(data)
            self.show_message("")

    def action_add_field(self) -> None:
        """Add an empty field (dict secrets)."""
        if self.value_type != "dict":
            return
        self.query_one(TabbedContent).active = "tab-fields"
        row = FieldRow(masked=not self.revealed)
        self.query_one("#fields", Vertical).mount(row)
        self.call_after_refresh(lambda: row.query_one(".field-key", Input).focus())

    def action_toggle_json(self) -> None:
        """Switch between the Fields and JSON tabs."""
        tabs = self.query_one(TabbedContent)
        if tabs.active == "tab-fields":
            tabs.active = "tab-json"
            # focus follows the tab (a focused field would switch the tabs back)
            self.query_one("#editor-json", TextArea).focus()
        else:
            tabs.active = "tab-fields"
            self._focus_first_field()

    def action_reveal(self) -> None:
        """Show or hide the value inputs."""
        self.revealed = not self.revealed
        self.query_one("#editor-value", Input).password = not self.revealed
        self.query_one("#editor-multiline", MaskedTextArea).masked = not self.revealed
        self.query_one("#editor-json", MaskedJsonArea).masked = not self.revealed
        for inp in self.query(".field-value").results(Input):
            inp.password = not self.revealed

    def action_generate(self) -> None:
        """Open the generator; its value goes into the value (or the focused field)."""
        from vaultui.screens.generator import GeneratorScreen

        focused = self.focused
        target: Input | None = None
        if self.value_type == "dict":
            if isinstance(focused, Input) and focused.has_class("field-value"):
                target = focused
            elif isinstance(focused, Input) and focused.has_class("field-key") and focused.parent:
                target = focused.parent.query_one(".field-value", Input)
        else:
            target = self.query_one("#editor-value", Input)

        def chosen(value: str | None) -> None:
            if value is None:
                return
            if self.value_type == "dict" and target is None:
                row = FieldRow("password", value, masked=not self.revealed)
                self.query_one(TabbedContent).active = "tab-fields"
                self.query_one("#fields", Vertical).mount(row)
                return
            if self.value_type == "str" and self.multiline:
                self.query_one("#editor-multiline", TextArea).text = value
                return
            assert target is not None
            target.value = value

        self.app.push_screen(GeneratorScreen(), chosen)

    def show_message(self, text: str) -> None:
        """Show a validation message under the form."""
        self.query_one("#editor-message", Static).update(text)

    # ------------------------------------------------------------------ values

    def _str_value(self) -> str:
        if self.multiline:
            return self.query_one("#editor-multiline", TextArea).text
        return self.query_one("#editor-value", Input).value

    def _fields_value(self) -> dict[str, Any]:
        original = self.original if isinstance(self.original, dict) else {}
        return fields_from_rows([(row.key, row.value) for row in self.query(FieldRow)], original)

    def collect(self) -> tuple[str, Any, str, dict[str, str], str]:
        """Validate the form: (name, value, description, tags, policy) or ValidationError."""
        name = self.query_one("#editor-name", Input).value.strip()
        validate_name(name)
        if self.value_type == "dict":
            tabs = self.query_one(TabbedContent)
            if tabs.active == "tab-json":
                value: Any = parse_json_object(self.query_one("#editor-json", TextArea).text)
            else:
                value = self._fields_value()
        elif isinstance(self.original, bytes):
            value = self.original  # binary values are not edited here
        else:
            value = self._str_value()
            if value == "":
                raise ValidationError(
                    "The value is empty", hint="type one or press Ctrl+G to generate one"
                )
        description = self.query_one("#editor-description", Input).value
        tags = parse_tags(self.query_one("#editor-tags", Input).value)
        policy = str(self.query_one("#editor-rotation", Select).value)
        return name, value, description, tags, policy

    # ------------------------------------------------------------------ saving

    def action_save(self) -> None:
        """Save (check-and-set against the version loaded)."""
        if self.saving:
            return
        try:
            name, value, description, tags, policy = self.collect()
        except ValidationError as exc:
            self.show_message(str(exc))
            return
        self.show_message("")
        self.saving = True
        self._pending = (name, value, description, tags, policy)
        self._save(name, value, description, tags, policy)

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    def _save(
        self, name: str, value: Any, description: str, tags: dict[str, str], policy: str
    ) -> None:
        m = self.manager
        rec = self.record
        old_policy = ((rec.rotation or {}).get("policy") if rec else None) or "never"
        new_policy = policy if policy != old_policy else None
        try:
            if self.is_new or rec is None:
                secrets.store(
                    m, name, value, description, tags, expected_version=0, why="created in the app"
                )
            elif value != self.original:
                secrets.store(
                    m,
                    name,
                    value,
                    description,
                    tags,
                    expected_version=self.loaded_version,
                    why="edited in the app",
                )
            elif new_policy or description != rec.description or tags != rec.tags:
                # one check-and-set change of the metadata, against the revision loaded
                changed = secrets.update_metadata(
                    m,
                    name,
                    description=description,
                    tags=tags,
                    rotation_policy=new_policy,
                    expected_rev=self.loaded_rev,
                )
                if changed is None:
                    raise ConflictError(f"Secret {name!r} changed since you read it")
                new_policy = None
            if new_policy:  # a new value and a new policy: two changes
                secrets.update_metadata(m, name, rotation_policy=new_policy)
        except ConflictError as exc:
            self.app.call_from_thread(self._conflicted, exc)
            return
        except VaultError as exc:
            self.app.call_from_thread(self._failed, exc)
            return
        saved = secrets.record(m, name)
        self.app.call_from_thread(self._saved, name, saved.version if saved else 0)

    def _saved(self, name: str, version: int) -> None:
        self.saving = False
        self.notify(f"Saved {name} (version {version}).", timeout=3)
        self.vault_app.secret_saved(name)
        self.app.pop_screen()

    def _failed(self, exc: VaultError) -> None:
        self.saving = False
        self.show_message(str(exc))
        self.vault_app.show_error(exc)

    def _conflicted(self, exc: ConflictError) -> None:
        self.saving = False
        if self.is_new:
            self.show_message(f"A secret with this name already exists. {exc.message}")
            return
        self.conflict = True
        banner = self.query_one("#editor-conflict", Static)
        banner.update(
            f"Not saved: {exc.message}. Ctrl+S shows both versions to choose from; Ctrl+O "
            "loads the current version (your edits are lost); Esc leaves."
        )
        banner.display = True
        self._fetch_theirs()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _fetch_theirs(self) -> None:
        """Read the version that won, to show it beside the user's (ConflictScreen)."""
        assert self.secret_name is not None
        secret = secrets.read(self.manager, self.secret_name, local=True, purpose="conflict")
        if secret is None:
            return  # deleted meanwhile: the banner says why the save was refused
        self.app.call_from_thread(self._show_conflict, secret.value, secret.record)

    def _show_conflict(self, theirs: Any, rec: SecretRecord) -> None:
        if self._pending is None or not self.is_current:
            return
        name, mine, description, tags, policy = self._pending

        def chosen(answer: Resolution | None) -> None:
            if answer is None:
                return  # back to the form as it was
            if answer.keep == "theirs":
                self._loaded(theirs, rec)
                return
            # mine or a merge, saved over their version (check-and-set against it)
            self.record, self.original = rec, theirs
            self.loaded_version, self.loaded_rev = rec.version, rec.rev
            self.conflict = False
            self.query_one("#editor-conflict").display = False
            self.saving = True
            self._save(name, answer.value, description, tags, policy)

        screen = ConflictScreen(name, mine, theirs, rec.version, base=self.original)
        self.app.push_screen(screen, chosen)

    # ------------------------------------------------------------------ leaving

    def action_reload(self) -> None:
        """Discard edits and load the current version."""
        if not self.is_new:
            self.load()

    def _form(self) -> tuple[object, ...]:
        """Everything the user can change, as shown (compared with the form as loaded)."""
        texts = [i.value for i in self.query(Input) if not isinstance(i.parent, FieldRow)]
        areas = [a.text for a in self.query(TextArea)]
        rows = [(row.key, row.value) for row in self.query(FieldRow) if row.is_attached]
        selects = [s.value for s in self.query(Select)]
        return (texts, areas, rows, selects)

    def _remember_form(self) -> None:
        self._pristine = self._form()

    @property
    def changed(self) -> bool:
        """True if the form differs from what was loaded (or from the empty new form)."""
        return self._pristine is not None and self._form() != self._pristine

    def action_cancel(self) -> None:
        """Leave without saving; if anything changed, ask first."""
        if not self.changed:
            self.app.pop_screen()
            return
        what = "this new secret" if self.is_new else f"your changes to {self.secret_name}"
        question = ConfirmScreen("Discard changes", f"Leave and lose {what}?", "Discard")

        def answered(leave: bool | None) -> None:
            if leave:
                self.app.pop_screen()

        self.app.push_screen(question, answered)
