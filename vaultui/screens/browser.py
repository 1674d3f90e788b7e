"""The secrets browser: every secret with its metadata, fuzzy filter, sort, tag filter.

Built to stay responsive with 100,000 secrets:

1. names first: ``Vault.names()`` (~0.3 s at 100k) in a thread worker, then the table
   is interactive with placeholder metadata;
2. metadata next: ``Vault.list()`` in another worker, with a progress bar;
3. the table is virtual (:class:`~vaultui.widgets.secrets_table.SecretsTable` renders
   only visible lines) so a new filter result costs the same for any size;
4. filtering is incremental and cached (:class:`~vaultui.index.SecretIndex`); on large
   vaults it runs in a thread worker after a short debounce;
5. refreshes read only ``Vault.changes_since(seq)`` and keep the cursor on its secret.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, ProgressBar, Static

from core.errors import VaultError
from core.text import plural
from vaultui import name_cache
from vaultui.fast.prompt_frame import PromptFrame
from vaultui.fast.typing_gc import TypingCollector
from vaultui.index import SORT_KEYS, Query, SecretIndex
from vaultui.name_cache import current_names
from vaultui.panes import PANES
from vaultui.screens.base import ShowsWorkerErrors
from vaultui.screens.browser_actions import SecretActions
from vaultui.screens.dialogs import TagFilterScreen
from vaultui.session import ensure_ready
from vaultui.widgets.filter_input import FilterInput
from vaultui.widgets.key_footer import KeyFooter
from vaultui.widgets.secrets_table import SecretsTable

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager
    from vaultui.app import VaultApp

# Filtering up to this many candidates runs inline in the event loop: the incremental
# match costs ~0.15 us per candidate (~15-20 ms for 120,000 names on an idle core), less
# than handing the work to a thread and back under load; larger vaults use a worker.
SYNC_FILTER_LIMIT = 120_000
# Searches over more candidates than this first show QUICK_ROWS matches (a screen and
# more, found by scanning until they are found), then complete after that paint.
QUICK_FILTER_FROM = 5_000
QUICK_ROWS = 200
# ... and complete the result in slices of the search (chunks of COMPLETE_CHUNK
# candidates, about COMPLETE_SLICE seconds of CPU per turn of the event loop).
COMPLETE_CHUNK = 16_384
COMPLETE_SLICE = 0.008


def _freeze_gc() -> None:
    """Move the (large, long-lived) index out of the garbage collector's sight.

    With 100,000 records, a full collection walks ~500,000 objects (~1 s of frozen UI at
    a random keystroke); frozen objects are never scanned. A reload (Ctrl+R) unfreezes
    first, so the old index can be reclaimed.
    """
    gc.freeze()


class BrowserScreen(SecretActions, ShowsWorkerErrors, PromptFrame[None]):
    """The main screen: browse, filter and act on secrets."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash",
            "focus_filter",
            "Filter",
            id="browser.filter",
            tooltip="Filter by name (fuzzy); #tag filters by tag",
        ),
        Binding(
            "escape",
            "clear_filter",
            "Clear",
            id="browser.clear",
            tooltip="Clear the filter and go back to the list",
        ),
        Binding(
            "n",
            "new_secret",
            "New",
            id="browser.new",
            tooltip="Create a secret (with a value generator)",
        ),
        Binding("e", "edit", "Edit", id="browser.edit", tooltip="Edit the highlighted secret"),
        Binding(
            "c",
            "copy",
            "Copy",
            id="browser.copy",
            tooltip="Copy the value; the clipboard clears itself",
        ),
        Binding(
            "d", "delete", "Delete", id="browser.delete", tooltip="Delete the secret (undo with u)"
        ),
        Binding("u", "undo", "Undo", id="browser.undo", tooltip="Undo the last delete"),
        Binding(
            "h", "history", "History", id="browser.history", tooltip="Version history and rollback"
        ),
        Binding("t", "tag_filter", "Tags", id="browser.tags", tooltip="Filter by a tag"),
        Binding("s", "sort", "Sort", id="browser.sort", tooltip="Sort by the next column"),
        Binding(
            "S",
            "reverse_sort",
            "Reverse",
            id="browser.reverse",
            tooltip="Reverse the sort order",
        ),
        Binding(
            "i",
            "status",
            "Status",
            id="browser.status",
            tooltip="Vault status: key source, provider, counts",
        ),
        Binding(
            "ctrl+r",
            "reload",
            "Reload",
            id="browser.reload",
            tooltip="Reload every secret from the vault file",
        ),
        Binding(
            "I",
            "import_file",
            "Import",
            id="browser.import",
            tooltip="Import .env, JSON, KeePass KDBX or KeePassXC CSV (with progress)",
        ),
        Binding(
            "X",
            "export_file",
            "Export",
            id="browser.export",
            tooltip="Export the secrets shown (or all) as .env or JSON",
        ),
        Binding(
            "q",
            "app.quit",
            "Quit",
            id="browser.quit",
            tooltip="Quit vaultui (clears a copied value)",
        ),
        *(
            Binding(
                p.key,
                f"app.open_pane('{p.id}')",
                p.title,
                id=f"browser.pane.{p.id}",
                tooltip=p.help,
            )
            for p in PANES
        ),
    ]

    class Refresh(Message):
        """Ask the browser to read what changed in the vault file."""

    def __init__(
        self, manager: SecretsManager, names: tuple[int, list[str], bool] | None = None
    ) -> None:
        super().__init__()
        self.manager = manager
        self._prefetched = names
        self._cache_seq: int | None = None
        self.index = SecretIndex()
        self.seq = 0
        self.loaded = False
        self.refresh_pending = False
        self.tag: str | None = None
        self.undo_stack: list[str] = []
        self.filter_generation = 0
        self.last_filter_ms = 0.0
        self.last_filter_cpu_ms = 0.0
        self._query_raw = ""
        self._filtering = False
        self._filter_again = False
        self._filter_started = 0.0
        self._rows: Sequence[str] = ()
        # showing only the first screen of a large search (the rest comes next frame)
        self._partial = False
        self._partial_keep: str | None = None
        self._typing_gc: TypingCollector | None = None
        self.pending_focus: str | None = None

    @property
    def vault_app(self) -> VaultApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    @property
    def table(self) -> SecretsTable:
        """The secrets table."""
        return self.query_one(SecretsTable)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="filter-bar"):
            yield FilterInput(
                self._filter_value,
                placeholder="/ filter by name (fuzzy) · #tag or #key=value",
                id="filter",
            )
            yield Label("", id="tag-label")
        yield SecretsTable(self.index, id="secrets")
        yield Static("No secrets yet. Press n to create one.", id="empty-hint")
        with Horizontal(id="status-bar"):
            yield Static("Loading…", id="status-text")
            yield ProgressBar(id="load-progress", show_eta=False, show_percentage=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#empty-hint").display = False
        self.query_one("#tag-label").display = False
        self.table.focus()
        if self._prefetched is not None:
            seq, names, from_cache = self._prefetched
            self._prefetched = None
            self._cache_seq = seq if from_cache else None
            self._names_loaded(names, seq)
            # metadata once the first frame is drawn, so it does not delay it
            self.call_after_refresh(self.load_names, names_known=True)
        else:
            self.load_names()

    def on_unmount(self) -> None:
        if self._typing_gc is not None:
            self._typing_gc.release()

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load_names(self, names_known: bool = False) -> None:
        """Names first (fast), then every record's metadata."""
        vault = self.manager.vault
        ensure_ready(self.manager)  # build a deferred facade (off the critical path)
        if not names_known:
            seq, names, from_cache = current_names(vault)
            self._cache_seq = seq if from_cache else None
            self.app.call_from_thread(self._names_loaded, names, seq)
        list_seq = vault.seq
        records = vault.list()
        live = [r.name for r in records]  # sorted, live only
        # the rotation worker's first check then skips its own full listing (~1.5 s);
        # an optimisation only: if the rotation manager cannot be built, the worker
        # reports that itself
        with contextlib.suppress(VaultError):
            self.manager.rotation_manager.prime(records, list_seq)
        self.app.call_from_thread(self._records_loaded, records)
        self.index.warm()
        if self._cache_seq != list_seq:
            # the next start reads one sealed blob instead of decrypting every name
            name_cache.store(vault, list_seq, live)

    def _names_loaded(self, names: list[str], seq: int) -> None:
        self.seq = seq
        self.index.set_names(names)
        self._apply_filter(keep=self.table.current)
        self.vault_app.browser_ready = True
        self.vault_app.ready_at = time.perf_counter()

    def _records_loaded(self, records: list[Any]) -> None:
        self.index.set_records(records)
        del records
        _freeze_gc()
        self.loaded = True
        self.query_one("#load-progress").display = False
        self._apply_filter(keep=self.table.current)
        if self.refresh_pending:
            self.refresh_pending = False
            self.refresh_changes()

    @on(Refresh)
    def _on_refresh(self, event: Refresh) -> None:
        self.refresh_changes()

    def refresh_changes(self) -> None:
        """Re-read only what changed since the last read (or later, while loading)."""
        if not self.loaded:
            self.refresh_pending = True
            return
        self._read_changes(self.seq)

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def _read_changes(self, since: int) -> None:
        vault = self.manager.vault
        seq = vault.seq
        if seq == since:
            return
        changes = vault.changes_since(since)
        purged = [uid for uid, _s in vault.purged_since(since)]
        self.app.call_from_thread(self._changes_read, changes, purged, seq)

    def _changes_read(self, changes: list[Any], purged: list[str], seq: int) -> None:
        self.seq = max(self.seq, seq, *(r.seq for r in changes))
        changed = self.index.apply_changes(changes, purged)
        if changed:
            keep = self.pending_focus if self.pending_focus in changed else self.table.current
            self.pending_focus = None
            self._apply_filter(keep=keep)
            self._warm()
        for screen in self.app.screen_stack:
            handler = getattr(screen, "secrets_changed", None)
            if handler is not None and screen is not self:
                handler(changed)

    def action_reload(self) -> None:
        """Reload everything from the vault file."""
        gc.unfreeze()
        self.loaded = False
        self.query_one("#load-progress").display = True
        self.load_names()

    # ------------------------------------------------------------------ filtering

    def _filter_value(self, value: str) -> None:
        """The filter box's text changed (called synchronously by :class:`FilterInput`)."""
        if value == self._query_raw or not self.is_mounted:
            return
        self._query_raw = value
        if self._typing_gc is None:
            self._typing_gc = TypingCollector(self.app, self.call_after_frame)
        self._typing_gc.typed()
        self.frame_now()  # this keystroke's rows and character without waiting a frame slot
        keep = self._partial_keep if self._partial else self.table.current
        # A large search (a second character over most names): show the first screen of
        # matches at once, then complete the result after that frame is painted.
        query = Query.parse(value, self.tag)
        if not self._filtering and self.index.work_for(query) > QUICK_FILTER_FROM:
            first = self.index.first_matches(query, QUICK_ROWS)
            if first is not None and len(first) >= QUICK_ROWS:
                self._partial, self._partial_keep = True, keep
                self._show_rows(first, keep, time.perf_counter())
                self.call_after_frame(self._complete_filter, value)
                return
        self._partial = False
        # Small work (a small vault, or narrowing an earlier small result) is faster done
        # inline than handed to a thread: a few ms, and no thread hand-off latency.
        if not self._filtering and (
            len(self.index) <= SYNC_FILTER_LIMIT
            or self.index.work_for(Query.parse(value, self.tag)) <= SYNC_FILTER_LIMIT
        ):
            self._apply_filter(keep=keep)
            return
        # large vault: one filter worker at a time; keystrokes typed while it runs are
        # coalesced into one more run with the latest text (no fixed debounce delay)
        self._filter_started = time.perf_counter()
        if self._filtering:
            self._filter_again = True
            return
        self._start_filter()

    def _complete_filter(self, value: str) -> None:
        """Replace the first screen of matches with the whole result, a slice of the
        search per turn of the event loop so keys typed meanwhile are not kept waiting
        (a newer keystroke ends it: that one has its own search)."""
        if not self._partial or value != self._query_raw:
            return
        started = time.perf_counter()
        steps = self.index.filter_steps(Query.parse(value, self.tag), chunk=COMPLETE_CHUNK)
        self._continue_filter(value, steps, started, 0.0)

    def _continue_filter(
        self, value: str, steps: Iterator[list[str] | None], started: float, cpu_ms: float
    ) -> None:
        if not self._partial or value != self._query_raw:
            return
        cpu = time.thread_time()
        for rows in steps:
            if rows is not None:
                self.last_filter_cpu_ms = cpu_ms + (time.thread_time() - cpu) * 1000
                self._partial = False
                self._show_rows(rows, self._partial_keep, started)
                self.frame_now()
                return
            if time.thread_time() - cpu > COMPLETE_SLICE:
                break
        else:  # the index changed underneath: search again from the start
            self._partial = False
            self._apply_filter(keep=self._partial_keep)
            return
        cpu_ms += (time.thread_time() - cpu) * 1000
        self.call_later(self._continue_filter, value, steps, started, cpu_ms)

    def _start_filter(self) -> None:
        self._filtering = True
        self._filter_again = False
        self._filter_worker(Query.parse(self._query_raw, self.tag), self.table.current)

    @work(thread=True, exclusive=False, group="filter", exit_on_error=False)
    def _filter_worker(self, query: Query, keep: str | None) -> None:
        cpu = time.thread_time()
        try:
            rows = self.index.filter(query, lambda: self._filter_again)
            self.last_filter_cpu_ms = (time.thread_time() - cpu) * 1000
        except BaseException:
            self.app.call_from_thread(self._filter_done, None, keep)
            raise
        self.app.call_from_thread(self._filter_done, rows, keep)

    def _filter_done(self, rows: Sequence[str] | None, keep: str | None) -> None:
        self._filtering = False
        self._partial = False
        if self._filter_again or rows is None:
            self._start_filter()
            return
        self._show_rows(rows, keep, self._filter_started)
        self.frame_now()

    def _apply_filter(self, keep: str | None = None) -> None:
        self._partial = False
        started = time.perf_counter()
        cpu = time.thread_time()
        rows = self.index.filter(Query.parse(self._query_raw, self.tag))
        self.last_filter_cpu_ms = (time.thread_time() - cpu) * 1000
        assert rows is not None
        self._show_rows(rows, keep, started)

    def _show_rows(self, rows: Sequence[str], keep: str | None, started: float) -> None:
        self._rows = rows
        self.table.set_rows(rows, keep=keep)
        self.filter_generation += 1
        self.last_filter_ms = (time.perf_counter() - started) * 1000
        empty = len(self.index) == 0
        self.query_one("#empty-hint").display = empty and self.loaded
        self._update_status()

    def _update_status(self) -> None:
        total = len(self.index)
        shown = len(self._rows)
        word = "secret" if total == 1 else "secrets"
        parts = [f"{shown:,} of {total:,} {word}" if shown != total else plural(total, "secret")]
        if self._partial:
            parts = [f"searching {plural(total, 'secret')}…"]
        arrow = "▼" if self.index.reverse else "▲"
        parts.append(f"sorted by {self.index.sort_key} {arrow}")
        if self.tag:
            parts.append(f"tag {self.tag}")
        if not self.loaded:
            parts.append("loading metadata…")
        # one line of fixed height: no layout pass for a new status text
        self.query_one("#status-text", Static).update(" · ".join(parts), layout=False)

    def action_focus_filter(self) -> None:
        """Put the cursor in the filter box."""
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        """Clear the filter (first Escape) or leave the filter box (second)."""
        inp = self.query_one("#filter", Input)
        if inp.value:
            inp.value = ""
        self.table.focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_tag_filter(self) -> None:
        """Choose a tag to filter by (or all)."""
        if not self.loaded:
            self.notify("Tags are still loading…", timeout=2)
            return

        def chosen(tag: str | None) -> None:
            if tag is None:
                return
            self.tag = tag or None
            label = self.query_one("#tag-label", Label)
            label.update(f"#{self.tag}" if self.tag else "")
            label.display = bool(self.tag)
            self._apply_filter(keep=self.table.current)

        self.app.push_screen(TagFilterScreen(self.index.tag_counts(), self.tag), chosen)

    # ------------------------------------------------------------------ sorting

    def action_sort(self) -> None:
        """Sort by the next column."""
        nxt = SORT_KEYS[(SORT_KEYS.index(self.index.sort_key) + 1) % len(SORT_KEYS)]
        self.sort_by(nxt, False)

    def action_reverse_sort(self) -> None:
        """Reverse the sort order."""
        self.sort_by(self.index.sort_key, not self.index.reverse)

    @on(SecretsTable.HeaderClicked)
    def _header_clicked(self, event: SecretsTable.HeaderClicked) -> None:
        reverse = (not self.index.reverse) if event.key == self.index.sort_key else False
        self.sort_by(event.key, reverse)

    def sort_by(self, key: str, reverse: bool) -> None:
        """Sort the rows by column ``key``."""
        if key != "name" and not self.loaded:
            self.notify("Metadata is still loading; sorting by name for now.", timeout=2)
            return
        self.index.set_sort(key, reverse)
        self._apply_filter(keep=self.table.current)
        self._warm()

    @work(thread=True, exclusive=True, group="warm", exit_on_error=False)
    def _warm(self) -> None:
        """Prepare the new order for the next keystroke (SecretIndex.warm: ~0.2 s of
        CPU at 100,000 names, which the first keystroke would otherwise pay)."""
        self.index.warm()

    # ------------------------------------------------------------------ actions on a secret

    @on(SecretsTable.Selected)
    def _open(self, event: SecretsTable.Selected) -> None:
        from vaultui.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(self.manager, event.name))
