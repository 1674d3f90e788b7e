"""The Members pane: who opens this team vault with their own key, and (owners only)
adding and removing them.

Each member: name, key kind, fingerprint, when and by whom added. ``a`` adds one from a
pasted public key line; ``x`` (or ``d``) removes the highlighted one after a dialog
listing every secret the removal marks exposed and saying the vault is rekeyed; the
removal runs in a thread worker behind a progress bar. The work is done by
:mod:`core.members`, which writes the audit events (``member_add``, ``member_remove``):
this screen writes none. A vault opened with a member's identity shows the list
read-only. The audit trail does not say which key opened the vault for an event, so
there is no per-member "last activity" to show.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from core.service.members import SLOT_AGE
from core.text import plural
from vaultui.screens.base import ShowsWorkerErrors
from vaultui.screens.member_dialogs import AddMemberScreen, ConfirmRemovalScreen
from vaultui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager

READ_ONLY_NOTE = (
    "You opened this vault with your member identity: this list is read-only. "
    "Only owners (a passphrase or key file holder) add or remove members."
)
_PROGRESS_EVERY = 0.1  # seconds between progress bar updates (each is a thread hop)


class MembersScreen(ShowsWorkerErrors, Screen[None]):
    """The vault's members; ``a`` adds, ``x``/``d`` removes (owners only)."""

    CSS_PATH = "members.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="members.back", tooltip="Back to the secrets"),
        Binding(
            "a",
            "add",
            "Add",
            id="members.add",
            tooltip="Add a member by their public key (ssh-ed25519, ssh-rsa or age1...)",
        ),
        Binding(
            "x,d",
            "remove",
            "Remove",
            id="members.remove",
            tooltip="Remove the highlighted member: rekeys, marks what they could read exposed",
        ),
    ]

    def __init__(self, manager: SecretsManager) -> None:
        super().__init__()
        self.manager = manager
        self.rows: list[dict[str, Any]] = []

    @property
    def read_only(self) -> bool:
        """True when the vault was opened with a member's identity (not an owner's key)."""
        return self.manager.vault.key_source.kind == SLOT_AGE

    def compose(self) -> ComposeResult:
        yield Label("Members: who opens this vault with their own key", classes="screen-title")
        yield Static("", id="members-role", markup=False)
        yield DataTable(id="members-table", cursor_type="row", zebra_stripes=True)
        yield Static("Reading…", id="members-note", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        role = self.query_one("#members-role", Static)
        if self.read_only:
            role.update(READ_ONLY_NOTE)
        else:
            role.display = False
        table = self.query_one(DataTable)
        table.add_columns("Name", "Key", "Fingerprint", "Added (UTC)", "By")
        table.focus()
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Adding and removing are hidden (and refused) for a member."""
        return not (action in ("add", "remove") and self.read_only)

    @work(thread=True, exclusive=True, group="members", exit_on_error=False)
    def load(self) -> None:
        """Read the member slots (public data: no key material is decrypted)."""
        from core.service.members import list_members

        rows = list_members(self.manager)
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[dict[str, Any]]) -> None:
        table = self.query_one(DataTable)
        keep = self._current()
        self.rows = rows
        table.clear()
        for m in rows:
            added = str(m["added_at"]).replace("T", " ")[:19]
            table.add_row(
                m["name"], m["kind"], m["fingerprint"], added, m["added_by"], key=m["name"]
            )
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        if rows:
            note = f"{plural(len(rows), 'member')}."
            if not self.read_only:
                note += " a adds one; x removes the highlighted one (the vault is rekeyed)."
        elif self.read_only:
            note = "No members."
        else:
            note = "No members yet: a adds one by their public key."
        self.query_one("#members-note", Static).update(note)

    def _current(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return str(self.rows[table.cursor_row]["name"])

    def secrets_changed(self, names: set[str]) -> None:
        """Called after a refresh: another process may have added or removed a member."""
        self.load()

    # ------------------------------------------------------------------ add

    def action_add(self) -> None:
        """Ask for a name and a public key, then add the member."""
        if self.read_only:
            return

        def answered(got: tuple[str, str] | None) -> None:
            if got:
                self._add(*got)

        self.app.push_screen(AddMemberScreen(), answered)

    @work(thread=True, group="members-io", exit_on_error=False)
    def _add(self, name: str, public_key: str) -> None:
        from core.service.members import add_member

        member = add_member(self.manager, name, public_key)
        self.app.call_from_thread(self._added, member)

    def _added(self, member: dict[str, Any]) -> None:
        self.notify(
            f"Added {member['name']} ({member['kind']} {member['fingerprint']}). They open "
            "the vault with VAULTUI_IDENTITY=their private key.",
            timeout=6,
        )
        self.load()

    # --------------------------------------------------------------- remove

    def action_remove(self) -> None:
        """List what the removal exposes, ask, then remove in a worker."""
        if self.read_only or (name := self._current()) is None:
            return
        self._ask_removal(name)

    @work(thread=True, group="members-io", exit_on_error=False)
    def _ask_removal(self, name: str) -> None:
        # every live secret is marked: the member held the data key that opens them all
        exposed = sorted(r.name for r in self.manager.vault.list())
        self.app.call_from_thread(self._confirm_removal, name, exposed)

    def _confirm_removal(self, name: str, exposed: list[str]) -> None:
        from vaultui.screens.dialogs import ProgressScreen

        def answered(yes: bool | None) -> None:
            if yes:
                progress = ProgressScreen(f"Removing {name}: re-encrypting under a new data key…")
                self.app.push_screen(progress)
                self._remove(name, progress)

        self.app.push_screen(ConfirmRemovalScreen(name, exposed), answered)

    @work(thread=True, exclusive=True, group="members-remove", exit_on_error=False)
    def _remove(self, name: str, progress: Any) -> None:
        from core.service.members import remove_member

        last = 0.0

        def report(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < _PROGRESS_EVERY and done < total:
                return
            last = now
            self.app.call_from_thread(
                progress.update_progress, done, max(total, 1), f"{done:,} of {total:,} rows"
            )

        try:
            result = remove_member(
                self.manager, name, self.manager.vault.key_source, progress=report
            )
        finally:
            self.app.call_from_thread(progress.dismiss)
        self.app.call_from_thread(self._removed, result)

    def _removed(self, result: dict[str, Any]) -> None:
        text = (
            f"Removed {result['member']}: the vault was rekeyed; "
            f"{plural(len(result['exposed']), 'secret')} marked exposed, queued for rotation."
        )
        if result.get("agent_stopped"):
            text += " The unlock agent was stopped."
        self.notify(text, timeout=8)
        self.app.refresh_browser()  # type: ignore[attr-defined]  # VaultApp's method; self.app is typed as App
        self.load()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        """Enter does nothing destructive: removing asks first and lists what it exposes."""

    def action_back(self) -> None:
        """Back to the secrets."""
        self.app.pop_screen()


__all__ = ["READ_ONLY_NOTE", "MembersScreen"]
