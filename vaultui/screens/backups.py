"""The backups pane: every backup with its type, chain, age, size, secret count and
verified state; keys to back up (full or incremental), verify, restore (the dry-run
diff first, then confirm) and clean up, with a progress bar for long work.

Push it with ``app.push_screen(BackupsScreen(secrets.backup_manager))``. Above the list,
every destination (the home's folder, then each VAULTUI_BACKUP_DIRS folder from the
app's settings) with its count and newest backup; ``d`` switches the list and every key
to the next destination. All work runs
in thread workers (``group="backups"``); results and progress come back with
``call_from_thread``. After a restore the screen posts :class:`BackupsScreen.Restored`
(it bubbles to the app, which should reload its secrets).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, Static
from textual.worker import Worker, WorkerState

from core.errors import VaultError
from core.service.backup import BackupManager, Destination, describe, destinations, manager_at
from vaultui.widgets.key_footer import KeyFooter

COLUMNS = (
    ("name", "Name"),
    ("type", "Type"),
    ("chain", "Chain"),
    ("age", "Age"),
    ("size", "Size"),
    ("secrets", "Secrets"),
    ("verified", "Verified"),
    ("status", "Status"),
)
GROUP = "backups"
STAGES = {
    "reading": "Reading",
    "planning": "Comparing",
    "writing": "Writing",
    "verifying": "Verifying",
}


def human_size(size: float) -> str:
    """1536 -> '1.5 KB'."""
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def human_age(created_at: str, now: datetime) -> str:
    """How long ago an ISO time was: '42s', '5m', '3h', '2d'."""
    try:
        seconds = max(0.0, (now - datetime.fromisoformat(created_at)).total_seconds())
    except ValueError:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


class RestorePreviewScreen(ModalScreen[str | None]):
    """The dry-run diff of a restore; dismisses with 'restore', 'exact' or None."""

    CSS_PATH = "backups.tcss"
    BINDINGS = [
        Binding("y", "answer('restore')", "Restore", id="backups-preview.yes", tooltip="Restore"),
        Binding(
            "x",
            "answer('exact')",
            "Exact",
            id="backups-preview.exact",
            tooltip="Restore and delete the secrets created after the backup",
        ),
        Binding("n,escape", "answer(None)", "Cancel", id="backups-preview.no", tooltip="Cancel"),
    ]

    def __init__(self, preview: dict[str, Any]) -> None:
        super().__init__()
        self.preview = preview

    def compose(self) -> ComposeResult:
        p = self.preview
        counts = p["counts"]
        with Vertical(classes="dialog", id="preview"):
            yield Label(f"Restore {p['backup']}?", classes="dialog-title")
            yield Static(
                f"{counts['added']} come back, {counts['changed']} change back, "
                f"{counts['unchanged']} unchanged, {counts['kept']} created later "
                "(left alone; an exact restore deletes them).\n"
                "Restored values become new versions: the restore can be undone.",
                id="preview-summary",
                markup=False,
            )
            with VerticalScroll(id="preview-names"):
                yield Static(self._names_text(), id="preview-list")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Restore (y)", id="restore", variant="primary")
                yield Button(f"Exact, delete {counts['kept']} (x)", id="exact", variant="error")
                yield Button("Cancel (n)", id="cancel")

    def _names_text(self) -> Text:
        text = Text()
        for key, label, style in (
            ("added", "back", "green"),
            ("changed", "changed back", "yellow"),
            ("kept", "created later", "dim"),
        ):
            for name in self.preview[key][:500]:
                text.append(f"{label:>14}  ", style=style)
                text.append(name + "\n")
        if not text.plain:
            text.append("Nothing would change.", style="dim")
        return text

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)

    def action_answer(self, answer: str | None) -> None:
        """Close with ``answer``."""
        self.dismiss(answer)


class CleanupScreen(ModalScreen[tuple[float, int | None] | None]):
    """Ask how old backups may get; dismisses with (keep_days, keep_last) or None."""

    CSS_PATH = "backups.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="backups-cleanup.cancel", tooltip="Cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="cleanup"):
            yield Label("Clean up old backups", classes="dialog-title")
            yield Static(
                "Backups older than this are deleted, except the newest ones to keep and "
                "every backup a kept incremental needs.",
                markup=False,
            )
            yield Label("Keep days")
            yield Input(value="30", id="keep-days", type="number")
            yield Label("Always keep the newest (empty: no minimum)")
            yield Input(value="", id="keep-last", type="integer")
            yield Static("", id="cleanup-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Clean up", id="ok", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#keep-days", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        try:
            days = float(self.query_one("#keep-days", Input).value)
            raw_last = self.query_one("#keep-last", Input).value.strip()
            last = int(raw_last) if raw_last else None
            if days < 0 or (last is not None and last < 0):
                raise ValueError
        except ValueError:
            self.query_one("#cleanup-error", Static).update("Enter numbers of 0 or more")
            return
        self.dismiss((days, last))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without cleaning up."""
        self.dismiss(None)


