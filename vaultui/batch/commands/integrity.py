"""``verify``: check the whole vault file (exit 0 when sound, 5 when damaged)."""

from __future__ import annotations

import argparse
from typing import Any

from core.errors import EXIT_INTEGRITY, EXIT_OK, IntegrityError
from vaultui.batch import output
from vaultui.batch.context import Context


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``verify``."""
    p = sub.add_parser(
        "verify",
        parents=[common],
        help="check every row of the vault file against its digest (exit 5 if damaged)",
        description=(
            "Decrypt every row, check every lookup hash, the record-set digest (a "
            "replayed, duplicated, deleted or inserted row) and the file's schema. "
            "--json prints {ok, records, versions, seq, problems}."
        ),
    )
    p.set_defaults(command_fn=cmd_verify)


def cmd_verify(ctx: Context) -> int:
    """Print the result; a damaged vault is a result here (exit 5), not a crash.

    Problems are the core's messages: they name the damage, never a value.
    """
    result: dict[str, Any] = {"ok": False, "records": None, "versions": None, "seq": None}
    problems: list[str] = []
    try:
        counts = ctx.session().call("verify")
    except IntegrityError as exc:  # raised on open too: a file that fails its check
        problems.append(str(exc))
    else:
        result.update(ok=True, **{k: counts.get(k) for k in ("records", "versions", "seq")})
    result["problems"] = problems
    if ctx.json:
        output.emit(result)
    elif result["ok"]:
        output.lines(
            [
                f"vault ok: {result['records']} records, {result['versions']} versions, "
                f"change sequence {result['seq']}"
            ]
        )
    else:
        output.lines([f"vault damaged: {p}" for p in problems])
    return EXIT_OK if result["ok"] else EXIT_INTEGRITY
