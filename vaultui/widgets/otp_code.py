"""The current one-time password of a secret with a countdown, for the detail screen.

The code is asked of the ``otp`` operation (audited as ``otp``; the seed stays in the
core) when shown and again each time the period runs out; in between a one-second
timer only counts down. Hidden, it forgets the code and stops asking.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.timer import Timer
from textual.widgets import Static


class OtpCode(Static):
    """``123 456  (17 s)``: a TOTP code and the seconds it stays valid."""

    DEFAULT_CSS = """
    OtpCode { height: auto; padding: 0 0 1 0; }
    """

    def __init__(self, manager: Any, name: str, **kwargs: Any) -> None:
        super().__init__("", markup=False, **kwargs)
        self.manager = manager
        self.secret_name = name
        self.code: str | None = None
        self.remaining = 0
        self._timer: Timer | None = None

    @property
    def showing(self) -> bool:
        """True while a code is shown (and refreshed)."""
        return self._timer is not None

    def on_mount(self) -> None:
        self.display = False

    def show(self) -> None:
        """Read the current code and start the countdown."""
        self.display = True
        if self._timer is None:
            self._timer = self.set_interval(1.0, self._tick)
        self.update("One-time password: reading…")
        self._fetch()

    def hide(self) -> None:
        """Forget the code and stop refreshing it."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.code = None
        self.update("")
        self.display = False

    @work(thread=True, exclusive=True, group="otp", exit_on_error=False)
    def _fetch(self) -> None:
        from core.errors import VaultError
        from core.service.registry import dispatch

        try:
            result = dispatch(self.manager, "otp", {"name": self.secret_name})
        except VaultError as exc:
            self.app.call_from_thread(self._failed, exc.message)
            return
        self.app.call_from_thread(self._got, result["code"], int(result["remaining"]))

    def _got(self, code: str, remaining: int) -> None:
        if self._timer is None:
            return  # hidden meanwhile
        self.code, self.remaining = code, remaining
        self._render_code()

    def _failed(self, message: str) -> None:
        self.hide()
        self.display = True
        self.update(f"No one-time password: {message}")

    def _tick(self) -> None:
        if self.code is None:
            return
        self.remaining -= 1
        if self.remaining <= 0:
            self.code = None
            self.update("One-time password: next code…")
            self._fetch()
            return
        self._render_code()

    def _render_code(self) -> None:
        code = self.code or ""
        half = len(code) // 2
        self.update(f"One-time password: {code[:half]} {code[half:]}  ({self.remaining} s)")
