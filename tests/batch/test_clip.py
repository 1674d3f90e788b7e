"""``get NAME --clip``: copied through a clipboard tool, cleared later by a detached
process that outlives the command, and only if the clipboard still holds the value.

The clipboard tool is a fake ``xclip`` on PATH (a real process) keeping the clipboard in
a file and logging its argv."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.batch.conftest import run_vaultui
from tests.batch.test_agent import pw_home, unlock  # noqa: F401  (a fixture)
from tests.conftest import clean_env

VALUE = b"clip-canary-9f3b"

FAKE_XCLIP = """#!/bin/sh
echo "argv $*" >> "$FAKE_CLIP.log"
for a in "$@"; do
  if [ "$a" = "-o" ]; then cat "$FAKE_CLIP" 2>/dev/null; exit 0; fi
done
cat > "$FAKE_CLIP.tmp" && mv "$FAKE_CLIP.tmp" "$FAKE_CLIP"
"""


def clip_env(home: Path, tmp_path: Path, seconds: str) -> tuple[dict[str, str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "xclip"
    fake.write_text(FAKE_XCLIP)
    fake.chmod(0o755)
    board = tmp_path / "clipboard"
    env = clean_env(
        home,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        DISPLAY=":42",
        FAKE_CLIP=str(board),
        VAULTUI_CLIPBOARD_CLEAR=seconds,
    )
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("TMUX", None)
    return env, board


def wait_until(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def clearer_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"vaultui.batch.clipboard" in cmd:
                pids.append(int(entry.name))
    return pids


def test_clip_copies_then_clears_after_the_command_exited(home, tmp_path):
    env, board = clip_env(home, tmp_path, "2")
    assert run_vaultui(home, "--batch", "set", "db/password", stdin=VALUE, env=env).code == 0
    before = set(clearer_pids())
    r = run_vaultui(home, "--batch", "get", "db/password", "--clip", env=env)
    assert r.code == 0, r.err
    assert r.out == "" and "clears in 2 s" in r.err
    assert board.read_bytes() == VALUE  # copied, no newline added
    # the clearer runs on after vaultui exited, with the value in neither argv nor env
    new = [p for p in clearer_pids() if p not in before]
    assert new, "no detached clearing process"
    for pid in new:
        proc = Path(f"/proc/{pid}")
        try:
            assert VALUE not in (proc / "cmdline").read_bytes()
            assert VALUE not in (proc / "environ").read_bytes()
            assert os.getsid(pid) == pid  # its own session: the shell's hangup spares it
        except (FileNotFoundError, ProcessLookupError):
            pass  # already done
    assert wait_until(lambda: board.read_bytes() == b"")
    log = Path(f"{board}.log").read_text()
    assert "-o" in log  # it checked before clearing
    assert VALUE.decode() not in log


def test_clip_leaves_a_clipboard_the_user_changed(home, tmp_path):
    env, board = clip_env(home, tmp_path, "2")
    assert run_vaultui(home, "--batch", "set", "db/password", stdin=VALUE, env=env).code == 0
    assert run_vaultui(home, "--batch", "get", "db/password", "-c", env=env).code == 0
    assert board.read_bytes() == VALUE
    board.write_bytes(b"something the user copied since")
    time.sleep(4)
    assert board.read_bytes() == b"something the user copied since"


def test_clip_a_field_and_no_clearing_when_disabled(home, tmp_path):
    env, board = clip_env(home, tmp_path, "0")
    doc = b'{"user": "u", "password": "field-canary"}'
    r = run_vaultui(home, "--batch", "set", "app/db", "--type", "dict", stdin=doc, env=env)
    assert r.code == 0
    before = set(clearer_pids())
    r = run_vaultui(home, "--batch", "get", "app/db", "--field", "password", "--clip", env=env)
    assert r.code == 0 and r.out == "" and "clears" not in r.err
    assert board.read_bytes() == b"field-canary"
    assert set(clearer_pids()) <= before


def test_clip_without_any_clipboard_is_an_error(home, tmp_path):
    env, _ = clip_env(home, tmp_path, "2")
    env.pop("DISPLAY")
    assert run_vaultui(home, "--batch", "set", "x", stdin=VALUE, env=env).code == 0
    r = run_vaultui(home, "--batch", "get", "x", "--clip", env=env)
    assert r.code == 2 and "No clipboard" in r.err and r.out == ""


def test_clip_on_a_terminal_uses_osc52_and_clears_it_later(home, tmp_path):
    import base64
    import pty
    import select
    import subprocess
    import sys

    from tests.batch.conftest import ROOT

    env, _ = clip_env(home, tmp_path, "1")
    env.pop("DISPLAY")
    assert run_vaultui(home, "--batch", "set", "x", stdin=VALUE, env=env).code == 0
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vaultui", "--batch", "get", "x", "--clip"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=subprocess.PIPE,
        )
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        seen = b""
        deadline = time.monotonic() + 10
        want_clear = b"\x1b]52;c;\x07"
        while want_clear not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                seen += os.read(master, 4096)
    finally:
        os.close(slave)
        os.close(master)
    assert b"\x1b]52;c;" + base64.b64encode(VALUE) + b"\x07" in seen
    assert want_clear in seen  # written by the detached clearer after the command ended


def test_clip_through_the_agent(
    cli,
    pw_home,  # noqa: F811  (the imported fixture)
    monkeypatch,
    tmp_path,
    agents,
):
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    env, board = clip_env(pw_home, tmp_path, "1")
    # a separate process with no key configured: only the agent can read the value
    r = run_vaultui(pw_home, "--batch", "get", "db/password", "--clip", env=env)
    assert r.code == 0, r.err
    assert board.read_bytes() == b"agent-held-value"
    assert wait_until(lambda: board.read_bytes() == b"")
