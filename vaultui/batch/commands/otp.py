"""``otp NAME``: the current one-time password of a secret holding a TOTP."""

from __future__ import annotations

import argparse
from typing import Any

from vaultui.batch.context import Context
from vaultui.batch.fast import print_otp


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``otp``."""
    p = sub.add_parser(
        "otp",
        parents=[common],
        help="print the current one-time password (TOTP) of a secret",
        description="Print the current RFC 6238 code of a secret holding an otpauth:// URI "
        "(or a dict with a totp field); the seconds it stays valid go to stderr.",
    )
    p.add_argument("name")
    p.set_defaults(command_fn=cmd_otp)


def cmd_otp(ctx: Context) -> int:
    """``otp NAME``: the code on stdout, the seconds left on stderr."""
    result = ctx.session().call("otp", name=ctx.args.name)
    print_otp(result, json_mode=ctx.json)  # as the fast path prints it
    return 0
