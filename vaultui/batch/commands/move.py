"""``mv OLD NEW`` and ``cp SRC DST``: rename a secret with its history, or copy its
current value and metadata to a new name (operations ``rename`` and ``copy``)."""

from __future__ import annotations

import argparse
from typing import Any

from vaultui.batch import output
from vaultui.batch.context import Context


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``mv`` and ``cp``."""
    p = sub.add_parser(
        "mv",
        parents=[common],
        help="rename a secret (history, rotation, tags and description move with it)",
    )
    p.add_argument("name", metavar="OLD")
    p.add_argument("new_name", metavar="NEW")
    p.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="replace NEW (and erase its history) if it exists",
    )
    p.set_defaults(command_fn=cmd_move, op="rename")

    p = sub.add_parser(
        "cp",
        parents=[common],
        help="copy a secret's current value, description, tags and rotation policy",
    )
    p.add_argument("name", metavar="SRC")
    p.add_argument("new_name", metavar="DST")
    p.add_argument(
        "-f", "--force", action="store_true", help="store it as a new version of DST if it exists"
    )
    p.set_defaults(command_fn=cmd_move, op="copy")


def cmd_move(ctx: Context) -> int:
    """``mv OLD NEW [-f]`` / ``cp SRC DST [-f]``."""
    a = ctx.args
    result = ctx.session().call(a.op, name=a.name, new_name=a.new_name, force=a.force)
    if ctx.json:
        output.emit(result)
        return 0
    record = result["record"]
    if a.op == "rename":
        extra = " (the secret it replaced was erased)" if result["replaced"] else ""
        output.note(f"Renamed {a.name} to {record['name']} (version {record['version']}){extra}")
    else:
        verb = "as a new version of" if result["replaced"] else "to"
        output.note(f"Copied {a.name} {verb} {record['name']} (version {record['version']})")
    return 0
