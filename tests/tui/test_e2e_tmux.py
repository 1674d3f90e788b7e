"""End to end in a real terminal: tmux runs ``python -m vaultui`` on a fresh home.

Types a passphrase twice to create the vault, creates two secrets, filters, reveals one,
quits, and reads the screen with ``tmux capture-pane -p`` at each step.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.vault import KeySource, Vault
from tests.conftest import clean_env
from tests.trail import has_event, trail_events

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


class Tmux:
    """One private tmux server (its own socket) running one command in a 120x36 pane."""

    def __init__(self, name: str) -> None:
        self.socket = f"vaultui-e2e-{os.getpid()}-{name}"

    def tmux(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return out.stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        env_args = [
            a for k, v in env.items() if k.startswith("VAULTUI_") for a in ("-e", f"{k}={v}")
        ]
        self.tmux("new-session", "-d", "-x", "120", "-y", "36", *env_args, command)

    def keys(self, *keys: str) -> None:
        """Press keys one by one (a burst of keys in one read counts as a paste)."""
        for key in keys:
            self.tmux("send-keys", key)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-l", text)
        time.sleep(0.15)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
)
def test_create_add_filter_reveal_quit_in_a_real_terminal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = clean_env(home, VAULTUI_IDLE_LOCK="0", TERM="xterm-256color")
    command = (
        f"cd {shlex.quote(str(ROOT))} && env TERM=xterm-256color "
        f"{shlex.quote(sys.executable)} -m vaultui; echo VAULTUI-EXITED-$?; sleep 30"
    )
    tmux = Tmux("main")
    tmux.start(command, env)
    try:
        tmux.wait_for("No vault here yet")
        passphrase = "e2e passphrase long enough"
        tmux.type(passphrase)
        tmux.keys("Enter")
        tmux.type(passphrase)
        tmux.keys("Enter")
        tmux.wait_for("No secrets yet")

        for name, value in (("e2e/api_token", "e2e-visible-value"), ("other/thing", "x-1")):
            tmux.keys("n")
            tmux.wait_for("New secret")
            tmux.type(name)
            tmux.keys("Tab", "Tab")  # name -> type -> value
            tmux.type(value)
            tmux.keys("C-s")
            tmux.wait_for(name)
            screen = tmux.wait_for(" · sorted by")  # "1 secret · …", then "2 secrets · …"
            assert value not in screen  # never shown in the list

        tmux.keys("/")
        tmux.type("apitok")
        screen = tmux.wait_for("1 of 2 secrets")
        # rows are "name  type  description..." (a toast may still name other/thing)
        assert re.search(r"e2e/api_token\s+str", screen)
        assert not re.search(r"other/thing\s+str", screen)
        tmux.keys("Enter", "Enter")  # leave the filter box, open the detail
        screen = tmux.wait_for("Value")
        assert "e2e-visible-value" not in screen  # masked
        tmux.keys("r")
        tmux.wait_for("e2e-visible-value")
        tmux.keys("Escape")
        tmux.wait_for("1 of 2 secrets")
        tmux.keys("q")
        tmux.wait_for("VAULTUI-EXITED-0")
    finally:
        tmux.kill()

    vault = Vault.open(home / "vault.db", KeySource.passphrase(passphrase))
    try:
        assert vault.get("e2e/api_token").value == "e2e-visible-value"
        assert vault.names() == ["e2e/api_token", "other/thing"]
        audit_key = vault.derive_key("audit")
    finally:
        vault.close()
    log = (home / "logs" / "secrets_audit.log").read_text()
    events = trail_events(home / "logs" / "secrets_audit.log", audit_key)
    assert has_event(events, operation="reveal", secret_name="e2e/api_token")
    assert "e2e/api_token" not in log  # names are sealed in the file
    assert "e2e-visible-value" not in log and passphrase not in log
