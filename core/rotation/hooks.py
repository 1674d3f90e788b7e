"""Apply and verify hooks: user commands that install and test a new secret value.

Contract (also in docs/rotation.md):

- The command is split like a shell would (``shlex.split``) but run WITHOUT a shell,
  so ``$VAR``, pipes, redirections and built-ins such as ``exit`` mean nothing there.
  A command written ``sh:SCRIPT`` runs ``/bin/sh -c SCRIPT`` instead (the shell form),
  with the same scrubbed environment. Values never appear in the hook's argv (a shell
  script that expands ``$VAULTUI_NEW_VALUE`` into a child's argv puts it there itself).
- Environment (``via`` 'env' or 'both'): ``VAULTUI_NEW_VALUE`` and ``VAULTUI_OLD_VALUE``
  (str as is, dict as JSON, bytes as base64); for dict secrets also
  ``VAULTUI_NEW_FIELD_<KEY>`` / ``VAULTUI_OLD_FIELD_<KEY>`` for each scalar field.
  Always: ``VAULTUI_SECRET_NAME``, ``VAULTUI_ROTATION_STEP`` (apply|verify),
  ``VAULTUI_SECRET_TYPE`` (str|bytes|dict), ``VAULTUI_PENDING_VERSION``,
  ``VAULTUI_CURRENT_VERSION``, ``VAULTUI_VALUE_VIA``.
- Standard input (``via`` 'stdin' or 'both'): one JSON object
  ``{"name", "step", "type", "pending_version", "current_version", "new", "old"}``
  (new/old encoded as in the environment, dicts as JSON objects), then EOF.
- Exit status 0 means success. Anything else, or running past ``timeout`` seconds (the
  whole process group is killed), is a failure whose reason carries the exit status and
  the last lines of the combined stdout/stderr, bounded and with every occurrence of the
  new and old values replaced by ``[REDACTED]``.
- The hook inherits the caller's environment minus vaultui's own key material
  (``FEDZK_ENCRYPTION_MASTER_KEY``, ``VAULTUI_PASSPHRASE_FILE``, ``VAULTUI_KEY_FILE``,
  ``VAULTUI_AGENT_SOCKET``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.childenv import KEY_MATERIAL_ENV, key_material_values
from core.errors import ValidationError

DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 3600.0
TAIL_BYTES = 2000
REDACTED = "[REDACTED]"
VIA_CHOICES = ("both", "env", "stdin")
STEPS = ("apply", "verify")
# Never handed to a hook: they would let it open the vault itself.
STRIPPED_ENV = KEY_MATERIAL_ENV
_ENV_PREFIXES = ("VAULTUI_NEW_", "VAULTUI_OLD_")
SHELL_PREFIX = "sh:"
SHELL = "/bin/sh"
# what means something only to a shell: a hook holding one likely wants the shell form
_SHELL_TOKENS = frozenset({"|", "||", "&&", ";", ">", ">>", "<", "&", "exit", "export", "cd"})
HOW_HOOKS_RUN = (
    "hooks run without a shell (the command is split like shlex.split), so $VAR, pipes "
    "and built-ins such as exit need the shell form: write the hook as 'sh:COMMAND'"
)


@dataclass(frozen=True)
class HookConfig:
    """The hooks of one secret: ``apply`` and ``verify`` commands (either may be None),
    a per-hook ``timeout`` in seconds and how values reach them (``via``).
    """

    apply: str | None = None
    verify: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    via: str = "both"

    def __post_init__(self) -> None:
        for step in STEPS:
            command = getattr(self, step)
            if command is not None:
                split_command(command, step)
        if not 0 < float(self.timeout) <= MAX_TIMEOUT:
            raise ValidationError(f"hook timeout must be in (0, {MAX_TIMEOUT:.0f}] seconds")
        if self.via not in VIA_CHOICES:
            raise ValidationError(f"hook 'via' must be one of {', '.join(VIA_CHOICES)}")

    @property
    def configured(self) -> bool:
        """True when at least one hook is set."""
        return bool(self.apply or self.verify)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> HookConfig:
        """Parse the stored ``hooks`` dict (None or {} means no hooks)."""
        if not data:
            return cls()
        return cls(
            apply=data.get("apply") or None,
            verify=data.get("verify") or None,
            timeout=float(data.get("timeout") or DEFAULT_TIMEOUT),
            via=str(data.get("via") or "both"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored form."""
        out: dict[str, Any] = {"timeout": self.timeout, "via": self.via}
        if self.apply:
            out["apply"] = self.apply
        if self.verify:
            out["verify"] = self.verify
        return out


