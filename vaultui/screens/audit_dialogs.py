"""The audit pane's dialogs: one event's details, and where to export the filtered view."""

from __future__ import annotations

import json
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from core.controlchars import escape_controls
from core.service.audit import Row
from core.text import plural


class EventDetails(ModalScreen[None]):
    """Every field of one event, as JSON (no value is ever in an event)."""

    BINDINGS = [
        Binding(
            "escape,enter,q",
            "dismiss",
            "Close",
            id="audit.details.close",
            tooltip="Back to the audit trail",
        ),
    ]

    def __init__(self, row: Row) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        event = self.row.event or {}
        with Vertical(id="audit-details"):
            yield Label(
                f"Event {event.get('seq', '?')} · {event.get('operation', '?')}",
                id="audit-details-title",
            )
            body = json.dumps(event, indent=2) if event else self.row.raw
            body = escape_controls(body, keep_lines=True)  # JSON leaves DEL raw
            yield Static(body, id="audit-details-body", markup=False)
            yield Label("escape to close", id="audit-details-hint")


class ExportDialog(ModalScreen[Path | None]):
    """Ask where to export the filtered view (.csv, .jsonl or .json)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="audit.export.cancel", tooltip="Do not export"),
    ]

    def __init__(self, default: Path, count: int) -> None:
        super().__init__()
        self.default = default
        self.count = count

    def compose(self) -> ComposeResult:
        with Vertical(id="audit-export"):
            yield Label(f"Export {plural(self.count, 'event')} to (.csv, .jsonl or .json):")
            yield Input(str(self.default), id="audit-export-path")
            yield Label("enter to export · escape to cancel", id="audit-export-hint")

    @on(Input.Submitted, "#audit-export-path")
    def _submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(Path(text).expanduser() if text else None)

    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)
