"""Every private Textual member the app touches, declared in one list, and the probe.

The speed tricks in :mod:`vaultui.fast` read or override members that Textual does not
promise to keep (``Screen._compositor_refresh``, ``Widget._repaint_required``, ...). A
trick asks :func:`usable` before it takes its shortcut; if any member it needs is gone
or has another type on the installed Textual, the answer is False (once, cached per
trick) and the trick takes the public path instead: the app is slower, never broken.

:data:`PRIVATE_MEMBERS` is the one list: a test checks each entry against the installed
Textual, and another scans the app's source for private names of Textual objects that
the list does not declare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CALLABLE = "callable"
ANY = "any"


@dataclass(frozen=True)
class Private:
    """One private member: the trick that needs it, its owner, its name and its kind.

    ``owner`` names the object it is read on (``"App"``, ``"Screen"``, ``"Widget"``,
    ``"Event"``); ``kind`` is a type (or tuple of types) its value must have,
    :data:`CALLABLE`, or :data:`ANY` when only its presence matters.
    """

    trick: str
    owner: str
    name: str
    kind: type | tuple[type, ...] | str


PROMPT_FRAME = "prompt_frame"
QUICK_SCROLLBAR = "quick_scrollbar"
VIRTUAL_HEIGHT = "virtual_height"
KEY_ORDER = "key_order"
MULTILINE_PASTE = "multiline_paste"

PRIVATE_MEMBERS: tuple[Private, ...] = (
    # PromptFrame: compose a frame as soon as a keystroke's updates are in
    Private(PROMPT_FRAME, "Screen", "_compositor_refresh", CALLABLE),
    Private(PROMPT_FRAME, "Screen", "_on_timer_update", CALLABLE),
    Private(PROMPT_FRAME, "Screen", "_on_idle", CALLABLE),
    Private(PROMPT_FRAME, "Screen", "_dirty_widgets", set),
    Private(PROMPT_FRAME, "Screen", "_layout_required", bool),
    Private(PROMPT_FRAME, "Screen", "_scroll_required", bool),
    Private(PROMPT_FRAME, "Screen", "_repaint_required", bool),
    Private(PROMPT_FRAME, "Screen", "_pending_message", ANY),
    Private(PROMPT_FRAME, "Widget", "_repaint_required", bool),
    Private(PROMPT_FRAME, "Widget", "_layout_required", bool),
    Private(PROMPT_FRAME, "App", "_batch_count", int),
    # QuickScrollBar in place of the ScrollBar a ScrollView makes for itself
    Private(QUICK_SCROLLBAR, "Widget", "_vertical_scrollbar", ANY),
    Private(QUICK_SCROLLBAR, "App", "_start_widget", CALLABLE),
    # a new row count without a layout pass of the whole screen
    Private(VIRTUAL_HEIGHT, "Widget", "_scroll_update", CALLABLE),
    # vaultui.key_order (key order in a burst, not speed; it has no public path)
    Private(KEY_ORDER, "Widget", "_parent", ANY),
    Private(KEY_ORDER, "Widget", "_message_queue", ANY),
    Private(KEY_ORDER, "Widget", "_closing", bool),
    Private(KEY_ORDER, "Widget", "_closed", bool),
    Private(KEY_ORDER, "Event", "_stop_propagation", bool),
    # vaultui.widgets.secret_text.ValueInput runs its paste handler before Input's own
    Private(MULTILINE_PASTE, "Input", "_on_paste", CALLABLE),
)
"""Every private Textual member read, called or overridden anywhere in ``vaultui``."""

_verdicts: dict[str, bool] = {}


def missing(trick: str, objects: dict[str, Any]) -> list[str]:
    """The members of ``trick`` that ``objects`` (by owner name) lack or hold mistyped.

    Members whose owner is not in ``objects`` are not checked.
    """
    gone = []
    for member in PRIVATE_MEMBERS:
        if member.trick != trick or member.owner not in objects:
            continue
        obj = objects[member.owner]
        if not hasattr(obj, member.name):
            gone.append(f"{member.owner}.{member.name} (missing)")
            continue
        value = getattr(obj, member.name)
        if member.kind == CALLABLE:
            ok = callable(value)
        elif member.kind == ANY:
            ok = True
        else:
            ok = isinstance(value, member.kind)  # type: ignore[arg-type]  # a type here: the other kinds are handled above
        if not ok:
            gone.append(f"{member.owner}.{member.name} (is {type(value).__name__})")
    return gone


def usable(trick: str, objects: Callable[[], dict[str, Any]]) -> bool:
    """True if ``trick`` may take its shortcut on this Textual (probed on first use).

    ``objects`` gives the live objects to probe (``{"Screen": screen, ...}``); it is
    called only the first time, and the verdict is kept for the process.
    """
    verdict = _verdicts.get(trick)
    if verdict is None:
        verdict = _verdicts[trick] = not missing(trick, objects())
    return verdict


def forget_verdicts() -> None:
    """Probe again on next use (tests that simulate another Textual)."""
    _verdicts.clear()
