"""The editor's form parts: tags and JSON parsing, and one row of a dict secret's fields."""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input

from core.errors import ValidationError
from core.tags import parse_tag_text


def parse_tags(text: str) -> dict[str, str]:
    """``"env=prod team=payments pci"`` -> ``{"env": "prod", "team": "payments", "pci": ""}``
    (core's one tag syntax, :func:`core.tags.parse_tag_text`)."""
    return parse_tag_text(text)


def parse_json_object(text: str) -> dict[str, Any]:
    """Parse the JSON tab: a JSON object, or ValidationError saying what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError("The JSON must be an object ({...}) of fields")
    return data


_MISSING = object()


def typed_field(old: Any, text: str) -> Any:
    """The value to save for a dict field shown as ``old`` and now reading ``text``.

    A field keeps its JSON type: a number, true/false, null, a list or an object stays
    one when the edit parses as that type (a port 8443 edited to 9443 is saved as the
    number 9443); otherwise, and for fields that were strings or are new, the text is
    saved as a string.
    """
    if old is _MISSING or isinstance(old, str):
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if isinstance(old, bool) or old is None:
        return parsed if type(parsed) is type(old) else text
    if isinstance(old, int | float):
        # a number stays a number (a whole number may become a fraction and back)
        is_number = isinstance(parsed, int | float) and not isinstance(parsed, bool)
        return parsed if is_number and parsed == parsed and abs(parsed) != float("inf") else text
    return parsed if type(parsed) is type(old) else text


def fields_from_rows(rows: list[tuple[str, str]], original: dict[str, Any]) -> dict[str, Any]:
    """The dict a list of ``(name, text)`` field rows stands for (types kept, see
    :func:`typed_field`), or ValidationError for a nameless or repeated field."""
    data: dict[str, Any] = {}
    for key, text in rows:
        if not key and not text:
            continue
        if not key:
            raise ValidationError("Every field needs a name")
        if key in data:
            raise ValidationError(f"Field {key!r} appears twice")
        data[key] = typed_field(original.get(key, _MISSING), text)
    return data


class FieldRow(Horizontal):
    """One field of a dict secret: name, masked value, remove button."""

    DEFAULT_CSS = """
    FieldRow { height: auto; }
    FieldRow .field-key { width: 1fr; }
    FieldRow .field-value { width: 2fr; }
    FieldRow Button { min-width: 5; width: 5; }
    """

    def __init__(self, key: str = "", value: str = "", *, masked: bool = True) -> None:
        super().__init__(classes="field-row")
        self._key = key
        self._value = value
        self._masked = masked

    def compose(self) -> ComposeResult:
        yield Input(self._key, placeholder="field", classes="field-key")
        yield Input(self._value, placeholder="value", password=self._masked, classes="field-value")
        yield Button("✕", classes="field-remove", tooltip="Remove this field")

    @property
    def key(self) -> str:
        """The field name as typed (stripped); the initial one until the row is composed."""
        inputs = self.query(".field-key").results(Input)
        return next((i.value for i in inputs), self._key).strip()

    @property
    def value(self) -> str:
        """The field value as typed; the initial one until the row is composed."""
        return next((i.value for i in self.query(".field-value").results(Input)), self._value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.remove()
