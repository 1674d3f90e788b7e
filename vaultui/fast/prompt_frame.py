"""A screen that composes a frame as soon as a keystroke's updates are in.

Textual paints at most one frame per 1/60 s: a widget's refresh reaches the screen, and
the screen's update timer fires at its next slot. A keystroke that lands a few ms after
some other frame (the cursor blinking, the end of the previous search) waits up to
~17 ms for that slot, with the event loop idle; measured on the 100,000-secret browser,
that wait was a third of the slowest keystrokes. :meth:`PromptFrame.frame_now` asks for
the next frame at once instead, and :meth:`PromptFrame.call_after_frame` runs follow-up
work (the rest of a large search) strictly after that frame.

Both read Textual's private screen state (declared in :mod:`vaultui.fast.internals`);
on a Textual where any of it differs, frames keep Textual's own pace and
:meth:`PromptFrame.call_after_frame` is Textual's ``call_after_refresh``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual import events
from textual.screen import Screen, ScreenResultType

from vaultui.fast.internals import PROMPT_FRAME, usable


class PromptFrame(Screen[ScreenResultType]):
    """A :class:`Screen` whose next frame can be asked for at once (:meth:`frame_now`).

    The frame is composed on the first idle moment at which every widget of the screen
    has handed its pending repaint or layout to the screen, so one frame shows all of
    the keystroke (the typed character, the rows, the status line), never half of it.
    Other frames keep Textual's usual pace, and so do all frames on a Textual whose
    internals this cannot use (see the module docstring).
    """

    _frame_wanted = False
    _after_frame: list[Callable[[], Any]] | None = None

    def _fast(self) -> bool:
        first = next(iter(self.children), self)
        return usable(PROMPT_FRAME, lambda: {"Screen": self, "Widget": first, "App": self.app})

    def frame_now(self) -> None:
        """Compose the next frame as soon as the pending updates are in."""
        if self._fast():
            self._frame_wanted = True

    def call_after_frame(self, callback: Callable[..., Any], *args: Any) -> None:
        """Call ``callback(*args)`` once this screen's next frame has been composed.

        Unlike Textual's ``call_after_refresh``, this never runs before that frame: the
        screen can go idle before the widgets' updates reach it, and an after-refresh
        callback then runs at once (a long one delays the frame it was meant to follow).
        Without the internals this needs, it is ``call_after_refresh``.
        """
        if not self._fast():
            self.call_after_refresh(callback, *args)
            return
        if self._after_frame is None:
            self._after_frame = []
        self._after_frame.append(partial(callback, *args))

    def _compositor_refresh(self) -> None:
        super()._compositor_refresh()
        if self._after_frame:
            callbacks, self._after_frame = self._after_frame, None
            for callback in callbacks:
                self.call_later(callback)

    async def _on_idle(self, event: events.Idle) -> None:
        # Textual's own Screen._on_idle runs after this (not prevented): it resumes the
        # update timer, or runs the after-refresh callbacks once nothing is dirty.
        if not self._frame_wanted or self.app._batch_count or not self.is_current:
            return
        if not (
            self._dirty_widgets
            or self._layout_required
            or self._scroll_required
            or self._repaint_required
        ):
            return
        if self._pending_message is not None:
            # Textual peeks at the next message by taking it off the queue, so the
            # queue looks empty while one more (often a widget's update) is still due
            return
        if any(
            w._repaint_required or w._layout_required  # type: ignore[attr-defined]  # Textual private, see fast/internals
            for w in self.walk_children()
        ):
            return  # an update is still on its way to the screen: the next idle
        self._frame_wanted = False
        self._on_timer_update()
