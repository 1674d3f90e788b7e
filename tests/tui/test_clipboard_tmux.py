"""A copied secret leaves tmux's clipboard (its paste buffers) on lock, quit, SIGTERM and
a closed terminal (SIGHUP), in a real tmux with ``set-clipboard on``.

tmux ignores an empty OSC 52, so before this an app under tmux left the value in a
paste buffer for good; ``tmux show-buffer`` read it back.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import clean_env
from tests.tui.test_e2e_tmux import ROOT, Tmux

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

NAME = "tmux/api_token"
VALUE = "tmux-clip-value-93f1"


def buffers(tmux: Tmux) -> list[str]:
    names = tmux.tmux("list-buffers", "-F", "#{buffer_name}").split()
    out = []
    for name in names:
        shown = subprocess.run(
            ["tmux", "-L", tmux.socket, "show-buffer", "-b", name], capture_output=True
        )
        out.append(shown.stdout.decode("utf-8", "replace"))
    return out


def exited(pid: int) -> bool:
    """True once ``pid`` ended (gone, or a zombie tmux has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def wait_until(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def home_with_secret(tmp_path: Path, **settings: str) -> dict[str, str]:
    """A vault home holding NAME = VALUE; returns the environment pointing at it."""
    home = tmp_path / "home"
    env = clean_env(home, **settings)
    made = subprocess.run(
        [sys.executable, "-m", "vaultui", "--batch", "set", NAME],
        input=VALUE.encode(),
        env=env,
        cwd=ROOT,
        capture_output=True,
    )
    assert made.returncode == 0, made.stderr
    return env


def clipboard_tmux(name: str, env: dict[str, str]) -> Tmux:
    """A tmux server with ``set-clipboard on``; its first window keeps the server (and
    its paste buffers) alive when a vaultui window closes."""
    tmux = Tmux(name)
    tmux.start("sleep 120", env)
    tmux.tmux("set-option", "-g", "set-clipboard", "on")
    return tmux


def open_window(tmux: Tmux, name: str, env: dict[str, str], args: str) -> None:
    """Run ``python -m vaultui ARGS`` in a new window ``name`` with the home's settings."""
    command = (
        f"cd {shlex.quote(str(ROOT))} && exec env TERM=xterm-256color PATH=/usr/bin:/bin "
        f"{shlex.quote(sys.executable)} -m vaultui {args}"
    )
    env_args = [a for k, v in env.items() if k.startswith("VAULTUI_") for a in ("-e", f"{k}={v}")]
    tmux.tmux("new-window", "-d", "-n", name, *env_args, command)


@pytest.mark.parametrize("how", ["lock", "quit", "sigterm", "sighup"])
def test_a_copied_value_leaves_the_tmux_buffers(tmp_path: Path, how: str) -> None:
    env = home_with_secret(tmp_path, VAULTUI_IDLE_LOCK="0", VAULTUI_CLIPBOARD_CLEAR="600")
    tmux = clipboard_tmux(f"clip-{how}", env)
    try:
        open_window(tmux, "app", env, "")
        target = ":app"

        def screen() -> str:
            return tmux.tmux("capture-pane", "-p", "-t", target)

        assert wait_until(lambda: NAME in screen(), 20), screen()
        tmux.tmux("send-keys", "-t", target, "c")
        assert wait_until(lambda: VALUE in buffers(tmux)), buffers(tmux)
        pid = int(tmux.tmux("display-message", "-p", "-t", target, "#{pane_pid}").strip())
        if how == "lock":
            tmux.tmux("send-keys", "-t", target, "C-l")
        elif how == "quit":
            tmux.tmux("send-keys", "-t", target, "q")
        elif how == "sigterm":
            subprocess.run(["kill", "-TERM", str(pid)], check=True)
        else:  # the terminal goes away: tmux sends SIGHUP to the pane's process
            tmux.tmux("kill-window", "-t", target)
        assert wait_until(lambda: VALUE not in buffers(tmux)), buffers(tmux)
        if how != "lock":
            assert wait_until(lambda: exited(pid))
    finally:
        tmux.kill()


def test_get_clip_leaves_the_tmux_buffers_when_it_clears(tmp_path: Path) -> None:
    """`vaultui --batch get --clip` in a tmux pane: its detached clearer deletes the
    paste buffer holding the value (an empty OSC 52 alone would leave it there)."""
    env = home_with_secret(tmp_path, VAULTUI_CLIPBOARD_CLEAR="2")
    tmux = clipboard_tmux("clip-batch", env)
    try:
        open_window(tmux, "clip", env, f"--batch get {NAME} --clip; sleep 60")
        assert wait_until(lambda: VALUE in buffers(tmux)), buffers(tmux)
        assert wait_until(lambda: VALUE not in buffers(tmux), 15), buffers(tmux)
    finally:
        tmux.kill()
