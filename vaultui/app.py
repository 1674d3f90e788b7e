"""The vaultui Textual app: unlock, browse, edit; lock on idle; live reload.

``run_app(settings)`` is what ``vaultui`` (no arguments) runs; ``create_app`` builds the
app for tests and screenshots. The app is a thin layer over :mod:`core`: every read and
write goes through the :class:`~core.secrets_manager.SecretsManager` facade (audit source
'app'), blocking work runs in thread workers, and errors from ``core`` are shown as a
modal titled by the error class.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer

from core.clock import elapsed_clock
from core.config import Settings
from core.controlchars import escape_controls
from core.errors import VaultError
from core.service.lifecycle import lock
from core.service.types import KeySource
from core.unlock import configured_key_source, describe_key_source, kdf_from_settings, vault_exists
from vaultui.clipboard import ClipboardGuard
from vaultui.key_order import KeyOrder
from vaultui.panes import PANES, build_pane, pane_by_id
from vaultui.screens.dialogs import ErrorScreen
from vaultui.screens.unlock import UnlockScreen
from vaultui.toasts import RecentToasts

IDLE_CHECK_SECONDS = 1.0
"""How often the idle-lock timer looks at the clock."""

RELOAD_DEBOUNCE = 0.15
"""Seconds to gather a burst of file events into one refresh."""

CLEAR_ON_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that end the app after taking a copied secret off the clipboard (a closed
terminal sends SIGHUP)."""

SIGHUP_GRACE = 3.0
"""Seconds a hung-up app gets to shut down cleanly before it ends itself."""


def _vault_commands() -> type:
    """The palette's provider, imported only when the palette opens (saves ~100 ms)."""
    from vaultui.palette import VaultCommands

    return VaultCommands


class VaultFileChanged(Message):
    """The vault file changed on disk (posted from the watcher's thread)."""


