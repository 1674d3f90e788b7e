"""The editor's keys (ids and tooltips for the keymap, the footer and the help)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

EDITOR_BINDINGS: list[BindingType] = [
    Binding(
        "ctrl+s",
        "save",
        "Save",
        id="editor.save",
        tooltip="Save as a new version (check-and-set)",
        priority=True,
    ),
    Binding(
        "escape",
        "cancel",
        "Cancel",
        id="editor.cancel",
        tooltip="Leave without saving (asks first if anything changed)",
    ),
    Binding(
        "ctrl+g",
        "generate",
        "Generate",
        id="editor.generate",
        tooltip="Generate a random value",
        priority=True,
    ),
    Binding(
        "ctrl+r",
        "reveal",
        "Reveal",
        id="editor.reveal",
        tooltip="Show or hide the value while editing",
        priority=True,
    ),
    Binding(
        "ctrl+b",
        "multiline",
        "Multi-line",
        id="editor.multiline",
        tooltip="Switch the value between one line and several lines",
        priority=True,
    ),
    Binding(
        "ctrl+n",
        "add_field",
        "Add field",
        id="editor.add_field",
        tooltip="Add a field to a dict secret",
        priority=True,
    ),
    Binding(
        "ctrl+t",
        "toggle_json",
        "Fields/JSON",
        id="editor.json",
        tooltip="Switch between field-by-field and JSON editing",
        priority=True,
    ),
    Binding(
        "ctrl+o",
        "reload",
        "Reload",
        id="editor.reload",
        tooltip="Discard edits and load the current version",
        priority=True,
    ),
]