class BackupsScreen(Screen[None]):
    """The backups pane for one :class:`core.backup.BackupManager`."""

    CSS_PATH = "backups.tcss"
    BINDINGS = [
        Binding("b", "create(False)", "Back up", id="backups.full", tooltip="Make a full backup"),
        Binding(
            "i",
            "create(True)",
            "Incremental",
            id="backups.incremental",
            tooltip="Back up only what changed since the last backup",
        ),
        Binding(
            "v",
            "verify",
            "Verify",
            id="backups.verify",
            tooltip="Check the selected backup and every backup its chain needs",
        ),
        Binding(
            "r",
            "restore",
            "Restore",
            id="backups.restore",
            tooltip="Restore the selected backup (shows what would change first)",
        ),
        Binding(
            "c",
            "cleanup",
            "Clean up",
            id="backups.cleanup",
            tooltip="Delete old backups (never one a kept backup needs)",
        ),
        Binding(
            "d",
            "next_destination",
            "Destination",
            id="backups.destination",
            tooltip="Show and use the next backup destination (a drive, a share)",
        ),
        Binding("f5", "reload", "Reload", id="backups.reload", tooltip="List the backups again"),
        Binding("escape", "close", "Back", id="backups.close", tooltip="Close the backups pane"),
    ]

    class Restored(Message):
        """A restore changed the vault (``result`` is restore_backup's summary)."""

        def __init__(self, result: dict[str, Any]) -> None:
            super().__init__()
            self.result = result

    def __init__(
        self, backup_manager: BackupManager, dests: list[Destination] | None = None
    ) -> None:
        super().__init__()
        self.home = backup_manager
        self.backups = backup_manager  # the destination in use
        self.dests = dests
        self.dest_index = 0
        self.described: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self.busy: str | None = None
        self.last_message = ""
        self._select: str | None = None  # the row to put the cursor on after a reload

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(f"Backups  {self.backups.backups_dir}", id="backups-title", markup=False)
        dest_table: DataTable[Any] = DataTable(id="backups-destinations", cursor_type="none")
        dest_table.can_focus = False  # the keys act on the backups list below
        dest_table.add_columns("", "Destination", "Kind", "Backups", "Newest", "State")
        yield dest_table
        table: DataTable[Any] = DataTable(id="backups-table", cursor_type="row", zebra_stripes=True)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("", id="backups-empty", markup=False)
        with Horizontal(id="backups-work"):
            yield Static("", id="backups-status", markup=False)
            yield ProgressBar(id="backups-progress", show_eta=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.dests is None:
            settings = getattr(self.app, "settings", None)
            home = Destination(self.home.backups_dir, "home")
            self.dests = destinations(settings) if settings is not None else [home]
        self.query_one("#backups-destinations").display = len(self.dests) > 1
        self.query_one("#backups-progress", ProgressBar).display = False
        self.load()
        self.set_interval(60, self.load, name="backups ages")

    # ------------------------------------------------------------------ data

    @work(thread=True, exclusive=True, group="backups-load", exit_on_error=False)
    def load(self) -> None:
        """List the backups of the destination in use, and describe each (thread)."""
        rows = self.backups.list_backups() if self.backups.backups_dir.is_dir() else []
        described = [describe(self.home, d) for d in self.dests or []]
        self.app.call_from_thread(self._show_destinations, described)
        self.app.call_from_thread(self._show, rows)

    def _show_destinations(self, described: list[dict[str, Any]]) -> None:
        self.described = described
        table = self.query_one("#backups-destinations", DataTable)
        table.clear()
        now = datetime.now(UTC)
        for i, d in enumerate(described):
            newest = f"{d['newest']} ({human_age(d['newest_at'], now)})" if d["newest"] else "-"
            state = "ok" if d["available"] else (d["error"] or "unavailable")
            if d["broken"]:
                state = f"{d['broken']} damaged or broken"
            table.add_row(
                "▶" if i == self.dest_index else "",
                d["path"],
                d["kind"],
                str(d["count"]),
                newest,
                state,
            )

    def action_next_destination(self) -> None:
        """Use the next destination for the list and every action."""
        if not self.dests or len(self.dests) < 2 or self.busy:
            return
        self.dest_index = (self.dest_index + 1) % len(self.dests)
        dest = self.dests[self.dest_index]
        if dest.kind == "home":
            self.backups = self.home
        else:
            # not created yet: backing up creates it (if its parent exists); until then,
            # the list is empty and says so
            self.backups = BackupManager(
                self.home.vault, dest.path, audit=self.home.audit, user=self.home.user
            )
        self.query_one("#backups-title", Static).update(f"Backups  {dest.path}")
        self.load()

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        table = self.query_one("#backups-table", DataTable)
        selected = self._select or self.selected_name()
        self._select = None
        table.clear()
        now = datetime.now(UTC)
        for row in reversed(rows):  # newest first
            table.add_row(*self._cells(row, now), key=row["name"])
        names = [r["name"] for r in rows]
        if selected is not None and selected in names:
            table.move_cursor(row=table.get_row_index(selected))
        missing = not self.backups.backups_dir.is_dir()
        self.query_one("#backups-empty", Static).update(
            ""
            if rows
            else f"{self.backups.backups_dir} is not there (is the drive mounted?); "
            "b creates it if its parent folder exists."
            if missing
            else "No backups yet: press b for a full backup."
        )

    @staticmethod
    def _cells(row: dict[str, Any], now: datetime) -> tuple[Any, ...]:
        chain = " ← ".join(reversed(row["chain"])) if len(row["chain"]) > 1 else "-"
        status_style = {"ok": "green", "broken chain": "yellow", "damaged": "bold red"}
        return (
            row["name"],
            row["type"],
            chain,
            human_age(row["created_at"], now),
            human_size(row["size_bytes"]),
            str(row["secret_count"]),
            Text("yes", style="green") if row["verified"] else Text("no", style="dim"),
            Text(row["status"], style=status_style.get(row["status"], "")),
        )

    def selected_name(self) -> str | None:
        """The backup under the cursor, or None."""
        table = self.query_one("#backups-table", DataTable)
        if not self.rows or table.cursor_row < 0 or table.row_count == 0:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(key.value) if key is not None else None

    # ------------------------------------------------------------------ progress

    def _start(self, label: str) -> bool:
        if self.busy:
            self.notify(f"Busy: {self.busy}", severity="warning")
            return False
        self.busy = label
        self._status(label + "…")
        bar = self.query_one("#backups-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        return True

    def _done(self, message: str, *, error: bool = False) -> None:
        self.busy = None
        self.query_one("#backups-progress", ProgressBar).display = False
        self._status(message)
        self.notify(message, severity="error" if error else "information")
        self.load()

    def _status(self, message: str) -> None:
        self.last_message = message
        self.query_one("#backups-status", Static).update(message)

    def _progress_from_thread(self, stage: str, done: int, total: int) -> None:
        self.app.call_from_thread(self._progress, stage, done, total)

    def _progress(self, stage: str, done: int, total: int) -> None:
        bar = self.query_one("#backups-progress", ProgressBar)
        bar.update(total=max(total, 1), progress=done)
        self.query_one("#backups-status", Static).update(
            f"{self.busy or ''}: {STAGES.get(stage, stage)} {done}/{total}"
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed worker shows its error instead of crashing the app."""
        if event.state == WorkerState.ERROR and event.worker.group in (GROUP, "backups-load"):
            error = event.worker.error
            text = str(error) if isinstance(error, VaultError) else f"Unexpected error: {error!r}"
            self._done(text, error=True)

    # ------------------------------------------------------------------ actions

    def action_create(self, incremental: bool) -> None:
        """Make a full or incremental backup."""
        if self._start("Incremental backup" if incremental else "Full backup"):
            self._create(incremental)

    @work(thread=True, group=GROUP, exit_on_error=False)
    def _create(self, incremental: bool) -> None:
        if self.backups is not self.home:
            # a new destination folder is made 0700, and only where its parent exists
            self.backups = manager_at(self.home, self.backups.backups_dir, create=True)
        path = self.backups.create_backup(
            incremental=incremental, progress=self._progress_from_thread
        )
        self.app.call_from_thread(self._created, path.stem)

    def _created(self, name: str) -> None:
        self._select = name
        self._done(f"Backed up to {name}")

    def action_verify(self) -> None:
        """Verify the selected backup and its chain."""
        name = self.selected_name()
        if name and self._start(f"Verifying {name}"):
            self._verify(name)

    @work(thread=True, group=GROUP, exit_on_error=False)
    def _verify(self, name: str) -> None:
        report = self.backups.verify_backup(name, progress=self._progress_from_thread)
        if report["valid"]:
            message = f"{name} is intact ({' ← '.join(reversed(report['chain']))})"
            self.app.call_from_thread(self._done, message)
        else:
            self.app.call_from_thread(self._done, "; ".join(report["errors"]), error=True)

    def action_restore(self) -> None:
        """Show what restoring the selected backup would change, then ask."""
        name = self.selected_name()
        if name and self._start(f"Comparing {name} with the vault"):
            self._preview(name)

    @work(thread=True, group=GROUP, exit_on_error=False)
    def _preview(self, name: str) -> None:
        preview = self.backups.restore_backup(
            name, dry_run=True, progress=self._progress_from_thread
        )
        self.app.call_from_thread(self._ask_restore, name, preview)

    def _ask_restore(self, name: str, preview: dict[str, Any]) -> None:
        self.busy = None
        self.query_one("#backups-progress", ProgressBar).display = False
        self._status("")

        def answered(answer: str | None) -> None:
            if answer and self._start(f"Restoring {name}"):
                self._restore(name, answer == "exact")

        self.app.push_screen(RestorePreviewScreen(preview), answered)

    @work(thread=True, group=GROUP, exit_on_error=False)
    def _restore(self, name: str, exact: bool) -> None:
        result = self.backups.restore_backup(name, exact=exact, progress=self._progress_from_thread)
        self.app.call_from_thread(self._restored, result)

    def _restored(self, result: dict[str, Any]) -> None:
        if result["errors"]:
            self._done("Nothing restored: " + "; ".join(result["errors"]), error=True)
            return
        c = result["counts"]
        self._done(
            f"Restored {result['backup']}: {c['added']} back, {c['changed']} changed back, "
            f"{c['deleted']} deleted"
        )
        self.post_message(self.Restored(result))

    def action_cleanup(self) -> None:
        """Ask for the retention, then delete old backups."""

        def answered(answer: tuple[float, int | None] | None) -> None:
            if answer and self._start("Cleaning up"):
                self._cleanup(*answer)

        self.app.push_screen(CleanupScreen(), answered)

    @work(thread=True, group=GROUP, exit_on_error=False)
    def _cleanup(self, keep_days: float, keep_last: int | None) -> None:
        deleted = self.backups.cleanup_old_backups(keep_days=keep_days, keep_last=keep_last)
        self.app.call_from_thread(self._done, f"Deleted {deleted} old backups")

    def action_reload(self) -> None:
        """List the backups again."""
        self.load()

    def action_close(self) -> None:
        """Close the pane."""
        self.app.pop_screen()
