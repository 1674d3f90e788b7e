"""``purge NAME`` and ``purge --deleted-before AGE``: erase deleted secrets for good."""

from __future__ import annotations

import argparse
from typing import Any

from core.errors import ValidationError
from core.text import plural
from vaultui.batch import output
from vaultui.batch.context import Context


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``purge`` to the ``--batch`` parser."""
    p = sub.add_parser(
        "purge",
        parents=[common],
        help="erase deleted secrets and their history for good (no undo)",
        description="Erase a deleted secret (NAME), or every secret deleted more than AGE "
        "ago (--deleted-before 30d or 12h), with every version and its history. Final: "
        "undelete cannot bring it back. Only deleted secrets are purged (delete first); "
        "nothing is asked; each purge is audited.",
    )
    p.add_argument("name", nargs="?", help="the deleted secret to erase")
    p.add_argument(
        "--deleted-before",
        metavar="AGE",
        help="erase every secret deleted more than AGE ago: Nd (days) or Nh (hours)",
    )
    p.set_defaults(command_fn=cmd_purge)


def cmd_purge(ctx: Context) -> int:
    """``purge NAME`` / ``purge --deleted-before AGE``."""
    a = ctx.args
    if (a.name is None) == (a.deleted_before is None):
        raise ValidationError("Give either NAME or --deleted-before AGE (e.g. 30d)")
    if a.name is not None:
        result = ctx.session().call("purge", name=a.name)
    else:
        from core.service.purge_ops import parse_age

        parse_age(a.deleted_before)  # a bad age is a usage error before the vault opens
        result = ctx.session().call("purge_deleted", before=a.deleted_before)
    if ctx.json:
        output.emit(result)
    else:
        names = ", ".join(result["purged"][:10]) + (" ..." if result["count"] > 10 else "")
        shown = f": {names}" if names else ""
        output.note(f"Purged {plural(result['count'], 'secret')}{shown}")
    return 0
