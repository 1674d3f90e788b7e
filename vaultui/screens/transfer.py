"""Import and export dialogs (the work itself runs in the browser's workers).

Import reads ``.env``, vaultui JSON, KeePass KDBX or KeePassXC CSV files
(``core.importexport``) and stores the entries with ``core.service.ops.import_entries``;
export writes the secrets shown (or all) as ``.env`` or JSON to a 0600 file. Both
dialogs only collect what to do; they dismiss with a request or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from core.importexport import EXPORT_FORMATS, IMPORT_FORMATS, guess_format


@dataclass(frozen=True)
class ImportRequest:
    """What to import: file, format, how to treat existing names, KDBX password, prefix."""

    path: Path
    fmt: str
    on_conflict: str
    password: str | None
    prefix: str

    def __repr__(self) -> str:  # the KDBX password stays out of logs and tracebacks
        return f"ImportRequest({str(self.path)!r}, {self.fmt!r}, {self.on_conflict!r})"


@dataclass(frozen=True)
class ExportRequest:
    """Where and how to export, and whether only the rows shown."""

    path: Path
    fmt: str
    only_shown: bool
    overwrite: bool


class ImportScreen(ModalScreen[ImportRequest | None]):
    """Ask for a file to import and how."""

    BINDINGS = [
        Binding(
            "ctrl+s",
            "submit",
            "Import",
            id="import.submit",
            tooltip="Import the file",
            priority=True,
        ),
        Binding(
            "escape", "cancel", "Cancel", id="import.cancel", tooltip="Close without importing"
        ),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog transfer-dialog"):
            yield Label("Import secrets", classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("File", classes="form-label")
                yield Input(
                    placeholder="path/to/.env, export.json, db.kdbx, keepassxc.csv",
                    id="import-path",
                )
            with Horizontal(classes="form-row"):
                yield Label("Format", classes="form-label")
                yield Select(
                    [(f, f) for f in IMPORT_FORMATS],
                    prompt="from the file name",
                    id="import-format",
                )
            with Horizontal(classes="form-row"):
                yield Label("Existing", classes="form-label")
                yield Select(
                    [
                        ("new version (update)", "update"),
                        ("keep (skip)", "skip"),
                        ("refuse (fail)", "fail"),
                    ],
                    value="update",
                    allow_blank=False,
                    id="import-conflict",
                )
            with Horizontal(classes="form-row"):
                yield Label("Prefix", classes="form-label")
                yield Input(placeholder="optional, e.g. imported/", id="import-prefix")
            with Horizontal(classes="form-row"):
                yield Label("KDBX pass", classes="form-label")
                yield Input(
                    placeholder="only for KeePass files", password=True, id="import-password"
                )
            yield Static("", id="import-message", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import (Ctrl+S)", id="import-go", variant="primary")
                yield Button("Cancel (Esc)", id="import-cancel")

    def on_mount(self) -> None:
        self.query_one("#import-path", Input).focus()

    @on(Button.Pressed, "#import-go")
    def action_submit(self) -> None:
        """Check the form and hand the request to the browser."""
        raw = self.query_one("#import-path", Input).value.strip()
        message = self.query_one("#import-message", Static)
        if not raw:
            message.update("Which file?")
            return
        path = Path(raw).expanduser()
        if not path.is_file():
            message.update(f"{path} does not exist")
            return
        chosen = self.query_one("#import-format", Select).value
        fmt = chosen if isinstance(chosen, str) else guess_format(path)  # blank: guess
        if fmt is None:
            message.update("Cannot tell the format from the name: choose one")
            return
        self.dismiss(
            ImportRequest(
                path,
                fmt,
                str(self.query_one("#import-conflict", Select).value),
                self.query_one("#import-password", Input).value or None,
                self.query_one("#import-prefix", Input).value.strip(),
            )
        )

    @on(Button.Pressed, "#import-cancel")
    def action_cancel(self) -> None:
        """Close without importing."""
        self.dismiss(None)


class ExportScreen(ModalScreen[ExportRequest | None]):
    """Ask where to export, in which format, and which secrets."""

    BINDINGS = [
        Binding(
            "ctrl+s",
            "submit",
            "Export",
            id="export.submit",
            tooltip="Write the file",
            priority=True,
        ),
        Binding(
            "escape", "cancel", "Cancel", id="export.cancel", tooltip="Close without exporting"
        ),
    ]

    def __init__(self, shown: int, total: int, default: Path) -> None:
        super().__init__()
        self.shown = shown
        self.total = total
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog transfer-dialog"):
            yield Label("Export secrets", classes="dialog-title")
            yield Static(
                "The file will hold the values in clear text (mode 0600). Keep it safe and "
                "delete it when done.",
                classes="dialog-body",
            )
            with Horizontal(classes="form-row"):
                yield Label("File", classes="form-label")
                yield Input(str(self.default), id="export-path")
            with Horizontal(classes="form-row"):
                yield Label("Format", classes="form-label")
                yield Select(
                    [(f, f) for f in EXPORT_FORMATS],
                    value="json",
                    allow_blank=False,
                    id="export-format",
                )
            yield Checkbox(
                f"Only the {self.shown:,} secrets shown (of {self.total:,})",
                self.shown != self.total,
                id="export-shown",
            )
            yield Checkbox("Overwrite the file if it exists", False, id="export-overwrite")
            yield Static("", id="export-message", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export (Ctrl+S)", id="export-go", variant="primary")
                yield Button("Cancel (Esc)", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(Select.Changed, "#export-format")
    def _format_changed(self, event: Select.Changed) -> None:
        inp = self.query_one("#export-path", Input)
        path = Path(inp.value)
        if path.name.startswith("vaultui-export"):
            inp.value = str(path.with_suffix(".json" if event.value == "json" else ".env"))

    @on(Button.Pressed, "#export-go")
    def action_submit(self) -> None:
        """Check the form and hand the request to the browser."""
        raw = self.query_one("#export-path", Input).value.strip()
        message = self.query_one("#export-message", Static)
        if not raw:
            message.update("Where to?")
            return
        path = Path(raw).expanduser()
        overwrite = self.query_one("#export-overwrite", Checkbox).value
        if path.exists() and not overwrite:
            message.update(f"{path} exists: tick 'Overwrite' or choose another name")
            return
        if not path.parent.is_dir():
            message.update(f"{path.parent} is not a folder")
            return
        self.dismiss(
            ExportRequest(
                path,
                str(self.query_one("#export-format", Select).value),
                self.query_one("#export-shown", Checkbox).value,
                overwrite,
            )
        )

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)
