"""Keys apply in the order they were typed, even when they arrive in one burst.

Textual hands each key from the terminal to the focused widget's queue as soon as the
app reads it, while bindings act elsewhere: a priority binding (Enter on the unlock
screen) runs in the app at once, before the characters queued in the Input have been
applied, so it read a half-typed passphrase; a focus move (Tab) runs when the key has
bubbled back up to the app, after the keys behind it were already queued in the old
field, so ``name`` Tab Tab ``value`` sent at once (a paste, auto-type, tmux send-keys)
all landed in the Name field.

:class:`KeyOrder` makes the app dispatch one key (or paste) at a time: the next one waits
until the previous has been handled by the widget it went to and by every node it
bubbled through. Keys typed by hand, one at a time, are dispatched at once as before.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from textual import events
from textual.message_pump import MessagePump
from textual.timer import Timer

STALL_SECONDS = 1.0
"""A key still being handled after this long no longer holds back the keys behind it
(a handler waiting on something slow must not swallow the keyboard)."""

MAX_WAITS = 100
"""At most this many turns of the app's queue wait for a key's effects to settle."""

WATCH_SECONDS = 0.05
"""How often held keys check that the key before them is still on its way."""

Dispatch = Callable[[events.Event], Awaitable[None]]


class KeyOrder:
    """Serialises the app's key and paste events (see the module docstring).

    ``dispatch`` is the app's own event handling (``App.on_event``); the app calls
    :meth:`handle` for each key or paste it reads from the terminal.
    """

    def __init__(self, app: Any, dispatch: Dispatch) -> None:
        self._app = app
        self._dispatch = dispatch
        self._in_flight: events.Event | None = None
        self._held: deque[events.Event] = deque()
        self._watchdog: Timer | None = None
        self._started = 0.0
        self._at: MessagePump | None = None
        self._waits = 0

    @staticmethod
    def wants(event: events.Event) -> bool:
        """True for the events this class orders: keys and pastes read from the terminal."""
        return isinstance(event, events.Key | events.Paste) and not event.is_forwarded

    async def handle(self, event: events.Event) -> None:
        """Dispatch ``event`` now, or hold it until the keys before it are handled."""
        if self._in_flight is not None and not _alive(self._at):
            self._done(self._in_flight)  # its node closed (a screen popped by that key)
        if self._in_flight is not None or self._held:
            self._held.append(event)
            self._watch()
            return
        await self._send(event)

    async def _send(self, event: events.Event) -> None:
        target = self._app.focused or self._app.screen
        await self._dispatch(event)
        if not event.is_forwarded:
            return  # a priority binding took it: already handled
        self._in_flight = event
        self._started = time.monotonic()
        self._at = target
        if not target.call_later(self._follow, event, target):
            self._done(event)

    def _follow(self, event: events.Event, node: MessagePump) -> None:
        """``node`` has handled ``event``: wait for its parent too if it bubbled there."""
        parent = node._parent
        bubbled = (
            event.bubble
            and not event._stop_propagation
            and parent is not None
            and node.is_parent_active
            and node.is_attached
        )
        if bubbled and parent is not None and parent.call_later(self._follow, event, parent):
            self._at = parent
            return
        self._done(event)

    def _done(self, event: events.Event) -> None:
        if self._in_flight is not event:
            return  # released already (the watchdog gave up on it)
        self._in_flight = None
        self._at = None
        if self._held:
            self._app.call_later(self._next)

    async def _next(self) -> None:
        if self._in_flight is not None or not self._held:
            return
        if self._waits < MAX_WAITS and not self._settled():
            # what the last key set off (a focus move, a screen switch) is still queued:
            # let it run first, so the next key goes where the user expects
            self._waits += 1
            self._app.call_later(self._next)
            return
        self._waits = 0
        await self._send(self._held.popleft())
        if self._in_flight is None and self._held:
            self._app.call_later(self._next)

    def _settled(self) -> bool:
        """True when the app, the screen and the focused widget have nothing queued."""
        app = self._app
        pumps = (app, app.screen, app.focused)
        return all(p is None or p._message_queue.empty() for p in pumps)

    def _watch(self) -> None:
        if self._watchdog is None:
            self._watchdog = self._app.set_interval(WATCH_SECONDS, self._check_stall)

    def _check_stall(self) -> None:
        if self._in_flight is None and not self._held:
            if self._watchdog is not None:
                self._watchdog.stop()
                self._watchdog = None
            return
        if self._in_flight is not None and (
            not _alive(self._at) or time.monotonic() - self._started > STALL_SECONDS
        ):
            self._done(self._in_flight)


def _alive(node: MessagePump | None) -> bool:
    """True while ``node`` will still run the callbacks posted to it."""
    return node is not None and not (node._closing or node._closed)