@dataclass(frozen=True)
class HookResult:
    """What one hook run did. ``output_tail`` is bounded and value-free."""

    step: str
    ok: bool
    exit_code: int | None
    timed_out: bool
    duration: float
    output_tail: str = ""
    error: str | None = None

    @property
    def reason(self) -> str:
        """A one-paragraph, value-free explanation of a failure ('' on success)."""
        if self.ok:
            return ""
        if self.error:
            head = f"{self.step} hook could not start: {self.error}"
        elif self.timed_out:
            head = f"{self.step} hook timed out after {self.duration:.1f}s"
        else:
            head = f"{self.step} hook exited with status {self.exit_code}"
        tail = self.output_tail.strip()
        return f"{head}: {tail}" if tail else head


def split_command(command: str | list[str], step: str = "hook") -> list[str]:
    """The argv of a hook command; ValidationError if empty or badly quoted.

    ``sh:SCRIPT`` becomes ``[/bin/sh, -c, SCRIPT, vaultui-STEP-hook]`` (the last item is
    the shell's ``$0``, which names the hook in the shell's own error messages).
    """
    if isinstance(command, list):
        argv = [str(a) for a in command]
    elif command.lstrip().startswith(SHELL_PREFIX):
        script = command.lstrip()[len(SHELL_PREFIX) :].strip()
        if not script:
            raise ValidationError(f"{step} hook command is empty after '{SHELL_PREFIX}'")
        return [SHELL, "-c", script, f"vaultui-{step}-hook"]
    else:
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ValidationError(f"{step} hook command cannot be parsed: {exc}") from None
    if not argv:
        raise ValidationError(f"{step} hook command is empty")
    return argv


def needs_shell(command: str | None) -> bool:
    """True if ``command`` (not in the shell form) holds shell syntax (``$VAR``, a pipe,
    ``;``, a redirection, ``exit`` ...) that it would pass to the program as plain text."""
    if not command or command.lstrip().startswith(SHELL_PREFIX):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return any(w in _SHELL_TOKENS or w.startswith("$") or "$(" in w for w in words)


