"""What the secrets browser does to the secret under the cursor (open, edit, history,
status, copy, delete and undo) and to many at once (import, export). A mixin of
:class:`vaultui.screens.browser.BrowserScreen`: the work runs in thread workers and
reports back on the screen's thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual import work

from core.service import secrets
from core.text import plural
from vaultui.screens.dialogs import ConfirmScreen, ProgressScreen

if TYPE_CHECKING:
    from textual.screen import Screen

    from core.secrets_manager import SecretsManager
    from vaultui.app import VaultApp
    from vaultui.index import SecretIndex
    from vaultui.widgets.secrets_table import SecretsTable

    _Host = Screen[None]  # the browser screen this is mixed into
else:
    _Host = object


class SecretActions(_Host):
    """The secret actions of the browser (bound to keys in its ``BINDINGS``)."""

    # set by BrowserScreen.__init__ (annotations only: no class attributes)
    manager: SecretsManager
    index: SecretIndex
    undo_stack: list[str]
    pending_focus: str | None
    _query_raw: str
    _rows: Sequence[str]

    if TYPE_CHECKING:  # provided by BrowserScreen

        @property
        def vault_app(self) -> VaultApp: ...

        @property
        def table(self) -> SecretsTable: ...

        def refresh_changes(self) -> None: ...

        def _complete_filter(self, value: str) -> None: ...

    def _current(self) -> str | None:
        name = self.table.current
        if name is None:
            self.notify("No secret selected.", severity="warning", timeout=2)
        return name

    def action_new_secret(self) -> None:
        """Create a new secret."""
        from vaultui.screens.editor import EditorScreen

        self.app.push_screen(EditorScreen(self.manager, None))

    def action_edit(self) -> None:
        """Edit the highlighted secret."""
        from vaultui.screens.editor import EditorScreen

        if (name := self._current()) is not None:
            self.app.push_screen(EditorScreen(self.manager, name))

    def action_history(self) -> None:
        """Show the highlighted secret's history."""
        from vaultui.screens.history import HistoryScreen

        if (name := self._current()) is not None:
            self.app.push_screen(HistoryScreen(self.manager, name))

    def action_status(self) -> None:
        """Show the vault's status."""
        from vaultui.screens.status import StatusScreen

        self.app.push_screen(StatusScreen(self.manager))

    def action_copy(self) -> None:
        """Copy the highlighted secret's value."""
        if (name := self._current()) is not None:
            self._copy(name)

    @work(thread=True, group="secret-io", exit_on_error=False)
    def _copy(self, name: str) -> None:
        found = secrets.read(self.manager, name, use="copy")
        if found is None:
            self.app.call_from_thread(self.notify, f"{name} no longer exists.", severity="warning")
            return
        self.app.call_from_thread(self.vault_app.copy_secret, name, found.value)

    def action_delete(self) -> None:
        """Delete the highlighted secret after confirmation."""
        name = self._current()
        if name is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(name)

        self.app.push_screen(
            ConfirmScreen(
                "Delete secret",
                f"Delete {name}? It can be restored with u (undo) until purged.",
                "Delete",
                danger=True,
            ),
            answered,
        )

    @work(thread=True, group="secret-io", exit_on_error=False)
    def _delete(self, name: str) -> None:
        if self.manager.delete_secret(name):
            self.app.call_from_thread(self._deleted, name)
        else:
            self.app.call_from_thread(self.notify, f"{name} was already gone.", severity="warning")

    def _deleted(self, name: str) -> None:
        self.undo_stack.append(name)
        self.notify(f"Deleted {name}. Press u to undo.", timeout=5)
        self.refresh_changes()

    def action_undo(self) -> None:
        """Bring back the most recently deleted secret."""
        if not self.undo_stack:
            self.notify("Nothing to undo.", timeout=2)
            return
        self._undelete(self.undo_stack.pop())

    @work(thread=True, group="secret-io", exit_on_error=False)
    def _undelete(self, name: str) -> None:
        if self.manager.undelete_secret(name):
            self.app.call_from_thread(self._restored, name)
        else:
            self.app.call_from_thread(self.notify, f"Cannot restore {name}.", severity="error")

    def _restored(self, name: str) -> None:
        self.notify(f"Restored {name}.", timeout=3)
        self.refresh_changes()

    def action_import_file(self) -> None:
        """Import a file (in a worker, with a progress bar)."""
        from vaultui.screens.transfer import ImportRequest, ImportScreen

        def chosen(request: ImportRequest | None) -> None:
            if request is not None:
                progress = ProgressScreen(f"Importing {request.path.name}…")
                self.app.push_screen(progress)
                self._import(request, progress)

        self.app.push_screen(ImportScreen(), chosen)

    @work(thread=True, exclusive=True, group="transfer", exit_on_error=False)
    def _import(self, request: Any, progress: ProgressScreen) -> None:
        from core.importexport import parse_file
        from core.service.ops import import_entries

        def report(done: int, total: int) -> None:
            self.app.call_from_thread(
                progress.update_progress, done, total, f"{done:,} of {total:,}"
            )

        try:
            entries = parse_file(
                request.path, request.fmt, prefix=request.prefix, password=request.password
            )
            self.app.call_from_thread(
                progress.update_progress,
                0,
                max(len(entries), 1),
                f"{plural(len(entries), 'entry', 'entries')} read",
            )
            result = import_entries(
                self.manager, entries, on_conflict=request.on_conflict, progress=report
            )
        finally:
            self.app.call_from_thread(progress.dismiss)
        counts = ", ".join(
            f"{len(result[k])} {k}" for k in ("created", "updated", "unchanged", "skipped")
        )
        self.app.call_from_thread(self._transferred, f"Imported {request.path.name}: {counts}.")

    def action_export_file(self) -> None:
        """Export the secrets shown (or all) to a file (in a worker, with a progress bar)."""
        from pathlib import Path

        from vaultui.screens.transfer import ExportRequest, ExportScreen

        self._complete_filter(self._query_raw)  # "the secrets shown" means all matches

        def chosen(request: ExportRequest | None) -> None:
            if request is not None:
                progress = ProgressScreen(f"Exporting to {request.path.name}…")
                self.app.push_screen(progress)
                names = list(self._rows) if request.only_shown else None
                self._export(request, names, progress)

        default = Path.cwd() / "vaultui-export.json"
        self.app.push_screen(ExportScreen(len(self._rows), len(self.index), default), chosen)

    @work(thread=True, exclusive=True, group="transfer", exit_on_error=False)
    def _export(self, request: Any, names: list[str] | None, progress: ProgressScreen) -> None:
        from core.importexport import render
        from core.private_file import write_private
        from core.service.ops import export

        def report(done: int, total: int) -> None:
            self.app.call_from_thread(
                progress.update_progress, done, total, f"{done:,} of {total:,}"
            )

        try:
            entries = export(self.manager, names=names or None, progress=report)
            text = render(entries, request.fmt).encode("utf-8")
            write_private(request.path, text, replace=request.overwrite)
        finally:
            self.app.call_from_thread(progress.dismiss)
        self.app.call_from_thread(
            self._transferred, f"Exported {plural(len(entries), 'secret')} to {request.path}."
        )

    def _transferred(self, message: str) -> None:
        self.notify(message, timeout=5)
        self.refresh_changes()

    def show_secret(self, name: str) -> None:
        """Move the cursor to ``name`` once the next refresh has it (after creating it)."""
        self.pending_focus = name
        self.refresh_changes()
