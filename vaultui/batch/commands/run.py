"""``run [--env VAR=NAME ...] -- CMD ARGS``: start a command with secrets in its
environment, masking their values in its output (like ``op run``).

Secrets come from ``--env VAR=NAME`` (``NAME#FIELD`` for one field of a dict secret)
and from variables already in the environment whose value is a reference
``vaultui://NAME`` or ``vaultui://NAME#FIELD``. Values travel only through the child's
environment, never its argv, and the child never gets vaultui's own key material
(:mod:`core.childenv`). Unless ``--no-mask``, the child's stdout and stderr pass through
a filter that replaces every value with ``<concealed by vaultui>``
(:mod:`vaultui.batch.masking` has the rule). The exit code is the command's (128+N if a
signal N killed it; 127 if it cannot be found).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from typing import Any

from core.childenv import child_environment, key_material_values
from core.errors import ValidationError
from vaultui.batch.context import Context
from vaultui.batch.masking import MASK, MIN_MASK, Masker, needles_for, pump_masked

__all__ = ["MASK", "MIN_MASK", "Masker", "cmd_run", "env_text", "parse_ref", "run_masked"]

REFERENCE = "vaultui://"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # fullmatch: "$" passes "X\n"


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``run``."""
    p = sub.add_parser(
        "run",
        parents=[common],
        help="run a command with secrets in its environment (values masked in its output)",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="VAR=NAME[#FIELD]",
        help="put secret NAME (or one FIELD of it) in variable VAR (repeatable)",
    )
    p.add_argument("--no-mask", action="store_true", help="do not mask values in the output")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="-- then the command and its arguments")
    p.set_defaults(command_fn=cmd_run)


def parse_ref(text: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME#FIELD`` -> (name, field or None)."""
    name, sep, fld = text.partition("#")
    if not name or (sep and not fld):
        raise ValidationError(f"Bad secret reference {text!r}: use NAME or NAME#FIELD")
    return name, (fld if sep else None)


def env_text(name: str, value: Any) -> str:
    """A value as an environment string (dicts and lists as JSON)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(
                f"Secret {name!r} holds binary data that cannot go in an environment variable"
            ) from None
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = ""
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if "\x00" in text:
        raise ValidationError(f"Secret {name!r} contains a NUL byte and cannot be exported")
    return text


def cmd_run(ctx: Context) -> int:
    """Resolve the references, start the command, pump and mask its output."""
    a = ctx.args
    cmd = list(a.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise ValidationError("No command to run: vaultui --batch run [--env VAR=NAME] -- CMD ARGS")
    wanted: dict[str, tuple[str, str | None]] = {}
    for var, value in os.environ.items():
        if value.startswith(REFERENCE):
            wanted[var] = parse_ref(value[len(REFERENCE) :])
    for item in a.env:
        var, sep, ref = item.partition("=")
        if not sep or not _ENV_NAME.fullmatch(var):
            raise ValidationError(f"Bad --env {item!r}: use VAR=NAME or VAR=NAME#FIELD")
        wanted[var] = parse_ref(ref)
    env = child_environment(os.environ)
    injected: list[Any] = []
    if wanted:
        refs = list(wanted.values())
        values = ctx.session().call("resolve", refs=refs)
        for (var, (name, _f)), value in zip(wanted.items(), values, strict=True):
            env[var] = env_text(name, value)
            injected.append(value)
    else:
        from vaultui.batch.output import note

        note("vaultui: no secrets requested (use --env VAR=NAME or vaultui:// references)")
    ctx.close()  # nothing more to read: do not hold the vault while the command runs
    if a.no_mask:
        return run_masked(cmd, env, [])
    # the master key too: a child can still read it in vaultui's own /proc/PID/environ
    needles, short = needles_for([*injected, *key_material_values(os.environ)])
    if short:
        from vaultui.batch.output import note

        note(
            f"vaultui: {short} value(s) shorter than {MIN_MASK} characters are not masked "
            "in the command's output"
        )
    return run_masked(cmd, env, needles)


def run_masked(cmd: list[str], env: dict[str, str], secrets: list[bytes]) -> int:
    """Run ``cmd`` with ``env``; mask ``secrets`` in its output if any; return its code."""
    pipes = subprocess.PIPE if secrets else None
    try:
        child = subprocess.Popen(cmd, env=env, stdout=pipes, stderr=pipes)
    except FileNotFoundError:
        from vaultui.batch.output import error

        error(f"command not found: {cmd[0]}")
        return 127
    except PermissionError:
        from vaultui.batch.output import error

        error(f"permission denied: {cmd[0]}")
        return 126
    previous = _forward_signals(child)
    try:
        pump = None
        if secrets:
            assert child.stdout is not None and child.stderr is not None
            sources = [(child.stdout, sys.stdout), (child.stderr, sys.stderr)]
            pump = threading.Thread(target=pump_masked, args=(sources, secrets), daemon=True)
            pump.start()
        code = child.wait()
        if pump is not None:
            pump.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code


def _forward_signals(child: subprocess.Popen) -> dict[int, Any]:
    """Pass SIGTERM/SIGHUP on to the child; ignore SIGINT (the terminal sends it to the
    child too, and we exit when it does)."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, forward)
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    return previous
