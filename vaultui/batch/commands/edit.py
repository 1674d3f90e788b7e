"""``edit NAME``: change a secret in ``$VISUAL`` / ``$EDITOR`` (``vi`` if neither is set),
as ``pass edit`` does.

The value is written to a 0600 file in a private 0700 folder, in RAM where the system
has one (:mod:`vaultui.batch.private_tmp`), and the folder is wiped and removed when the
editor is done, fails, is killed, or this process is told to stop. A ``dict`` secret is
edited as pretty JSON and must come back as a valid JSON object; an unchanged value
stores nothing. Saving is a check-and-set on the version read before editing: if the
secret changed meanwhile the edit is refused (exit 7) unless ``--force``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

from core.errors import ConflictError, NotFoundError, ValidationError, VaultError
from vaultui.batch import output
from vaultui.batch.context import Context
from vaultui.batch.fast import print_set
from vaultui.batch.private_tmp import create_private, scratch_dir

DEFAULT_EDITOR = "vi"


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``edit``."""
    p = sub.add_parser(
        "edit",
        parents=[common],
        help="edit a secret in $VISUAL / $EDITOR (a new one if it does not exist)",
        description="Open the secret's value in $VISUAL, $EDITOR or vi (dict secrets as "
        "JSON) and store what you save as a new version. The temporary file lives in a "
        "private folder in RAM where possible and is wiped afterwards.",
    )
    p.add_argument("name")
    p.add_argument(
        "--force", action="store_true", help="save even if the secret changed while editing"
    )
    p.set_defaults(command_fn=cmd_edit)


def editor_command() -> list[str]:
    """The editor to run: ``$VISUAL``, ``$EDITOR`` or ``vi``, split like a shell would."""
    for var in ("VISUAL", "EDITOR"):
        text = os.environ.get(var, "").strip()
        if text:
            try:
                words = shlex.split(text)
            except ValueError:
                raise ValidationError(f"${var} cannot be parsed: {text[:80]!r}") from None
            if words:
                return words
    return [DEFAULT_EDITOR]


def to_text(name: str, value: Any) -> str:
    """The text the editor shows for ``value``."""
    if isinstance(value, dict):
        return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8") + "\n"
        except UnicodeDecodeError:
            raise ValidationError(
                f"Secret {name!r} holds binary data that a text editor would damage",
                hint="replace it with `vaultui --batch set NAME --type bytes --file F`",
            ) from None
    return str(value) + "\n"


def from_text(text: str, kind: str) -> Any:
    """The value the saved ``text`` stands for (a secret of type ``kind``)."""
    if kind == "dict":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            # the position and the parser's complaint, never the text around it
            raise ValidationError(
                f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; "
                "nothing was saved"
            ) from None
        if not isinstance(value, dict):
            raise ValidationError("A dict secret must stay a JSON object; nothing was saved")
        return value
    # the editor's final newline (we wrote one) is not part of the value, as with `set`
    if text.endswith("\n"):
        text = text[:-1]
    return text.encode("utf-8") if kind == "bytes" else text


def cmd_edit(ctx: Context) -> int:
    """Read, edit in the editor, check, and store as a new version."""
    a = ctx.args
    session = ctx.session(create=True)
    try:
        current = session.call("get", name=a.name)
    except NotFoundError:
        current = {"version": 0, "type": "str", "value": ""}
    kind, old = current["type"], current["value"]
    text = to_text(a.name, old)
    with scratch_dir("vaultui-edit-") as folder:
        suffix = ".json" if kind == "dict" else ".txt"
        path = folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", a.name)[-100:] + suffix)
        create_private(path, text.encode("utf-8"))
        run_editor(str(path))
        try:
            saved = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise VaultError("The editor removed the file: nothing was saved") from None
        except UnicodeDecodeError:
            raise ValidationError("The saved file is not UTF-8 text: nothing was saved") from None
    new = from_text(saved, kind)
    if new == old and type(new) is type(old):
        output.note(f"{a.name} unchanged: no new version")
        return 0
    args: dict[str, Any] = {"name": a.name, "value": new}
    if not a.force:
        args["expected_version"] = current["version"]
    try:
        result = session.call("put", **args)
    except ConflictError as exc:
        raise ConflictError(
            exc.message + "; your edit was not saved",
            hint="edit it again, or use --force to overwrite the other change",
        ) from None
    print_set(result, json_mode=ctx.json)
    return 0


def run_editor(path: str) -> None:
    """Run the editor on ``path`` and wait; VaultError if it fails or is killed.

    While it runs, Ctrl-C belongs to the editor (vaultui ignores SIGINT), and SIGTERM or
    SIGHUP sent to vaultui is passed on to the editor and then ends vaultui through its
    cleanup (the scratch folder is still wiped).
    """
    cmd = [*editor_command(), path]
    try:
        child = subprocess.Popen(cmd)
    except FileNotFoundError:
        raise ValidationError(
            f"The editor {cmd[0]!r} was not found", hint="set $VISUAL or $EDITOR"
        ) from None
    except OSError as exc:
        raise VaultError(f"Cannot start the editor {cmd[0]!r}: {exc.strerror}") from None
    with _signals_to(child):
        code = child.wait()
    if code < 0:
        raise VaultError(f"The editor was killed by signal {-code}: nothing was saved")
    if code != 0:
        raise VaultError(f"The editor exited with status {code}: nothing was saved")


class _Stopped(VaultError):
    """vaultui was told to stop while the editor ran."""


@contextlib.contextmanager
def _signals_to(child: subprocess.Popen) -> Iterator[None]:
    def stop(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            child.send_signal(signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
        raise _Stopped(f"Stopped by signal {signum}: nothing was saved")

    saved: dict[signal.Signals, signal._HANDLER] = {}
    for sig, handler in (
        (signal.SIGINT, signal.SIG_IGN),
        (signal.SIGTERM, stop),
        (signal.SIGHUP, stop),
    ):
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            saved[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)
