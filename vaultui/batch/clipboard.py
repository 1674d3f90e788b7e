"""The clipboard for ``vaultui --batch get --clip``, cleared later by a detached process.

Copying uses every way at hand: the system clipboard through ``wl-copy`` (Wayland),
``xclip`` (X11) or ``pbcopy`` (macOS), and OSC 52 to the terminal when stdout or stderr
is one (which also reaches the local clipboard over SSH). The value goes to those tools
on their stdin, never in argv.

Clearing must outlive the command, so :func:`spawn_clearer` starts
``python -m vaultui.batch.clipboard`` in a new session (no controlling terminal, not
killed with the shell's job) and hands it the value through a pipe; its argv and
environment carry no value. After the delay it empties the system clipboard only if
that still holds our value (read back with ``wl-paste``/``xclip -o``/``pbpaste``), so a
later copy by the user survives; OSC 52 cannot be read back, so the terminal's clipboard
is emptied unconditionally.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time

from vaultui.tmux_clipboard import HARMLESS, forget_tmux_buffers, in_tmux

TOOLS = {
    # name: (copy argv, paste argv, environment variable it needs, or None)
    "wl-copy": (["wl-copy"], ["wl-paste", "--no-newline"], "WAYLAND_DISPLAY"),
    "xclip": (
        ["xclip", "-selection", "clipboard"],
        ["xclip", "-selection", "clipboard", "-o"],
        "DISPLAY",
    ),
    "pbcopy": (["pbcopy"], ["pbpaste"], None),
}
TOOL_TIMEOUT = 5.0


def system_tool() -> str | None:
    """The clipboard tool to use here, or None."""
    for name, (copy_cmd, _, needs) in TOOLS.items():
        if (needs is None or os.environ.get(needs)) and shutil.which(copy_cmd[0]):
            if name == "pbcopy" and sys.platform != "darwin":
                continue
            return name
    return None


def terminal_fd() -> int | None:
    """stdout's or stderr's descriptor when it is a terminal."""
    for fd in (1, 2):
        with contextlib.suppress(OSError, ValueError):
            if os.isatty(fd):
                return fd
    return None


def osc52(text: str) -> bytes:
    """The OSC 52 sequence that sets the clipboard to ``text``.

    Not wrapped for tmux: tmux takes a plain OSC 52 itself (``set-clipboard``), keeps it
    as a paste buffer the clear can find and delete, and passes it on to the outer
    terminal; a passthrough-wrapped one is dropped unless ``allow-passthrough`` is on.
    """
    return b"\033]52;c;" + base64.b64encode(text.encode("utf-8")) + b"\a"


def tool_copy(tool: str, text: str) -> bool:
    """Put ``text`` on the system clipboard with ``tool``; True if it worked."""
    try:
        done = subprocess.run(
            TOOLS[tool][0],
            input=text.encode("utf-8"),
            stdout=subprocess.DEVNULL,  # xclip stays to serve the selection: no held pipes
            stderr=subprocess.DEVNULL,
            timeout=TOOL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def tool_paste(tool: str) -> str | None:
    """What the system clipboard holds, or None if it cannot be read."""
    try:
        done = subprocess.run(
            TOOLS[tool][1], capture_output=True, timeout=TOOL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


def copy(text: str) -> list[str]:
    """Copy ``text`` every way at hand; the names of the ways that worked."""
    used = []
    tool = system_tool()
    if tool is not None and tool_copy(tool, text):
        used.append(tool)
    fd = terminal_fd()
    if fd is not None:
        with contextlib.suppress(OSError):
            os.write(fd, osc52(text))
            used.append("terminal (OSC 52)")
    return used


def spawn_clearer(text: str, seconds: int, used: list[str]) -> None:
    """Start the detached process that clears the clipboard after ``seconds``."""
    fd = terminal_fd()
    tty = None
    if fd is not None and "terminal (OSC 52)" in used:
        with contextlib.suppress(OSError):
            tty = os.ttyname(fd)
    job = {
        "value": text,
        "seconds": seconds,
        "tool": next((u for u in used if u in TOOLS), None),
        "tty": tty,
    }
    # the child imports this module: make sure it finds the same copy of vaultui
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    child = subprocess.Popen(
        [sys.executable, "-m", "vaultui.batch.clipboard"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    assert child.stdin is not None
    with child.stdin:
        child.stdin.write(json.dumps(job).encode("utf-8"))
    # not waited for: it outlives this process and is reaped by init


def clip_result(result: dict, seconds: int) -> str:
    """Copy a ``get`` result's value and arrange its clearing; the note to show.

    Raises ValidationError for binary values and ConfigError when there is no way to
    reach a clipboard (no tool, no terminal).
    """
    from core.errors import ConfigError, ValidationError

    value = result["value"]
    if isinstance(value, bytes | bytearray):
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(
                f"Secret {result['name']!r} holds binary data; it cannot go on the clipboard"
            ) from None
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, indent=2, ensure_ascii=False)
    used = copy(text)
    if not used:
        raise ConfigError(
            "No clipboard here: no terminal, and no wl-copy, xclip or pbcopy to use",
            hint="install wl-clipboard or xclip, or run it in a terminal",
        )
    what = result["name"] + (f" ({result['field']})" if result.get("field") else "")
    if seconds > 0:
        spawn_clearer(text, seconds, used)
        return f"Copied {what} to the clipboard; it clears in {seconds} s."
    return f"Copied {what} to the clipboard."


def clear_later(job: dict) -> None:
    """The detached process's work: wait, then clear what still holds our value."""
    time.sleep(max(0, int(job.get("seconds", 45))))
    value, tool, tty = job.get("value", ""), job.get("tool"), job.get("tty")
    if tool in TOOLS and tool_paste(tool) == value:
        tool_copy(tool, "")
    if in_tmux():  # tmux ignores an empty OSC 52 and keeps the value as a paste buffer
        forget_tmux_buffers(value)
    if tty:
        with contextlib.suppress(OSError):
            fd = os.open(tty, os.O_WRONLY | os.O_NOCTTY)
            try:
                os.write(fd, osc52(HARMLESS if in_tmux() else ""))
            finally:
                os.close(fd)


def main() -> None:
    """Entry point of the clearing process: the job arrives as JSON on stdin."""
    try:
        job = json.loads(sys.stdin.buffer.read(64 * 1024 * 1024))
    except ValueError:
        return
    sys.stdin.close()
    if isinstance(job, dict):
        clear_later(job)


if __name__ == "__main__":
    main()
