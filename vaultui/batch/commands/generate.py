"""``generate``: print a fresh random value, made by the same generators as rotation.

    vaultui --batch generate password [--length 24] [--no-symbols] [--min-digits N] ...
    vaultui --batch generate passphrase [--words 6] [--separator -]
    vaultui --batch generate token [--bytes 32] [--encoding hex|base64|urlsafe]
    vaultui --batch generate uuid

The value goes to stdout only (``| vaultui --batch set NAME`` stores it); no vault is
opened, so nothing is audited.
"""

from __future__ import annotations

import argparse
from typing import Any

from core.service.rotation import (
    CLASS_NAMES,
    PassphraseGenerator,
    PasswordGenerator,
    TokenGenerator,
    UuidGenerator,
)
from vaultui.batch import output
from vaultui.batch.context import Context


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``generate password|passphrase|token|uuid``."""
    p = sub.add_parser(
        "generate",
        parents=[common],
        help="print a random password, passphrase, token or UUID",
        description="Print a fresh random value (the rotation generators). Store it with "
        "`vaultui --batch generate password | vaultui --batch set NAME`.",
    )
    p.set_defaults(command_fn=_usage(p))
    kinds = p.add_subparsers(dest="kind", metavar="KIND")

    pw = kinds.add_parser("password", parents=[common], help="random characters")
    pw.add_argument("--length", type=int, default=24, help="characters (default 24)")
    pw.add_argument("--no-symbols", action="store_true", help="letters and digits only")
    pw.add_argument("--no-digits", action="store_true", help="no digits")
    pw.add_argument("--no-upper", action="store_true", help="no upper-case letters")
    pw.add_argument("--no-lower", action="store_true", help="no lower-case letters")
    pw.add_argument("--exclude", default="", metavar="CHARS", help="never use these characters")
    pw.add_argument(
        "--symbols", metavar="CHARS", help="the symbols to draw from (default: shell-safe set)"
    )
    for word in CLASS_NAMES.values():
        pw.add_argument(
            f"--min-{word}", type=int, metavar="N", help=f"at least N {word} (default 1)"
        )
    pw.set_defaults(command_fn=cmd_password)

    pp = kinds.add_parser("passphrase", parents=[common], help="words from the EFF large word list")
    pp.add_argument("--words", type=int, default=6, help="words (default 6: 77 bits)")
    pp.add_argument("--separator", default="-", help="between words (default -)")
    pp.set_defaults(
        command_fn=lambda ctx: _emit(ctx, PassphraseGenerator(ctx.args.words, ctx.args.separator))
    )

    tok = kinds.add_parser("token", parents=[common], help="random bytes, encoded")
    tok.add_argument("--bytes", type=int, default=32, help="bytes of randomness (default 32)")
    tok.add_argument(
        "--encoding",
        choices=("hex", "base64", "urlsafe"),
        default="urlsafe",
        help="(default urlsafe)",
    )
    tok.set_defaults(
        command_fn=lambda ctx: _emit(ctx, TokenGenerator(ctx.args.encoding, ctx.args.bytes))
    )

    uu = kinds.add_parser("uuid", parents=[common], help="a random (version 4) UUID")
    uu.set_defaults(command_fn=lambda ctx: _emit(ctx, UuidGenerator()))


def _usage(parser: argparse.ArgumentParser) -> Any:
    def show(ctx: Context) -> int:
        from core.errors import ValidationError

        raise ValidationError(
            "Say what to generate: password, passphrase, token or uuid",
            hint="vaultui --batch generate password --length 24",
        )

    return show


def cmd_password(ctx: Context) -> int:
    """``generate password``."""
    a = ctx.args
    classes = "".join(
        cls
        for cls, off in (
            ("u", a.no_upper),
            ("l", a.no_lower),
            ("d", a.no_digits),
            ("s", a.no_symbols),
        )
        if not off
    )
    minimums = tuple(
        (cls, getattr(a, f"min_{word}"))
        for cls, word in CLASS_NAMES.items()
        if getattr(a, f"min_{word}") is not None
    )
    options: dict[str, Any] = {"length": a.length, "classes": classes, "exclude": a.exclude}
    if a.symbols is not None:
        options["symbols"] = a.symbols
    return _emit(ctx, PasswordGenerator(**options, minimums=minimums))


def _emit(ctx: Context, generator: Any) -> int:
    value = generator.generate()
    if ctx.json:
        output.emit({"value": value, "spec": generator.spec})
    else:
        output.write_out((value + "\n").encode("utf-8"))
    return 0
