"""The sync pane: remotes, pending changes, conflicts side by side, background sync.

``SyncScreen(manager)`` is self-contained: push it from the app. It shows each remote
(configured or synced before) with its last sync and the changes pending on each side,
the open conflicts with both versions side by side (masked until ``r``), and keys to
sync now, accept mine, accept theirs, write a merged value, and set the background
sync interval. All work that touches the vault or the network runs in thread workers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Label, Static

from core.text import plural
from vaultui.screens.base import ShowsWorkerErrors
from vaultui.widgets.key_footer import KeyFooter
from vaultui.widgets.masked import MaskedValue

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager
    from core.service.sync import SyncReport

SCHEDULER_ATTR = "vaultui_sync_scheduler"
"""The app attribute holding the background :class:`core.sync.background.SyncScheduler`."""


def _when(ts: float | None) -> str:
    if not ts:
        return "never"
    return datetime.fromtimestamp(ts, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _show(value: Any) -> str:
    """A value as text for the side-by-side view (dicts as JSON, bytes as base64)."""
    if value is None:
        return "(absent)"
    if isinstance(value, dict):
        return json.dumps(value, indent=1, ensure_ascii=False)
    if isinstance(value, bytes):
        return "base64:" + base64.b64encode(value).decode()
    return str(value)


def _interval_text(seconds: int) -> str:
    if not seconds:
        return "off"
    if seconds % 3600 == 0:
        return f"every {seconds // 3600} h"
    if seconds % 60 == 0:
        return f"every {seconds // 60} min"
    return f"every {seconds} s"


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text; dismisses with it (or None on escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel", tooltip="Cancel")]

    def __init__(self, title: str, hint: str, *, password: bool = False, value: str = "") -> None:
        super().__init__()
        self._title = title
        self._hint = hint
        self._password = password
        self._value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="prompt"):
            yield Label(self._title, classes="dialog-title")
            yield Static(self._hint, classes="dialog-body", markup=False)
            yield Input(value=self._value, password=self._password, id="prompt-input")

    def on_mount(self) -> None:
        self.query_one("#prompt-input", Input).focus()

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


class SyncScreen(ShowsWorkerErrors, Screen[None]):
    """Remotes, pending changes, conflicts for review, and background sync."""

    CSS_PATH = "sync.tcss"

    BINDINGS = [
        Binding("escape", "back", "Back", id="sync.back", tooltip="Back"),
        Binding("s", "sync_now", "Sync now", id="sync.now", tooltip="Sync the selected remote"),
        Binding("a", "sync_all", "Sync all", id="sync.all", tooltip="Sync every remote"),
        Binding(
            "p", "plan", "Plan", id="sync.plan", tooltip="Dry run: count the changes on each side"
        ),
        Binding("m", "accept_mine", "Mine", id="sync.mine", tooltip="Keep my side"),
        Binding("t", "accept_theirs", "Theirs", id="sync.theirs", tooltip="Take the other side"),
        Binding("e", "edit_merged", "Edit", id="sync.edit", tooltip="Write a merged value"),
        Binding("d", "dismiss_conflict", "OK", id="sync.ok", tooltip="Keep the merge's choice"),
        Binding("r", "reveal", "Reveal", id="sync.reveal", tooltip="Show or hide both values"),
        Binding(
            "i", "interval", "Interval", id="sync.interval", tooltip="Background sync interval"
        ),
        Binding(
            "c", "merge_copies", "Merge copies", id="sync.copies", tooltip="Merge conflict copies"
        ),
    ]

    class Synced(Message):
        """A sync finished (posted for the app, e.g. to refresh the browser)."""

        def __init__(self, report: SyncReport) -> None:
            super().__init__()
            self.report = report

    def __init__(
        self,
        manager: SecretsManager,
        *,
        provider_factory: Callable[[str], Any] | None = None,
    ) -> None:
        super().__init__()
        self.manager = manager
        self.provider_factory = provider_factory
        self._remotes: list[dict[str, Any]] = []
        self._conflicts: list[dict[str, Any]] = []
        self._copies: list[str] = []
        self._plans: dict[str, tuple[int, int]] = {}
        self._results: dict[str, str] = {}
        self.loaded = False
        self.busy = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Vertical(id="sync"):
            yield Label("Sync", classes="screen-title")
            yield DataTable(id="remotes", cursor_type="row", zebra_stripes=True)
            yield Static("", id="sync-settings", markup=False)
            yield Label("Conflicts to review", classes="section-title")
            yield DataTable(id="conflicts", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="sides"):
                with Vertical(classes="side"):
                    yield Label("Mine", id="mine-title", classes="side-title")
                    yield MaskedValue(id="mine", placeholder="(select a conflict)")
                with Vertical(classes="side"):
                    yield Label("Theirs", id="theirs-title", classes="side-title")
                    yield MaskedValue(id="theirs", placeholder="(select a conflict)")
            yield Static("", id="sync-message", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        remotes = self.query_one("#remotes", DataTable)
        remotes.add_columns(
            "Remote", "Mode", "Last sync", "Pending here", "Pending there", "Result"
        )
        conflicts = self.query_one("#conflicts", DataTable)
        conflicts.add_columns("Secret", "Field", "What happened", "Kept", "Source")
        self.refresh_status()
        self._ensure_scheduler()

    # ------------------------------------------------------------------ data

    @work(thread=True, exclusive=True, group="sync-status", exit_on_error=False)
    def refresh_status(self) -> None:
        """Read remotes, pending local changes and conflicts (no network)."""
        from core.service.sync import load_config, status

        vault = self.manager.vault
        data = status(vault)
        config = load_config(vault, self.manager.settings)
        self.app.call_from_thread(self._show_status, data, config.interval)

    def _show_status(self, data: dict[str, Any], interval: int) -> None:
        rows: dict[str, dict[str, Any]] = {}
        for rid, info in data["remotes"].items():
            rows[f"{info['provider']}|{info['mode']}"] = dict(info, id=rid)
        for remote in data["config"]["remotes"]:
            # never synced: every secret is waiting to go
            rows.setdefault(
                f"{remote['provider']}|{remote['mode']}",
                dict(remote, last_sync=None, pending_local=data["secrets"]),
            )
        self._remotes = list(rows.values())
        table = self.query_one("#remotes", DataTable)
        row = table.cursor_row
        table.clear()
        for key, info in rows.items():
            here, there = self._plans.get(key, (info.get("pending_local"), None))
            table.add_row(
                info["provider"],
                info["mode"],
                _when(info.get("last_sync")),
                "?" if here is None else str(here),
                "?" if there is None else str(there),
                self._results.get(key) or ("ok" if info.get("ok", True) else "failed"),
                key=key,
            )
        if rows:
            table.move_cursor(row=min(row, len(rows) - 1))
        self._copies = data["conflict_copies"]
        copies = (
            f"   {len(self._copies)} conflict copy(ies) beside the vault: c to merge"
            if self._copies
            else ""
        )
        self.query_one("#sync-settings", Static).update(
            f"Background sync: {_interval_text(interval)} (i to change){copies}"
        )
        self._conflicts = data["conflicts"]
        ctable = self.query_one("#conflicts", DataTable)
        crow = ctable.cursor_row
        ctable.clear()
        for c in self._conflicts:
            what = (
                "deleted on one side, edited on the other"
                if c["kind"] == "delete_vs_edit"
                else "changed on both sides"
            )
            ctable.add_row(
                c["name"], c["field"], what, c["winner"], c.get("source", ""), key=c["id"]
            )
        if self._conflicts:
            ctable.move_cursor(row=min(crow, len(self._conflicts) - 1))
        else:
            self._load_sides(None)
        if not rows:
            self._message("No remotes yet: run `vaultui --batch sync --provider NAME --save`.")
        self.loaded = True

    def _message(self, text: str) -> None:
        self.query_one("#sync-message", Static).update(text)

    def selected_remote(self) -> dict[str, Any] | None:
        """The remote under the cursor, if any."""
        table = self.query_one("#remotes", DataTable)
        if not self._remotes or table.cursor_row < 0:
            return None
        return self._remotes[min(table.cursor_row, len(self._remotes) - 1)]

    def selected_conflict(self) -> dict[str, Any] | None:
        """The conflict under the cursor, if any."""
        table = self.query_one("#conflicts", DataTable)
        if not self._conflicts or table.cursor_row < 0:
            return None
        return self._conflicts[min(table.cursor_row, len(self._conflicts) - 1)]

    @on(DataTable.RowHighlighted, "#conflicts")
    def _conflict_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._load_sides(self.selected_conflict())

    def _load_sides(self, conflict: dict[str, Any] | None) -> None:
        mine = self.query_one("#mine", MaskedValue)
        theirs = self.query_one("#theirs", MaskedValue)
        if conflict is None:
            mine.forget()
            theirs.forget()
            self.query_one("#mine-title", Label).update("Mine")
            self.query_one("#theirs-title", Label).update("Theirs")
            return
        self._read_sides(conflict)

    @work(thread=True, exclusive=True, group="sync-sides", exit_on_error=False)
    def _read_sides(self, conflict: dict[str, Any]) -> None:
        from core.service.sync import side_value

        vault = self.manager.vault
        out = []
        for side in ("mine", "theirs"):
            try:
                out.append(_show(side_value(vault, conflict, side)))
            except Exception as exc:  # a side no longer readable: say so, no crash
                out.append(f"({type(exc).__name__})")
        self.app.call_from_thread(self._show_sides, conflict, out[0], out[1])

    def _show_sides(self, conflict: dict[str, Any], mine: str, theirs: str) -> None:
        def title(side: str, version: Any, when: float | None, device: str) -> str:
            parts = [side]
            if version:
                parts.append(f"v{version}")
            if when:
                parts.append(_when(when))
            if device:
                parts.append(device)
            return " · ".join(parts)

        self.query_one("#mine-title", Label).update(
            title(
                "Mine",
                conflict.get("local_version"),
                conflict.get("local_time"),
                conflict.get("local_device", ""),
            )
        )
        self.query_one("#theirs-title", Label).update(
            title(
                "Theirs",
                conflict.get("other_version"),
                conflict.get("other_time"),
                conflict.get("other_device", ""),
            )
        )
        self.query_one("#mine", MaskedValue).set_value(mine)
        self.query_one("#theirs", MaskedValue).set_value(theirs)

    # ------------------------------------------------------------------ sync

    def _provider_for(self, name: str) -> Any:
        if self.provider_factory is not None:
            return self.provider_factory(name)
        return None

    def action_sync_now(self) -> None:
        """Sync the selected remote."""
        remote = self.selected_remote()
        if remote is None:
            self._message("No remote selected.")
            return
        self._run([remote], dry_run=False)

    def action_sync_all(self) -> None:
        """Sync every remote shown."""
        if not self._remotes:
            self._message("No remotes yet.")
            return
        self._run(list(self._remotes), dry_run=False)

    def action_plan(self) -> None:
        """Dry run of the selected remote: how many changes wait on each side."""
        remote = self.selected_remote()
        if remote is None:
            self._message("No remote selected.")
            return
        self._run([remote], dry_run=True)

    def _run(self, remotes: list[dict[str, Any]], *, dry_run: bool) -> None:
        if self.busy:
            self._message("A sync is already running.")
            return
        self.busy = True
        self._message(("Planning" if dry_run else "Syncing") + "…")
        self._sync_worker(remotes, dry_run)

    @work(thread=True, exclusive=True, group="sync-run", exit_on_error=False)
    def _sync_worker(self, remotes: list[dict[str, Any]], dry_run: bool) -> None:
        from core.errors import VaultError
        from core.service.sync import run_sync

        notes = []
        try:
            for remote in remotes:
                key = f"{remote['provider']}|{remote['mode']}"
                provider = self._provider_for(remote["provider"])
                try:
                    report = run_sync(
                        self.manager.vault,
                        self.manager.settings,
                        remote["provider"],
                        sealed=remote["mode"] == "sealed",
                        dry_run=dry_run,
                        audit=None if dry_run else self.manager.audit_log,
                        provider=provider,
                    )
                except VaultError as exc:
                    self._results[key] = "failed"
                    notes.append(f"{remote['provider']}: {exc}")
                    continue
                finally:
                    if provider is not None:
                        provider.close()
                if dry_run:
                    self._plans[key] = (report.pending_local, report.pending_remote)
                    notes.append(
                        f"{remote['provider']} ({remote['mode']}): would push "
                        f"{len(report.pushed)}, pull {len(report.pulled)}, "
                        f"{plural(len(report.conflicts), 'conflict')}"
                    )
                else:
                    self._plans[key] = (0, 0)
                    self._results[key] = "ok" if report.ok else f"{len(report.failed)} failed"
                    notes.append(
                        f"{remote['provider']} ({remote['mode']}): pushed {len(report.pushed)}, "
                        f"pulled {len(report.pulled)}, {plural(len(report.conflicts), 'conflict')}"
                        + (f", {len(report.failed)} failed" if report.failed else "")
                    )
                    self.app.call_from_thread(self.post_message, self.Synced(report))
        finally:
            self.app.call_from_thread(self._done, "; ".join(notes))

    def _done(self, text: str) -> None:
        self.busy = False
        self._message(text)
        self.refresh_status()

    # ------------------------------------------------------------------ conflicts

    def action_accept_mine(self) -> None:
        """Keep my side of the selected conflict."""
        self._resolve("mine")

    def action_accept_theirs(self) -> None:
        """Take the other side of the selected conflict."""
        self._resolve("theirs")

    def action_dismiss_conflict(self) -> None:
        """Keep what the merge chose and drop the conflict from the list."""
        conflict = self.selected_conflict()
        if conflict is None:
            self._message("No conflict selected.")
            return
        self._resolve_worker(conflict["id"], "dismiss", None)

    def action_edit_merged(self) -> None:
        """Write a merged value for the selected conflict (typed, masked)."""
        conflict = self.selected_conflict()
        if conflict is None:
            self._message("No conflict selected.")
            return
        hint = f"The merged {conflict['field']} of {conflict['name']}"
        if conflict["field"] == "value" and conflict.get("kind") == "both_changed":
            hint += " (a dict value as JSON)"

        def done(value: str | None) -> None:
            if value:
                self._resolve_worker(conflict["id"], "merged", value)

        secret = conflict["field"].startswith("value")
        self.app.push_screen(PromptScreen("Edit merged value", hint, password=secret), done)

    def _resolve(self, choice: str) -> None:
        conflict = self.selected_conflict()
        if conflict is None:
            self._message("No conflict selected.")
            return
        self._resolve_worker(conflict["id"], choice, None)

    @work(thread=True, exclusive=True, group="sync-resolve", exit_on_error=False)
    def _resolve_worker(self, conflict_id: str, choice: str, text: str | None) -> None:
        from core.service import sync

        if choice == "dismiss":
            item = sync.dismiss_conflict(self.manager.vault, conflict_id)
            note = f"{item['name']}: kept the merge's choice"
        else:
            value: Any = None
            if text is not None:
                value = text
                stripped = text.strip()
                if stripped.startswith("{"):
                    try:
                        value = json.loads(stripped)
                    except ValueError:
                        value = text
            item = sync.resolve_conflict(self.manager, conflict_id, choice, value)
            note = f"{item['name']}: kept {choice}"
        self.app.call_from_thread(self._done, note)

    def action_reveal(self) -> None:
        """Show or hide both sides' values."""
        for wid in ("#mine", "#theirs"):
            widget = self.query_one(wid, MaskedValue)
            widget.revealed = not widget.revealed

    # ------------------------------------------------------------------ copies

    def action_merge_copies(self) -> None:
        """Merge the conflict copies a file-sync tool left beside the vault."""
        if not self._copies:
            self._message("No conflict copies beside the vault.")
            return
        from vaultui.screens.dialogs import ConfirmScreen

        names = ", ".join(c.rsplit("/", 1)[-1] for c in self._copies)

        def answer(yes: bool | None) -> None:
            if yes:
                self._merge_worker(list(self._copies))

        self.app.push_screen(
            ConfirmScreen(
                "Merge conflict copies",
                f"Merge {names} into this vault? Each copy is only read; remove it afterwards.",
                "Merge",
            ),
            answer,
        )

    @work(thread=True, exclusive=True, group="sync-run", exit_on_error=False)
    def _merge_worker(self, copies: list[str]) -> None:
        from core.service.sync import merge

        notes = []
        for path in copies:
            report = merge(self.manager, path)
            notes.append(
                f"{path.rsplit('/', 1)[-1]}: {report.changed} changed, "
                f"{plural(len(report.conflicts), 'conflict')}"
            )
        self.app.call_from_thread(self._done, "; ".join(notes))

    # ------------------------------------------------------------------ background

    def scheduler(self) -> Any:
        """The app's background sync scheduler (made on first use)."""
        from core.service.sync import SyncScheduler

        sched = getattr(self.app, SCHEDULER_ATTR, None)
        if sched is None:
            sched = SyncScheduler(
                self.manager.vault,
                self.manager.settings,
                audit=self.manager.audit_log,
                provider_factory=self.provider_factory,
            )
            setattr(self.app, SCHEDULER_ATTR, sched)
        return sched

    def _ensure_scheduler(self) -> None:
        sched = self.scheduler()
        if sched.interval > 0 and not sched.is_running:
            sched.start()

    def action_interval(self) -> None:
        """Set the background sync interval (seconds; 0 turns it off)."""

        def done(value: str | None) -> None:
            if value is None:
                return
            try:
                seconds = int(value.strip() or "0")
            except ValueError:
                self._message(f"Not a number of seconds: {value!r}")
                return
            self._set_interval(seconds)

        current = str(self.scheduler().interval)
        self.app.push_screen(
            PromptScreen("Background sync", "Seconds between syncs (0: off)", value=current), done
        )

    @work(thread=True, exclusive=True, group="sync-config", exit_on_error=False)
    def _set_interval(self, seconds: int) -> None:
        from core.service.sync import load_config, save_config

        config = load_config(self.manager.vault)
        config.interval = seconds
        save_config(self.manager.vault, config)
        sched = self.scheduler()
        sched.set_interval(seconds)
        if seconds > 0:
            sched.start()
        self.app.call_from_thread(self._done, f"Background sync: {_interval_text(seconds)}")

    def action_back(self) -> None:
        """Back."""
        self.app.pop_screen()
