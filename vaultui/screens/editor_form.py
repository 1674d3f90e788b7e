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
        """The field name as typed (stripped)."""
        return self.query_one(".field-key", Input).value.strip()

    @property
    def value(self) -> str:
        """The field value as typed."""
        return self.query_one(".field-value", Input).value

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.remove()