class VaultApp(App[int]):
    """The vaultui app. Build with :func:`create_app`; see docs/app.md for the keys."""

    CSS_PATH = "app.tcss"
    TITLE = "vaultui"
    COMMANDS = App.COMMANDS | {_vault_commands}
    BINDINGS = [
        Binding(
            "ctrl+l",
            "lock",
            "Lock",
            id="app.lock",
            tooltip="Lock the vault now (the key is forgotten)",
        ),
        Binding(
            "question_mark", "help", "Help", id="app.help", tooltip="Keys and help for this screen"
        ),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        demo: bool = False,
        key_source: KeySource | None = None,
        panes: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.pane_ids = tuple(p.id for p in PANES) if panes is None else tuple(panes)
        self.settings = settings
        self.demo = demo
        self.explicit_key_source = key_source
        self.manager: Any = None
        self.watcher: Any = None
        self.browser_ready = False
        self.started_at = time.perf_counter()
        self.ready_at: float | None = None
        self.last_activity = elapsed_clock()
        self._idle_timer: Timer | None = None
        self._reload_timer: Timer | None = None
        self._clipboard_timer: Timer | None = None
        self.clipboard_guard = ClipboardGuard(self)
        self._signals: list[int] = []
        self.locks = 0
        self._key_order = KeyOrder(self, super().on_event)
        self._toasts = RecentToasts()
        if demo:
            self.sub_title = "demo vault (thrown away on exit)"

    # ------------------------------------------------------------------ start

    def on_mount(self) -> None:
        self._catch_signals()
        self.push_screen(self._unlock_screen(after_lock=False))

    def _catch_signals(self) -> None:
        """On SIGTERM/SIGHUP: clear the clipboard, then quit (the app's own loop, so
        the handler runs between events, not inside one)."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in CLEAR_ON_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, sig)
                self._signals.append(sig)

    def _on_signal(self, signum: int) -> None:
        self.clear_clipboard()
        code = 128 + signum
        self.exit(code)
        if signum == signal.SIGHUP:
            # the terminal is gone and restoring it can block for good; the clipboard
            # is clear and every write is committed, so end regardless after a moment
            stop = threading.Timer(SIGHUP_GRACE, os._exit, (code,))
            stop.daemon = True
            stop.start()

    def _release_signals(self) -> None:
        with contextlib.suppress(Exception):
            loop = asyncio.get_running_loop()
            for sig in self._signals:
                loop.remove_signal_handler(sig)
        self._signals.clear()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's palette commands but "Screenshot": a screenshot of a revealed value
        would leave the secret in a file in Downloads."""
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Refused: screens may show revealed values (tools that need a picture of the
        demo vault call ``save_screenshot`` directly)."""
        self.notify("Screenshots are off: they could save a revealed secret.", timeout=4)

    def _unlock_screen(self, *, after_lock: bool) -> UnlockScreen:
        try:
            ks = self.explicit_key_source or configured_key_source(self.settings)
        except VaultError as exc:
            self.call_after_refresh(self.show_error, exc)
            ks = None
        if ks is not None:
            label = describe_key_source(ks)
            return UnlockScreen("locked" if after_lock else "auto", ks, label)
        if vault_exists(self.settings):
            return UnlockScreen("unlock")
        return UnlockScreen("create")

    def make_manager(self, key_source: KeySource | None) -> Any:
        """Open (or create) the vault with ``key_source`` (thread-safe; runs the KDF).

        With None and no vault yet, a key file is generated in the home.
        """
        from core.secrets_manager import SecretsManager

        return SecretsManager(
            self.settings,
            key_source=key_source or self.explicit_key_source,
            source="app",
            kdf=kdf_from_settings(self.settings),
        )

    def open_configured(self, key_source: KeySource | None) -> Any:
        """Open the vault with a configured key, deferring the facade (thread-safe).

        Returns a :class:`~vaultui.session.DeferredManager`. A failure is retried through
        the facade so that it is audited like any failed unlock, then raised.
        """
        from core.unlock import open_vault
        from vaultui.session import DeferredManager

        ks = key_source or self.explicit_key_source
        try:
            vault = open_vault(self.settings, ks, kdf=kdf_from_settings(self.settings))
        except VaultError:
            self.make_manager(ks).close()  # raises the same error, audited
            raise
        return DeferredManager(self.settings, vault)

    def unlocked(self, manager: Any, names: tuple[int, list[str], bool] | None = None) -> None:
        """Show the browser for a freshly opened vault; start watching and idle timing.

        ``names`` is ``(seq, names, from_cache)`` when the unlock worker already read them.
        """
        from vaultui.screens.browser import BrowserScreen

        self.manager = manager
        self.browser_ready = False
        self.last_activity = elapsed_clock()
        self.switch_screen(BrowserScreen(manager, names))
        self._start_watching()
        self.call_after_refresh(self._start_background)
        if self.settings.idle_lock_seconds > 0:
            self._idle_timer = self.set_interval(
                min(IDLE_CHECK_SECONDS, self.settings.idle_lock_seconds / 2), self._check_idle
            )

    # ------------------------------------------------------------------ background services

    def _start_background(self) -> None:
        if self.manager is not None:
            self._background_services(self.manager)

    @work(thread=True, group="background", exit_on_error=False)
    def _background_services(self, manager: Any) -> None:
        """After unlock: say which conflict copies were merged, start background sync
        and rotation."""
        from core.service.sync import load_config

        self._report_copies(manager.copies_absorbed)
        if self.demo or manager is not self.manager:
            return  # the demo vault's secrets stay as shipped; or locked meanwhile
        if load_config(manager.vault, self.settings).interval > 0:
            from core.service.sync import SyncScheduler
            from vaultui.screens.sync import SCHEDULER_ATTR

            sched = SyncScheduler(manager.vault, self.settings, audit=manager.audit_log)
            setattr(self, SCHEDULER_ATTR, sched)
            sched.start()
        if self.settings.rotation_interval_seconds > 0:
            from vaultui.screens.rotation import start_app_worker

            self.call_from_thread(start_app_worker, self, manager.rotation_manager)

    def _stop_background(self) -> None:
        from vaultui.screens.sync import SCHEDULER_ATTR

        sched = getattr(self, SCHEDULER_ATTR, None)
        if sched is not None:
            sched.stop()
            setattr(self, SCHEDULER_ATTR, None)

    # ------------------------------------------------------------------ watching

    def _start_watching(self) -> None:
        from vaultui.watch import VaultWatcher

        self._stop_watching()
        self.watcher = VaultWatcher(self.settings.vault_path, self._file_event).start()

    def _stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _file_event(self) -> None:
        # watcher thread: post_message is thread-safe
        self.post_message(VaultFileChanged())

    @on(VaultFileChanged)
    def _vault_file_changed(self) -> None:
        if self._reload_timer is None:
            self._reload_timer = self.set_timer(RELOAD_DEBOUNCE, self._reload_now)

    def _reload_now(self) -> None:
        self._reload_timer = None
        self._absorb_copies()
        self.refresh_browser()

    @work(thread=True, group="copies", exclusive=True, exit_on_error=False)
    def _absorb_copies(self) -> None:
        """Merge conflict copies a file-sync service just left beside the vault."""
        manager = self.manager
        if manager is None:
            return
        done = manager.absorb_conflict_copies()
        if done:
            self._report_copies(done)
            self.call_from_thread(self.refresh_browser)

    def _report_copies(self, done: Any) -> None:
        """Notify (from a worker thread) which conflict copies were merged or refused."""
        for name, _where, changed in done.merged if done else ():
            self.call_from_thread(
                self.notify,
                f"Merged the conflict copy {name} ({changed} changed); moved to merged/",
            )
        for name, why in done.refused if done else ():
            self.call_from_thread(
                self.notify, f"Left the conflict copy {name} alone: {why}", severity="warning"
            )

    def browser(self) -> Any:
        """The browser screen if the vault is open, else None."""
        from vaultui.screens.browser import BrowserScreen

        for screen in self.screen_stack:
            if isinstance(screen, BrowserScreen):
                return screen
        return None

    def refresh_browser(self) -> None:
        """Ask the browser to read what changed in the vault."""
        browser = self.browser()
        if browser is not None:
            browser.post_message(browser.Refresh())

    def secret_saved(self, name: str) -> None:
        """An editor or rollback wrote ``name``: refresh and put the cursor on it."""
        browser = self.browser()
        if browser is not None:
            browser.show_secret(name)

    def secret_deleted(self, name: str) -> None:
        """A secret was deleted from its detail screen: remember it for undo."""
        browser = self.browser()
        if browser is not None:
            browser.undo_stack.append(name)
            browser.refresh_changes()
        self.notify(f"Deleted {name}. Press u in the list to undo.", timeout=5)

    # ------------------------------------------------------------------ clipboard

    def copy_secret(self, name: str, value: Any, *, field: str | None = None) -> None:
        """Copy a value the service read (and audited as the copy) via OSC 52, and clear
        the clipboard later."""
        from vaultui.screens.detail import value_text

        self.copy_to_clipboard(value_text(value))
        seconds = self.settings.clipboard_clear_seconds
        what = f"{name}:{field}" if field else name
        if seconds > 0:
            self.notify(f"Copied {what}. The clipboard clears in {seconds} s.", timeout=3)
        else:
            self.notify(f"Copied {what}.", timeout=3)

    def copy_to_clipboard(self, text: str) -> None:
        """Every copy clears itself later: a secret copied with ``c``, and equally text
        selected on screen (a revealed value) and copied with ctrl+c."""
        self.clipboard_guard.copy(text)
        if self._clipboard_timer is not None:
            self._clipboard_timer.stop()
            self._clipboard_timer = None
        seconds = self.settings.clipboard_clear_seconds
        if seconds > 0 and self.clipboard_guard.copied is not None:
            self._clipboard_timer = self.set_timer(seconds, self.clear_clipboard)

    def clear_clipboard(self) -> None:
        """Take the value we copied off the clipboard (and out of tmux's buffers)."""
        if self._clipboard_timer is not None:
            self._clipboard_timer.stop()
        self._clipboard_timer = None
        self.clipboard_guard.clear()

    # ------------------------------------------------------------------ locking

    async def on_event(self, event: events.Event) -> None:
        if isinstance(
            event, events.Key | events.MouseDown | events.MouseScrollDown | events.MouseScrollUp
        ):
            self.last_activity = elapsed_clock()
        if KeyOrder.wants(event):
            await self._key_order.handle(event)
        else:
            await super().on_event(event)

    async def _check_idle(self) -> None:
        limit = self.settings.idle_lock_seconds
        if self.manager is not None and limit > 0 and elapsed_clock() - self.last_activity >= limit:
            # Not awaited here: this runs inside the idle timer's task, and locking stops
            # that timer, which cancels its task halfway through the screen switch (the
            # app then exited). Run the lock from the app's own message queue instead.
            if self._idle_timer is not None:
                self._idle_timer.pause()
            self.call_later(self._lock_after_idle)

    async def _lock_after_idle(self) -> None:
        if self.manager is not None:
            await self.action_lock()
            self.notify("Locked after inactivity.", timeout=4)

    async def action_lock(self) -> None:
        """Lock now: close the vault (forgetting the key) and show the unlock screen."""
        if self.manager is None:
            return
        if self._idle_timer is not None:
            self._idle_timer.stop()
            self._idle_timer = None
        self._stop_watching()
        self._stop_background()
        self.clear_clipboard()
        manager, self.manager = self.manager, None
        lock(manager)
        self.locks += 1
        self.browser_ready = False
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        await self.switch_screen(self._unlock_screen(after_lock=True))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "lock":
            return self.manager is not None
        if action == "open_pane":
            if self.manager is None:
                return False
            try:
                pane_id = str(parameters[0])
                return pane_id in self.pane_ids and pane_by_id(pane_id).available
            except (KeyError, IndexError):
                return False
        return True

    # ------------------------------------------------------------------ screens

    def action_help(self) -> None:
        """Open help for the current screen."""
        from vaultui.screens.help import HelpScreen

        if type(self.screen).__name__ == "HelpScreen":
            return
        self.push_screen(HelpScreen(self.screen))

    def action_open_pane(self, pane_id: str) -> None:
        """Open a pane (audit, rotation, backups, sync) if it is installed."""
        if self.manager is None:
            return
        pane = pane_by_id(pane_id)
        if not pane.available or pane_id not in self.pane_ids:
            self.notify(f"The {pane.title} pane is not installed.", severity="warning")
            return
        try:
            screen = build_pane(pane, self.manager)
        except VaultError as exc:
            self.show_error(exc)
            return
        self.push_screen(screen)

    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None:
        """Textual's toast, with control characters (a name, a provider's error text, a
        hook's output) shown as visible escapes, never sent to the terminal raw; the same
        toast while it is still showing is not stacked again."""
        message, title = escape_controls(message, keep_lines=True), escape_controls(title)
        timeout = kwargs.get("timeout") or self.NOTIFICATION_TIMEOUT
        severity = str(kwargs.get("severity", "information"))
        if self._toasts.repeat(message, title, severity, timeout):
            return  # the same toast is still showing: one is enough
        super().notify(message, title=title, **kwargs)

    def show_error(self, error: BaseException | str, title: str | None = None) -> None:
        """Show an error modal (title from the core error class).

        The same error twice in a row (two workers failing alike) shows one modal.
        """
        modal = ErrorScreen(error, title)
        top = self.screen
        if isinstance(top, ErrorScreen) and (top.title_text, top.message) == (
            modal.title_text,
            modal.message,
        ):
            return
        self.push_screen(modal)

    def get_default_screen(self) -> Screen:
        """A blank screen under the unlock screen (nothing of the vault)."""
        return Screen(id="blank")

    # ------------------------------------------------------------------ quitting

    async def action_quit(self) -> None:
        """Quit (clearing a value we put on the clipboard)."""
        self.clear_clipboard()
        self.exit(0)

    def cleanup(self) -> None:
        """Clear a copied value, stop watching and background work, close the vault,
        remove a demo home."""
        self.clipboard_guard.clear()
        self._release_signals()
        self._stop_watching()
        self._stop_background()
        if self.manager is not None:
            try:
                self.manager.close()
            finally:
                self.manager = None
        if self.demo:
            from vaultui.demo import remove_demo_home

            remove_demo_home(self.settings)

    def on_unmount(self) -> None:
        self.cleanup()


def create_app(
    settings: Settings,
    *,
    demo: bool = False,
    key_source: KeySource | None = None,
    panes: Sequence[str] | None = None,
) -> VaultApp:
    """Build the app for ``settings`` (or, with ``demo``, for a fresh demo home).

    ``panes`` limits which optional panes (audit, rotation, backups, sync) are offered;
    None offers every installed one (snapshot tests pass ``()`` to stay stable).
    """
    if demo:
        from vaultui.demo import create_demo_home

        # the demo's activity (audit trail, backups, sync state) is there for the panes;
        # an app without them (the snapshot tests) gets the secrets alone
        settings = create_demo_home(settings, activity=panes is None or bool(panes))
    return VaultApp(settings, demo=demo, key_source=key_source, panes=panes)


def run_app(settings: Settings, demo: bool = False) -> int:
    """Run the app in the terminal until the user quits; returns the exit status."""
    app = create_app(settings, demo=demo)
    try:
        result = app.run()
    finally:
        app.cleanup()
    return int(result or 0)
