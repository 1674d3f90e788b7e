"""What an unlock agent leaves behind when its time to live ends.

An expired agent removes its socket and exits, so the next command finds no agent and
no configured key. Without a trace it could only say "no key" (naming
FEDZK_ENCRYPTION_MASTER_KEY and friends), which sends people looking for the wrong
thing. The agent therefore writes a small note (``<socket>.expired``, 0600, no key
material: the vault path, the time to live and when it ended) that
:func:`expired_note` reads; ``unlock`` and ``lock`` remove it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

MAX_NOTE_BYTES = 4096


def note_path(socket_path: Path | str) -> Path:
    """Where the agent at ``socket_path`` leaves its expiry note."""
    path = Path(socket_path)
    return path.with_name(path.name + ".expired")


def write_note(socket_path: Path | str, vault: Path | str, ttl: float) -> None:
    """Record that the agent for ``vault`` expired after ``ttl`` seconds (best effort)."""
    path = note_path(socket_path)
    data = json.dumps({"vault": str(vault), "ttl": float(ttl), "at": time.time()}).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)


def clear_note(socket_path: Path | str) -> None:
    """Forget an expiry note (a new agent starts, or the user locked explicitly)."""
    with contextlib.suppress(OSError):
        note_path(socket_path).unlink()


def expired_note(socket_path: Path | str, vault: Path | str) -> dict[str, Any] | None:
    """The note an expired agent for ``vault`` left at ``socket_path``, or None.

    Anything odd (not ours, too big, not JSON, another vault) reads as no note.
    """
    path = note_path(socket_path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.getuid() or st.st_size > MAX_NOTE_BYTES:
            return None
        raw = os.read(fd, MAX_NOTE_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        note = json.loads(raw)
        same = os.path.realpath(str(note["vault"])) == os.path.realpath(str(vault))
        ttl = float(note["ttl"])
    except (ValueError, KeyError, TypeError):
        return None
    return {"ttl": ttl, "at": note.get("at")} if same else None


def describe_span(seconds: float) -> str:
    """``15m``, ``1h30m``, ``45s``, ``2d``: how ``--ttl`` spells durations."""
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if v]
    return "".join(parts) or "0s"
