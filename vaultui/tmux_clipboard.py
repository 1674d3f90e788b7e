"""tmux's side of clearing a copied secret (no Textual import: the detached process
that clears after ``vaultui --batch get --clip`` uses it too).

tmux ignores an empty OSC 52, and with ``set-clipboard on`` it keeps every copied text
as a paste buffer, so a clear under tmux sends a harmless non-empty text and deletes
every paste buffer that holds the copied value. The value reaches ``tmux show-buffer``
through a pipe only; it never goes into argv or an environment.
"""

from __future__ import annotations

import os
import subprocess

HARMLESS = " "
"""What the clipboard holds after a clear under tmux (tmux ignores an empty copy)."""
TMUX_TIMEOUT = 2.0


def in_tmux() -> bool:
    """True when the app runs inside tmux."""
    return bool(os.environ.get("TMUX"))


def _tmux(*args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(
            ["tmux", *args], capture_output=True, timeout=TMUX_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None


def forget_tmux_buffers(value: str) -> int:
    """Delete every tmux paste buffer holding exactly ``value``; return how many."""
    listed = _tmux("list-buffers", "-F", "#{buffer_size} #{buffer_name}")
    if listed is None or listed.returncode != 0:
        return 0
    wanted = value.encode("utf-8")
    gone = 0
    for entry in listed.stdout.decode("utf-8", "replace").splitlines():
        size, _, name = entry.partition(" ")
        if size != str(len(wanted)) or not name:
            continue  # only buffers of the value's size need a look
        shown = _tmux("show-buffer", "-b", name)
        if shown is not None and shown.returncode == 0 and shown.stdout == wanted:
            deleted = _tmux("delete-buffer", "-b", name)
            gone += int(deleted is not None and deleted.returncode == 0)
    return gone
