"""The audit pane: keyboard-driven review of the audit trail.

``app.push_screen(AuditScreen(audit_log))`` shows a virtual table of events (fast on
millions of lines), the chain status (always visible, re-checked as the log grows),
filters typed from the keyboard, ``/`` search, ``n``/``N`` to jump between failures,
``enter`` for an event's details, live tail (watchdog), a 30-day sparkline of the
highlighted secret's activity, and export of the filtered view. All file work runs in
thread workers, which hand results back with ``call_later`` (a thread-safe message
that never blocks, so a worker can not hang an exiting app); the screen only renders.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Label, Sparkline, Static
from textual.worker import Worker, WorkerState, get_current_worker

from core.errors import VaultError
from core.service.audit import AuditLog, EventView, Filters, VerifyReport
from core.text import plural
from vaultui.screens.audit_dialogs import EventDetails, ExportDialog
from vaultui.widgets.audit_table import AuditTable
from vaultui.widgets.key_footer import KeyFooter

__all__ = ["AuditScreen", "EventDetails", "ExportDialog"]

POLL_SECONDS = 2.0
"""How often the pane looks at the log's size when no file-system event came."""
DEBOUNCE_SECONDS = 0.15
SPARK_DAYS = 30
INLINE_LOAD_BYTES = 256 * 1024
"""Below this much unindexed log, the pane loads in the mounting frame."""

FILTER_FIELDS = (
    ("secret", "secret (db/*, a,b)"),
    ("operation", "operation (read,write)"),
    ("user", "user"),
    ("success", "ok | failed"),
    ("since", "since (24h, 2024-01-15)"),
    ("until", "until"),
)