def encode_for_hook(value: Any) -> Any:
    """How a value travels: str as is, bytes as base64, dict as is (JSON object)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def value_type(value: Any) -> str:
    """'str', 'bytes' or 'dict'."""
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, dict):
        return "dict"
    return "str"


def _env_text(value: Any) -> str:
    encoded = encode_for_hook(value)
    if isinstance(encoded, dict):
        return json.dumps(encoded, separators=(",", ":"), sort_keys=True)
    return "" if encoded is None else str(encoded)


def _field_key(key: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", str(key).upper())


def hook_environment(
    base_env: Mapping[str, str] | None,
    *,
    step: str,
    name: str,
    new_value: Any,
    old_value: Any,
    pending_version: int | None,
    current_version: int | None,
    via: str,
) -> dict[str, str]:
    """The environment a hook runs with (see the module docstring)."""
    env = {
        k: v
        for k, v in (base_env or {}).items()
        if k not in STRIPPED_ENV and not k.startswith(_ENV_PREFIXES)
    }
    env.update(
        VAULTUI_SECRET_NAME=name,
        VAULTUI_ROTATION_STEP=step,
        VAULTUI_SECRET_TYPE=value_type(new_value),
        VAULTUI_PENDING_VERSION=str(pending_version or ""),
        VAULTUI_CURRENT_VERSION=str(current_version or ""),
        VAULTUI_VALUE_VIA=via,
    )
    if via in ("env", "both"):
        for prefix, value in (("NEW", new_value), ("OLD", old_value)):
            text = _env_text(value)
            if "\x00" in text:
                raise ValidationError(
                    f"Secret {name!r} holds a NUL character and cannot be passed in the "
                    "environment",
                    hint="set the hook's via to 'stdin'",
                )
            env[f"VAULTUI_{prefix}_VALUE"] = text
            if isinstance(value, dict):
                for key, field_value in value.items():
                    if isinstance(field_value, (str, int, float, bool)):
                        env[f"VAULTUI_{prefix}_FIELD_{_field_key(key)}"] = str(field_value)
    return env


def secret_needles(*values: Any) -> list[bytes]:
    """Byte strings that must never appear in a hook's reported output: each value in
    every encoding a hook may print (raw, base64, hex, JSON, every string in a dict).
    Strings shorter than 4 characters are not redacted (they would shred the output).
    """
    out: set[bytes] = set()

    def add(text: str | bytes) -> None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        if len(data) >= 4:
            out.add(data)

    def walk(value: Any) -> None:
        if isinstance(value, str):
            add(value)
            add(json.dumps(value)[1:-1])
        elif isinstance(value, bytes):
            add(value)
            add(base64.b64encode(value))
            add(value.hex())
            with contextlib.suppress(UnicodeDecodeError):
                add(value.decode("utf-8"))
        elif isinstance(value, dict):
            add(json.dumps(value, separators=(",", ":"), sort_keys=True))
            add(json.dumps(value))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for value in values:
        walk(value)
    return sorted(out, key=len, reverse=True)


def scrub_tail(window: bytes, needles: Iterable[bytes], *, truncated: bool, limit: int) -> str:
    """The last ``limit`` bytes of ``window`` with every needle replaced by [REDACTED].

    ``window`` must hold at least ``limit + len(longest needle)`` bytes when ``truncated``,
    so a value cut at the window's start is dropped rather than shown in part.
    """
    needles = list(needles)
    longest = max((len(n) for n in needles), default=0)
    mask = bytearray(len(window))
    for needle in needles:
        start = window.find(needle)
        while start != -1:
            mask[start : start + len(needle)] = b"\x01" * len(needle)
            start = window.find(needle, start + 1)
    begin = max(0, len(window) - limit)
    if truncated:
        begin = max(begin, min(longest, len(window)))
    pieces: list[bytes] = []
    i = begin
    while i < len(window):
        if mask[i]:
            while i < len(window) and mask[i]:
                i += 1
            pieces.append(REDACTED.encode())
        else:
            j = i
            while j < len(window) and not mask[j]:
                j += 1
            pieces.append(window[i:j])
            i = j
    text = b"".join(pieces).decode("utf-8", errors="replace")
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return ("…" + text) if begin > 0 and text else text


def run_hook(
    command: str | list[str],
    *,
    step: str,
    name: str,
    new_value: Any,
    old_value: Any,
    pending_version: int | None = None,
    current_version: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    via: str = "both",
    base_env: Mapping[str, str] | None = None,
    tail_bytes: int = TAIL_BYTES,
) -> HookResult:
    """Run one hook and report how it went; never raises for a failing hook.

    The values go only through the environment and/or stdin (``via``). On timeout the
    hook's whole process group is killed. Output is read through a bounded window, so a
    chatty hook cannot exhaust memory.
    """
    argv = split_command(command, step)
    env = hook_environment(
        base_env,
        step=step,
        name=name,
        new_value=new_value,
        old_value=old_value,
        pending_version=pending_version,
        current_version=current_version,
        via=via,
    )
    # the master key too: the hook can still read it from its parent's /proc environ
    needles = secret_needles(new_value, old_value, *key_material_values(base_env))
    longest = max((len(n) for n in needles), default=0)
    window_size = tail_bytes + longest
    payload = b""
    if via in ("stdin", "both"):
        payload = json.dumps(
            {
                "name": name,
                "step": step,
                "type": value_type(new_value),
                "pending_version": pending_version,
                "current_version": current_version,
                "new": encode_for_hook(new_value),
                "old": encode_for_hook(old_value),
            }
        ).encode("utf-8")
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if payload else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        error = f"{exc.strerror or exc} ({argv[0]})"
        if not (isinstance(command, str) and command.lstrip().startswith(SHELL_PREFIX)):
            error = f"{error}; {HOW_HOOKS_RUN}"
        return HookResult(step, False, None, False, 0.0, error=error)

    window = bytearray()
    truncated = False

    def reader() -> None:
        nonlocal truncated
        assert proc.stdout is not None
        try:
            while True:
                chunk = proc.stdout.read1(65536)  # type: ignore[attr-defined]  # a binary pipe is a BufferedReader
                if not chunk:
                    break
                window.extend(chunk)
                if len(window) > window_size:
                    del window[: len(window) - window_size]
                    truncated = True
        except (OSError, ValueError):  # the pipe was closed under us after a timeout
            return

    def writer() -> None:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            proc.stdin.write(payload)
        with contextlib.suppress(BrokenPipeError, OSError):
            proc.stdin.close()

    threads = [threading.Thread(target=reader, daemon=True)]
    if payload:
        threads.append(threading.Thread(target=writer, daemon=True))
    for t in threads:
        t.start()
    timed_out = False
    try:
        exit_code: int | None = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        exit_code = None
    finally:
        for t in threads:
            t.join(timeout=2.0)
        with contextlib.suppress(OSError):
            if proc.stdout:
                proc.stdout.close()
    duration = time.monotonic() - started
    if timed_out:
        duration = max(duration, timeout)
    tail = scrub_tail(bytes(window), needles, truncated=truncated, limit=tail_bytes)
    ok = not timed_out and exit_code == 0
    return HookResult(step, ok, exit_code, timed_out, duration, tail)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
