"""A copied secret leaves the clipboard again: after a delay, on lock, quit, SIGTERM and
SIGHUP, and under tmux too.

The app copies with OSC 52 (Textual's ``copy_to_clipboard``). Clearing by sending an
empty OSC 52 works in most terminals, but tmux ignores an empty one, and with
``set-clipboard on`` it keeps every copied text as a paste buffer. So under tmux
(``$TMUX`` set) the clear sends a harmless non-empty text (a single space) for the outer
terminal, and deletes every tmux paste buffer whose content is the copied value. The
value reaches ``tmux show-buffer`` through a pipe only; it never goes into argv or an
environment.
"""

from __future__ import annotations

import contextlib
from typing import Any

from textual.app import App

from vaultui.tmux_clipboard import HARMLESS, forget_tmux_buffers, in_tmux


class ClipboardGuard:
    """Remembers the one value the app put on the clipboard, and takes it off again.

    ``app`` is the Textual app. The guard writes with Textual's own
    ``App.copy_to_clipboard`` (the app routes every copy through :meth:`copy`).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.copied: str | None = None

    def copy(self, text: str) -> None:
        """Put ``text`` on the clipboard and remember it for :meth:`clear`."""
        App.copy_to_clipboard(self.app, text)
        self.copied = text or None

    def clear(self) -> None:
        """Take the remembered value off the clipboard (if the app's clipboard still
        holds it: a later copy by the user is left alone) and out of tmux's buffers.
        Safe to call any number of times, also while the terminal is gone."""
        value, self.copied = self.copied, None
        if value is None:
            return
        # a headless app (tests, scripts) has no terminal that could have reached tmux
        tmux = in_tmux() and not getattr(self.app, "is_headless", False)
        if self.app.clipboard == value:
            # the terminal may already be gone (SIGHUP): the tmux part must still run
            with contextlib.suppress(Exception):
                App.copy_to_clipboard(self.app, HARMLESS if tmux else "")
        if tmux:
            forget_tmux_buffers(value)