class AuditScreen(Screen[None]):
    """Review the audit trail held by ``audit_log`` (see the module docstring)."""

    CSS_PATH = "audit.tcss"

    BINDINGS = [
        Binding("escape", "back", "Back", id="audit.back", tooltip="Close the audit pane"),
        Binding(
            "f",
            "filter",
            "Filter",
            id="audit.filter",
            tooltip="Filter by secret, operation, user, success and time range",
        ),
        Binding(
            "x",
            "failures",
            "Failures only",
            id="audit.failures_only",
            tooltip="Show only failed operations (again: show all)",
        ),
        Binding("c", "clear", "Clear filters", id="audit.clear", tooltip="Show every event"),
        Binding(
            "slash",
            "search",
            "Search",
            key_display="/",
            id="audit.search",
            tooltip="Find text in the events (enter: next match)",
        ),
        Binding(
            "n",
            "next_failure",
            "Next failure",
            id="audit.next_failure",
            tooltip="Jump to the next failed operation",
        ),
        Binding(
            "N",
            "prev_failure",
            "Prev failure",
            key_display="N",
            id="audit.prev_failure",
            tooltip="Jump to the previous failed operation",
        ),
        Binding(
            "right_square_bracket",
            "next_match",
            "Next match",
            show=False,
            key_display="]",
            id="audit.next_match",
            tooltip="Next search match",
        ),
        Binding(
            "left_square_bracket",
            "prev_match",
            "Prev match",
            show=False,
            key_display="[",
            id="audit.prev_match",
            tooltip="Previous search match",
        ),
        Binding(
            "t",
            "toggle_tail",
            "Tail",
            id="audit.tail",
            tooltip="Follow new events as they are written",
        ),
        Binding(
            "v", "verify", "Verify", id="audit.verify", tooltip="Check the whole hash chain again"
        ),
        Binding(
            "e",
            "export",
            "Export",
            id="audit.export",
            tooltip="Write the filtered events to a CSV/JSONL/JSON file",
        ),
    ]

    def __init__(
        self, audit_log: AuditLog, *, name: str | None = None, id: str | None = None
    ) -> None:
        super().__init__(name=name, id=id)
        self.audit_log = audit_log
        self.filters = Filters()
        self.view: EventView = audit_log.view(self.filters)
        self.loaded = False
        """True once the first load finished (tests wait for it)."""
        self.report: VerifyReport | None = None
        """The latest chain verification (None until the first one finished)."""
        self.search_text = ""
        self._filter_text: dict[str, str] = {key: "" for key, _ in FILTER_FIELDS}
        self.spark_secret: str | None = None
        """The secret whose activity the sparkline shows (None: all secrets)."""
        self.spark_shown = False
        """True once the sparkline was drawn (tests wait for it)."""
        self._observer: Any = None
        self._last_size: tuple[int, int] | None = None
        self._grow_running = False
        self._grow_again = False
        self._debounce: Any = None
        self._spark_timer: Any = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="audit-top"):
            yield Label(f"Audit trail · {self.audit_log.path.name}", id="audit-title")
            yield Static("Chain: checking…", id="chain-status", classes="-checking")
        yield Horizontal(id="filter-bar", classes="-hidden")  # inputs mounted on first use
        yield Input(
            placeholder="search text, enter for the next match", id="search", classes="-hidden"
        )
        yield AuditTable(id="audit-table")
        with Horizontal(id="audit-activity"):
            yield Label("", id="spark-label")
            yield Sparkline([0] * SPARK_DAYS, id="spark")
        yield Static("Loading…", id="audit-status")
        yield KeyFooter()

    @property
    def table(self) -> AuditTable:
        """The events table."""
        return self.query_one(AuditTable)

    def on_mount(self) -> None:
        self.table.focus()
        try:
            instant = self.audit_log.index.pending_bytes() < INLINE_LOAD_BYTES
        except VaultError:
            instant = False
        if instant:
            # the index is (nearly) current: show rows in this frame, no thread hop
            view = self.audit_log.view(self.filters)
            view.reload()
            self._loaded(view, None)
        else:
            self._load(None)

    def _after_first_load(self) -> None:
        """Chain check and live tail start once the rows are on screen."""
        self._verify(full=True)
        self._start_watching()
        self.set_interval(POLL_SECONDS, self._poll)

    def on_unmount(self) -> None:
        self._stop_watching()

    # ------------------------------------------------------------------ status lines

    def _set_status(self, text: str) -> None:
        self.query_one("#audit-status", Static).update(text)

    def _status_text(self) -> str:
        count = len(self.view)
        tail = "tail on" if self.table.follow else "tail off"
        where = self.filters.describe()
        search = f" · search “{self.search_text}”" if self.search_text else ""
        pos = f"{self.table.cursor_row + 1:,}/{count:,}" if count else "0 events"
        return f"{pos} · {where}{search} · {tail}"

    def _refresh_status(self) -> None:
        if self.loaded:
            self._set_status(self._status_text())

    def _show_chain(self, report: VerifyReport | None, checking: str | None = None) -> None:
        widget = self.query_one("#chain-status", Static)
        widget.remove_class("-ok", "-broken", "-checking")
        if checking is not None:
            widget.add_class("-checking")
            widget.update(f"Chain: {checking}")
            return
        assert report is not None
        if report.ok:
            widget.add_class("-ok")
            extra = f" · {plural(len(report.warnings), 'warning')}" if report.warnings else ""
            keyed = "" if report.keyed else " · no key: MACs unchecked"
            widget.update(
                f"✓ Chain intact · {plural(report.events, 'event')} · "
                f"{plural(len(report.files), 'file')}{extra}{keyed}"
            )
        else:
            widget.add_class("-broken")
            brk = report.first_break
            assert brk is not None
            more = f" (+{len(report.issues) - 1} more)" if len(report.issues) > 1 else ""
            widget.update(f"✗ Chain broken at {brk.file} line {brk.line}: {brk.kind}{more}")

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="audit-load", exit_on_error=False)
    def _load(self, keep_n: int | None) -> None:
        worker = get_current_worker()
        view = self.audit_log.view(self.filters)

        def progress(done: int, total: int) -> None:
            if total:
                self.call_later(self._set_status, f"Indexing the audit log… {100 * done // total}%")

        view.reload(progress=progress, cancelled=lambda: worker.is_cancelled)
        if worker.is_cancelled:
            return
        if len(view):
            view.row(len(view) - 1)  # read the newest block here, not in render_line
        self.call_later(self._loaded, view, keep_n)

    def _loaded(self, view: EventView, keep_n: int | None) -> None:
        self.view = view
        self.table.set_view(view, keep_n)
        if not self.loaded:
            # the chain check (a child process) and the watcher start after the
            # first frames are drawn
            self.set_timer(0.3, self._after_first_load)
        self.loaded = True
        self._refresh_status()
        self._schedule_sparkline()

    @work(thread=True, exclusive=True, group="audit-verify", exit_on_error=False)
    def _verify(self, full: bool) -> None:
        worker = get_current_worker()
        resume = None if full or self.report is None or not self.report.ok else (self.report.cursor)
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if total and now - last[0] > 0.2:
                last[0] = now
                self.call_later(self._show_chain, None, f"verifying… {100 * done // total}%")

        if full:
            self.call_later(self._show_chain, None, "verifying…")
        report = self.audit_log.verify(
            resume=resume,
            progress=progress,
            cancelled=lambda: worker.is_cancelled,
            isolated=resume is None,  # a full check runs in a child process (no GIL)
        )
        if worker.is_cancelled:
            return
        if resume is not None and self.report is not None:
            # an incremental check walks only the new lines: keep the earlier warnings
            report.warnings = [*self.report.warnings, *report.warnings]
            report.files = [p.name for p in self.audit_log.files.segments()]
        self.call_later(self._verified, report)

    def _verified(self, report: VerifyReport) -> None:
        self.report = report
        self._show_chain(report)

    # ------------------------------------------------------------------ live tail

    def _start_watching(self) -> None:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency
            return
        screen = self
        prefix = self.audit_log.path.name

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                path = str(getattr(event, "dest_path", "") or event.src_path)
                if Path(path).name.startswith(prefix):
                    screen.call_later(screen._log_changed)  # thread-safe, never blocks

        directory = self.audit_log.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            observer = Observer()
            observer.schedule(Handler(), str(directory), recursive=False)
            observer.daemon = True
            observer.start()
        except OSError:
            return
        self._observer = observer

    def _stop_watching(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
            self._observer = None

    def _poll(self) -> None:
        try:
            st = self.audit_log.path.stat()
            size = (st.st_ino, st.st_size)
        except OSError:
            size = None
        if size != self._last_size:
            self._last_size = size
            self._log_changed()

    def _log_changed(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_SECONDS, self._start_grow)

    def _start_grow(self) -> None:
        if not self.loaded:
            return
        if self._grow_running:
            self._grow_again = True
            return
        self._grow_running = True
        self._grow()

    @work(thread=True, group="audit-grow", exit_on_error=False)
    def _grow(self) -> None:
        added = 0
        try:
            added = self.view.grow()
        finally:
            self.call_later(self._grown, added)

    def _grown(self, added: int) -> None:
        self._grow_running = False
        if added:
            self.table.rows_added()
            self._refresh_status()
            if self.report is not None:
                self._verify(full=False)
            self._schedule_sparkline()
        if self._grow_again:
            self._grow_again = False
            self._start_grow()

    # ------------------------------------------------------------------ sparkline

    @on(AuditTable.Highlighted)
    def _highlighted(self, event: AuditTable.Highlighted) -> None:
        self._refresh_status()
        self._schedule_sparkline()

    def _schedule_sparkline(self) -> None:
        if self._spark_timer is not None:
            self._spark_timer.stop()
        self._spark_timer = self.set_timer(0.2, self._update_sparkline)

    def _spark_target(self) -> str | None:
        secret = self.filters.secret
        if secret and not any(c in secret for c in "*?[,"):
            return secret
        row = self.table.current
        if row is not None and row.event is not None:
            return row.event.get("secret_name")
        return None

    def _update_sparkline(self) -> None:
        self._sparkline(self._spark_target())

    @work(thread=True, exclusive=True, group="audit-spark", exit_on_error=False)
    def _sparkline(self, secret: str | None) -> None:
        data = self.view.activity(secret, buckets=SPARK_DAYS)
        self.call_later(self._show_sparkline, secret, data)

    def _show_sparkline(self, secret: str | None, data: list[int]) -> None:
        self.spark_secret = secret
        self.spark_shown = True
        self.query_one("#spark", Sparkline).data = data
        who = secret or "all secrets"
        self.query_one("#spark-label", Label).update(
            f"{who} · {SPARK_DAYS} days · {plural(sum(data), 'event')}"
        )

    # ------------------------------------------------------------------ filters

    async def _filter_inputs(self) -> None:
        """Mount the filter fields the first time they are needed."""
        bar = self.query_one("#filter-bar")
        if not bar.children:
            await bar.mount_all(
                Input(
                    self._filter_text[key],
                    placeholder=placeholder,
                    id=f"filter-{key}",
                    classes="filter",
                )
                for key, placeholder in FILTER_FIELDS
            )

    async def action_filter(self) -> None:
        """Show the filter bar and put the cursor in its first field."""
        await self._filter_inputs()
        self.query_one("#filter-bar").remove_class("-hidden")
        self.query_one("#filter-secret", Input).focus()

    def _set_filter_text(self, key: str, value: str) -> None:
        self._filter_text[key] = value
        for field in self.query(f"#filter-{key}").results(Input):
            field.value = value

    def _hide_inputs(self) -> None:
        self.query_one("#filter-bar").add_class("-hidden")
        self.query_one("#search", Input).add_class("-hidden")
        self.table.focus()

    @on(Input.Submitted, ".filter")
    def _apply_filters(self, event: Input.Submitted) -> None:
        for key, _ in FILTER_FIELDS:
            self._filter_text[key] = self.query_one(f"#filter-{key}", Input).value
        values = dict(self._filter_text)
        try:
            filters = Filters.from_text(**values)
        except VaultError as exc:
            self.notify(str(exc), title="Filter", severity="error")
            return
        self._hide_inputs()
        self._set_filters(filters)

    def _set_filters(self, filters: Filters) -> None:
        current = self.table.current
        self.filters = filters
        self._set_status(f"Filtering: {filters.describe()}…")
        self._load(current.n if current is not None else None)

    def action_failures(self) -> None:
        """Toggle showing only failed operations."""
        success = None if self.filters.success is False else False
        self._set_filter_text("success", "" if success is None else "failed")
        self._set_filters(self.filters.with_(success=success))

    def action_clear(self) -> None:
        """Remove every filter."""
        for key, _ in FILTER_FIELDS:
            self._set_filter_text(key, "")
        self._set_filters(Filters())

    def action_back(self) -> None:
        """Close the filter bar or search first; else leave the pane."""
        bar = self.query_one("#filter-bar")
        search = self.query_one("#search", Input)
        if not bar.has_class("-hidden") or not search.has_class("-hidden"):
            self._hide_inputs()
            return
        self.dismiss(None)

    # ------------------------------------------------------------------ search

    def action_search(self) -> None:
        """Open the search field."""
        search = self.query_one("#search", Input)
        search.remove_class("-hidden")
        search.value = self.search_text
        search.focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.search_text = event.value.strip()
        self._hide_inputs()
        if self.search_text:
            self._find(self.search_text, self.table.cursor_row, 1)

    def action_next_match(self) -> None:
        """Jump to the next row containing the search text."""
        if self.search_text:
            self._find(self.search_text, self.table.cursor_row, 1)

    def action_prev_match(self) -> None:
        """Jump to the previous row containing the search text."""
        if self.search_text:
            self._find(self.search_text, self.table.cursor_row, -1)

    @work(thread=True, exclusive=True, group="audit-search", exit_on_error=False)
    def _find(self, text: str, start: int, direction: int) -> None:
        worker = get_current_worker()
        found = self.view.search(text, start, direction, cancelled=lambda: worker.is_cancelled)
        if worker.is_cancelled:
            return
        self.call_later(self._jump, found, f"no more matches for “{text}”")

    def _jump(self, index: int | None, missing: str) -> None:
        if index is None:
            self.notify(missing, title="Audit", timeout=3)
            return
        self.table.go_to(index)

    # ------------------------------------------------------------------ failures

    def action_next_failure(self) -> None:
        """Jump to the next failed operation."""
        self._failure(1)

    def action_prev_failure(self) -> None:
        """Jump to the previous failed operation."""
        self._failure(-1)

    @work(thread=True, exclusive=True, group="audit-search", exit_on_error=False)
    def _failure(self, direction: int) -> None:
        found = self.view.next_failure(self.table.cursor_row, direction)
        where = "after" if direction > 0 else "before"
        self.call_later(self._jump, found, f"no failure {where} this event")

    # ------------------------------------------------------------------ other actions

    @on(AuditTable.Selected)
    def _selected(self, event: AuditTable.Selected) -> None:
        self.app.push_screen(EventDetails(event.row))

    def action_toggle_tail(self) -> None:
        """Follow new events (cursor on the newest), or stop following."""
        table = self.table
        if table.follow:
            table.follow = False
        else:
            table.action_last()
        self._refresh_status()

    def action_verify(self) -> None:
        """Check the whole chain again."""
        self._verify(full=True)

    def action_export(self) -> None:
        """Ask for a file name and export the filtered events there."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        default = self.audit_log.path.parent.parent / f"audit-export-{stamp}.csv"

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._export(path)

        self.app.push_screen(ExportDialog(default, len(self.view)), chosen)

    @work(thread=True, exclusive=True, group="audit-export", exit_on_error=False)
    def _export(self, path: Path) -> None:
        count = self.view.export(path)
        self.call_later(
            self.notify, f"Exported {plural(count, 'event')} to {path}", title="Audit export"
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            if event.worker.group == "audit-grow":
                self._grow_running = False
            title = getattr(error, "title", "Audit error")
            self.notify(str(error), title=title, severity="error")
