"""``backup create``, ``backup list`` and ``backup verify`` performed by the unlock agent.

When an agent serves the vault, :func:`vaultui.batch.commands.run_handler` calls these
with the command's agent session instead of opening the vault here (the agent never
lends its key, so no passphrase is asked); they print exactly what the in-process
handlers of :mod:`vaultui.batch.commands.backup` print. Restore and recover always run
in the command's own process: they replace the vault file the agent holds open.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vaultui.batch.commands.backup import _print_created, _print_list, _print_verify, _progress


def _op_progress() -> Any:
    """The agent's (done, total) progress shown like :func:`_progress`, or None."""
    report = _progress()
    return None if report is None else (lambda done, total: report("backup", done, total))


def agent_create(args: argparse.Namespace, session: Any) -> int | None:
    """``backup create`` run by the unlock agent (None: ``--everywhere`` runs here)."""
    if getattr(args, "everywhere", False):
        return None
    made = session.call(
        "backup_create",
        _op_progress(),
        name=args.name,
        incremental=bool(args.incremental),
        to_dir=_folder(getattr(args, "to_dir", None)),
    )
    return _print_created(args, made["path"], made["info"])


def agent_list(args: argparse.Namespace, session: Any) -> int:
    """``backup list`` run by the unlock agent."""
    return _print_list(
        args, session.call("backup_list", from_dir=_folder(getattr(args, "from_dir", None)))
    )


def agent_verify(args: argparse.Namespace, session: Any) -> int:
    """``backup verify NAME`` run by the unlock agent."""
    report = session.call(
        "backup_verify",
        _op_progress(),
        name=args.name,
        from_dir=_folder(getattr(args, "from_dir", None)),
    )
    return _print_verify(args, report)


def _folder(folder: str | None) -> str | None:
    """``folder`` as an absolute path: the agent runs in another working directory."""
    return None if folder is None else str(Path(folder).expanduser().absolute())
