"""The rotation pane: every secret with a policy, when it was last rotated, a live
countdown to the next rotation, its state (ok, due, overdue, running, failed), the
worker's state and the last failures with their reasons.

Push it with ``app.push_screen(RotationScreen(secrets.rotation_manager))``. All vault
work (loading the schedule, rotating, saving settings, stopping the worker) runs in
thread workers; the countdown ticks every second from the cached schedule without
touching the vault, which is re-read every ``reload_seconds`` and after each action.

The background worker started from here (key ``w``) is a Textual thread worker owned
by the *app*, so it keeps running when the pane is closed; it stops when toggled off,
when the app's workers are cancelled (app exit), or with
``manager.stop_rotation_scheduler()``.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static
from textual.widgets.data_table import CellDoesNotExist
from textual.worker import Worker, get_current_worker

from core.controlchars import escape_controls
from core.errors import VaultError
from core.service.members import exposed_secrets
from core.service.rotation import (
    RotationManager,
    RotationResult,
    RotationStatus,
    format_duration,
)
from core.text import plural
from vaultui.screens.dialogs import confirm_rotation
from vaultui.screens.rotation_edit import RotationEdit, RotationEditScreen
from vaultui.widgets.key_footer import KeyFooter

COLUMNS = (
    ("name", "Secret"),
    ("policy", "Policy"),
    ("generator", "Generator"),
    ("hooks", "Hooks"),
    ("last", "Last rotated"),
    ("due", "Next due"),
    ("state", "State"),
)
_DUE = [key for key, _label in COLUMNS].index("due")
_STATE = [key for key, _label in COLUMNS].index("state")
WORKER_GROUP = "rotation-scheduler"


# The first check waits this long after unlock: on a large vault it scans every record
# (~1.5 s of CPU at 100,000), which would otherwise slow the first seconds of typing.
APP_FIRST_CHECK_DELAY = 20.0


def start_app_worker(app: App[Any], manager: RotationManager) -> Worker[int] | None:
    """Run the rotation worker loop as a Textual thread worker owned by ``app``.

    Returns None if the manager's worker already runs. The loop stops when the Textual
    worker is cancelled (e.g. at app exit) or on ``manager.stop_rotation_scheduler()``.
    """
    if manager.is_running:
        return None

    def body() -> int:
        worker = get_current_worker()

        def watch() -> None:
            while not worker.cancelled_event.wait(0.5):
                if not manager.is_running and worker.is_finished:
                    return
            manager.request_stop()

        threading.Thread(target=watch, name="rotation-worker-watch", daemon=True).start()
        return manager.run_daemon(first_delay=APP_FIRST_CHECK_DELAY)

    return app.run_worker(
        body,
        name="rotation scheduler",
        group=WORKER_GROUP,
        thread=True,
        exclusive=True,
        exit_on_error=False,
    )


_SHOWN_EXPOSED = 12  # names in the pane; `rotation status --json` lists all


class RotationScreen(Screen[None]):
    """The rotation pane for one :class:`RotationManager` (see the module docstring)."""

    CSS_PATH = "rotation.tcss"
    BINDINGS = [
        Binding(
            "r",
            "rotate",
            "Rotate now",
            id="rotation.rotate",
            tooltip="Rotate the selected secret now: PENDING, hooks, then CURRENT",
        ),
        Binding(
            "p",
            "edit('policy')",
            "Policy",
            id="rotation.policy",
            tooltip="Set the selected secret's rotation policy",
        ),
        Binding(
            "g",
            "edit('generator')",
            "Generator",
            id="rotation.generator",
            tooltip="Choose how new values are generated",
        ),
        Binding(
            "h",
            "edit('apply')",
            "Hooks",
            id="rotation.hooks",
            tooltip="Set the apply and verify hook commands",
        ),
        Binding(
            "a", "add", "Add", id="rotation.add", tooltip="Give another secret a rotation policy"
        ),
        Binding(
            "d",
            "rotate_due",
            "Rotate due",
            id="rotation.due",
            tooltip="Rotate every secret that is due, once",
        ),
        Binding(
            "w",
            "toggle_worker",
            "Worker",
            id="rotation.worker",
            tooltip="Start or stop the background rotation worker",
        ),
        Binding(
            "f5",
            "reload",
            "Reload",
            id="rotation.reload",
            tooltip="Read the schedule from the vault again",
        ),
        Binding("escape", "close", "Back", id="rotation.close", tooltip="Close the rotation pane"),
    ]

    def __init__(self, manager: RotationManager, *, reload_seconds: float = 5.0) -> None:
        super().__init__()
        self.manager = manager
        self.reload_seconds = reload_seconds
        self.rows: list[RotationStatus] = []
        self.exposed: list[dict[str, Any]] = []
        self.rotating: set[str] = set()
        self.messages: list[str] = []
        self._loaded = False
        self._shown: dict[str, tuple[Any, ...]] = {}  # the cells in the table, per secret

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static("Rotation", id="rotation-title")
        yield Static("", id="worker-status", markup=False)
        table: DataTable[Any] = DataTable(
            id="rotation-table", cursor_type="row", zebra_stripes=True
        )
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("", id="rotation-empty", markup=False)
        yield Label("Last failures", id="failures-title")
        yield Static("", id="failures", markup=False)
        yield Label("Exposed to removed members", id="exposed-title")
        yield Static("", id="exposed", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()
        self.set_interval(1.0, self.tick, name="rotation countdown")
        self.set_interval(self.reload_seconds, self.load, name="rotation reload")

    # ------------------------------------------------------------------ data

    @work(thread=True, exclusive=True, group="rotation-load", exit_on_error=False)
    def load(self) -> None:
        """Read the schedule, live workers and failures from the vault (thread)."""
        rows = self.manager.schedule()
        workers = self.manager.workers()
        exposed = exposed_secrets(self.manager.vault)
        self.app.call_from_thread(self._show, rows, workers, exposed)

    def _show(
        self,
        rows: list[RotationStatus],
        workers: dict[str, Any],
        exposed: list[dict[str, Any]] | None = None,
    ) -> None:
        self.rows = rows
        self.exposed = exposed or []
        self.other_workers = {k: v for k, v in workers.items() if k != self.manager.owner}
        self._loaded = True
        table = self.query_one("#rotation-table", DataTable)
        now = self.manager.clock()
        cells = {row.name: self._cells(row, now) for row in rows}
        if [str(key.value) for key in table.rows] == list(cells):
            # The same secrets (the usual reload, every few seconds): only the cells that
            # changed are rewritten. Clearing would reset the fitted column widths and
            # repaint the whole table until the next idle moment refits them.
            for name, values in cells.items():
                shown = self._shown.get(name)
                for index, ((column, _label), value) in enumerate(
                    zip(COLUMNS, values, strict=True)
                ):
                    if shown is None or shown[index] != value:
                        table.update_cell(name, column, value, update_width=True)
        else:
            selected = self.selected_name()
            table.clear()
            for name, values in cells.items():
                table.add_row(*values, key=name)
            if selected is not None and selected in cells:
                table.move_cursor(row=table.get_row_index(selected))
        self._shown = cells
        self.query_one("#rotation-empty", Static).update(
            "" if rows else "No secret has a rotation policy yet: press a to add one."
        )
        self._show_failures()
        self._show_exposed()
        self._show_worker()

    def _show_exposed(self) -> None:
        """Secrets a removed member could read, until each gets a new value."""
        exposed = self.exposed
        lines = [
            f"{e['name']}  (to {', '.join(e['members'])}, {e['exposed_at']}): rotate it"
            for e in exposed[:_SHOWN_EXPOSED]
        ]
        if len(exposed) > _SHOWN_EXPOSED:
            lines.append(f"... and {len(exposed) - _SHOWN_EXPOSED} more")
        # shown only while there are some: most vaults never remove a member
        self.query_one("#exposed", Static).update("\n".join(lines))
        self.query_one("#exposed", Static).display = bool(lines)
        self.query_one("#exposed-title", Label).display = bool(lines)

    def _cells(self, row: RotationStatus, now: datetime) -> tuple[Any, ...]:
        hooks = "/".join(s for s in ("apply", "verify") if getattr(row.hooks, s)) or "-"
        generator = (
            Text(f"{row.generator} (guessed)", style="dim italic")
            if row.generator_guessed
            else Text(row.generator)
        )
        return (
            row.name,
            row.policy,
            generator,
            hooks,
            _when(row.last_rotated),
            self._countdown(row, now),
            self._state_text(row, now),
        )

    def _state(self, row: RotationStatus, now: datetime) -> str:
        if row.name in self.rotating:
            return "running"
        return row.state_at(now, self.manager.grace)

    def _state_text(self, row: RotationStatus, now: datetime) -> Text:
        state = self._state(row, now)
        return Text(state, style=f"bold {_STATE_STYLE[state]}")

    @staticmethod
    def _countdown(row: RotationStatus, now: datetime) -> str:
        if row.next_due is None:
            return "on read" if row.policy == "ON_ACCESS" else "-"
        seconds = (row.next_due - now).total_seconds()
        if seconds <= 0:
            return f"{format_duration(-seconds)} ago"
        return f"in {format_duration(seconds)}"

    def tick(self) -> None:
        """Refresh countdowns and states from the cached schedule (no vault access)."""
        if not self._loaded:
            return
        now = self.manager.clock()
        table = self.query_one("#rotation-table", DataTable)
        for row in self.rows:
            shown = self._shown.get(row.name)
            if shown is None:
                continue  # the row vanished between reloads
            values = list(shown)
            values[_DUE] = self._countdown(row, now)
            values[_STATE] = self._state_text(row, now)
            try:
                table.update_cell(row.name, "due", values[_DUE])
                table.update_cell(row.name, "state", values[_STATE])
            except CellDoesNotExist:
                continue
            self._shown[row.name] = tuple(values)
        self._show_worker()

    def _show_worker(self) -> None:
        status = self.manager.get_status()
        interval = format_duration(self.manager.interval_seconds)
        if status["rotation_active"]:
            next_check = self.manager.next_check
            if next_check is None:
                when = "checking now"
            else:
                left = (next_check - self.manager.clock()).total_seconds()
                when = f"next check in {format_duration(max(0.0, left))}"
            text = (
                f"Worker: running · {when} · every {interval} ±{self.manager.jitter:.0%} · "
                f"{status['rotated']} rotated, {status['failed']} failed"
            )
        else:
            text = f"Worker: stopped · would check every {interval} · press w to start"
        others = len(getattr(self, "other_workers", {}))
        if others:
            text += f" · {plural(others, 'worker')} in other processes"
        widget = self.query_one("#worker-status", Static)
        widget.update(text)
        widget.set_class(bool(status["rotation_active"]), "running")

    def _show_failures(self) -> None:
        lines = []
        failed = sorted(
            (r for r in self.rows if r.last_error),
            key=lambda r: _when(r.last_attempt),
            reverse=True,
        )
        for row in failed[:8]:
            # a hook's output tail is in the reason: shown escaped
            error = escape_controls(row.last_error)
            lines.append(f"{_when(row.last_attempt)}  {row.name}: {error}")
        lines += self.messages[-3:]
        self.query_one("#failures", Static).update("\n".join(lines) or "None.")

    def selected_name(self) -> str | None:
        """The secret under the table's cursor, or None."""
        table = self.query_one("#rotation-table", DataTable)
        if not self.rows or table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return str(key.value) if key.value is not None else None

    def _row(self, name: str | None) -> RotationStatus | None:
        return next((r for r in self.rows if r.name == name), None)

    # ------------------------------------------------------------------ actions

    def action_rotate(self) -> None:
        """Ask, then rotate the selected secret now, in a thread worker."""
        name = self.selected_name()
        if name is None:
            self.notify("Select a secret first", severity="warning")
            return
        if name in self.rotating:
            return

        def answered(yes: bool | None) -> None:
            if yes and name not in self.rotating:
                self.rotating.add(name)
                self.tick()
                self._rotate(name)

        self.app.push_screen(confirm_rotation([name]), answered)

    @work(thread=True, group="rotation-rotate", exit_on_error=False)
    def _rotate(self, name: str) -> None:
        try:
            result = self.manager.rotate(name, reason="manual (app)", raise_errors=False)
        except VaultError as exc:
            result = RotationResult(name, False, error=exc.message)
        self.app.call_from_thread(self._rotated, [result])

    def _rotated(self, results: list[RotationResult]) -> None:
        for result in results:
            self.rotating.discard(result.name)
            if result.rotated and result.warning:
                self.notify(
                    f"Rotated {result.name} to version {result.version}, but {result.warning}.",
                    title="Only the vault changed",
                    severity="warning",
                    timeout=10,
                )
            elif result.rotated:
                self.notify(f"Rotated {result.name} to version {result.version}")
            elif result.error:
                self.notify(
                    f"Rotation of {result.name} failed: {result.error}",
                    title="Secret rotation failed",
                    severity="error",
                    timeout=10,
                )
            else:
                self.notify(f"{result.name} not rotated: {result.skipped}", severity="warning")
        self.load()

    def action_rotate_due(self) -> None:
        """Rotate every due secret once, in a thread worker."""
        due = [
            r.name for r in self.rows if self._state(r, self.manager.clock()) in ("due", "overdue")
        ]
        if not due:
            self.notify("Nothing is due")
            return

        def answered(yes: bool | None) -> None:
            todo = [n for n in due if n not in self.rotating]
            if yes and todo:
                self.rotating.update(todo)
                self.tick()
                self._rotate_due(todo)

        self.app.push_screen(confirm_rotation(due), answered)

    @work(thread=True, group="rotation-rotate", exit_on_error=False)
    def _rotate_due(self, names: list[str]) -> None:
        try:
            results = self.manager.rotate_due(names=names)
        except VaultError as exc:
            results = [RotationResult(n, False, error=exc.message) for n in names]
        done = {r.name for r in results}
        results += [RotationResult(n, False, skipped="not due") for n in names if n not in done]
        self.app.call_from_thread(self._rotated, results)

    def action_edit(self, focus_field: str = "policy") -> None:
        """Open the settings dialog for the selected secret."""
        name = self.selected_name()
        if name is None:
            self.notify("Select a secret first (or press a to add one)", severity="warning")
            return
        self.app.push_screen(RotationEditScreen(name, self._row(name), focus_field), self._edited)

    def action_add(self) -> None:
        """Give a secret without a policy one."""
        self.app.push_screen(RotationEditScreen(None, None), self._edited)

    def _edited(self, edit: RotationEdit | None) -> None:
        if edit is not None:
            self._save(edit)

    @work(thread=True, group="rotation-save", exit_on_error=False)
    def _save(self, edit: RotationEdit) -> None:
        try:
            self.manager.set_policy(
                edit.name, edit.policy, generator=edit.generator, hooks=edit.hooks
            )
        except VaultError as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title=exc.title, severity="error", timeout=10
            )
            return
        self.app.call_from_thread(self.notify, f"Saved the rotation settings of {edit.name}")
        self.app.call_from_thread(self.load)

    def action_toggle_worker(self) -> None:
        """Start the background worker (an app-level Textual worker) or stop it."""
        if self.manager.is_running:
            self._stop_worker()
        else:
            start_app_worker(self.app, self.manager)
            self.notify("Rotation worker started")
            self.set_timer(0.2, self.load)
        self._show_worker()

    @work(thread=True, group="rotation-stop", exit_on_error=False)
    def _stop_worker(self) -> None:
        self.manager.stop_rotation_scheduler()
        self.app.call_from_thread(self.notify, "Rotation worker stopped")
        self.app.call_from_thread(self.load)

    def action_reload(self) -> None:
        """Read the schedule again."""
        self.load()

    def action_close(self) -> None:
        """Close the pane (the worker, if started, keeps running)."""
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed unexpectedly is reported, never a crash."""
        if event.worker.error is not None and event.state.name == "ERROR":
            error = event.worker.error
            self.messages.append(f"{type(error).__name__}: {error}")
            self.notify(str(error), title="Rotation pane error", severity="error")


_STATE_STYLE = {
    "ok": "green",
    "due": "yellow",
    "overdue": "dark_orange",
    "running": "cyan",
    "failed": "red",
}


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "never"


__all__ = [
    "RotationEdit",
    "RotationEditScreen",
    "RotationScreen",
    "start_app_worker",
]
