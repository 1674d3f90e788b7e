"""``export --format dotenv|json`` and
``import FILE --format dotenv|json|keepass|keepassxc-csv``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from core.errors import ConfigError, ValidationError
from core.importexport import EXPORT_FORMATS, IMPORT_FORMATS, guess_format, parse_file, render
from core.private_file import write_private
from vaultui.batch import context, output
from vaultui.batch.context import Context


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``export`` and ``import``."""
    p = sub.add_parser("export", parents=[common], help="print secrets as .env or JSON")
    p.add_argument("names", nargs="*", metavar="NAME", help="only these secrets")
    p.add_argument("--format", choices=EXPORT_FORMATS, help="dotenv (default) or json")
    p.add_argument("--filter", help="only names containing this text")
    p.add_argument("-o", "--output", type=Path, help="write to this new file (0600)")
    p.add_argument("--force", action="store_true", help="overwrite --output if it exists")
    p.set_defaults(command_fn=cmd_export)

    p = sub.add_parser("import", parents=[common], help="import secrets from a file")
    p.add_argument("file", type=Path, help="the file (or, for --format pass, the store folder)")
    p.add_argument("--format", choices=IMPORT_FORMATS, help="default: from the file name")
    p.add_argument("--prefix", default="", help="put before every imported name (e.g. app/)")
    p.add_argument(
        "--on-conflict",
        choices=("update", "skip", "fail"),
        default="update",
        help="existing names: new version (default), leave alone, or fail (exit 7)",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would change")
    p.add_argument("--password-file", type=Path, help="KeePass: file holding the password")
    p.add_argument("--keyfile", type=Path, help="KeePass: key file")
    p.set_defaults(command_fn=cmd_import)


def cmd_export(ctx: Context) -> int:
    """Write the secrets in the chosen format to stdout or ``--output``."""
    a = ctx.args
    fmt = a.format or ("json" if ctx.json else "dotenv")
    exists_hint = "use --force to replace it"
    if a.output is not None and os.path.lexists(a.output) and not a.force:
        # checked early to skip the work; the exclusive create below is the real guard
        raise ValidationError(f"{a.output} already exists", hint=exists_hint)
    entries = ctx.session().call(
        "export",
        names=a.names or None,
        filter=a.filter,
        progress=output.Progress("exported"),
    )
    text = render(entries, fmt).encode("utf-8")
    if a.output is None:
        output.write_out(text)
        return 0
    write_private(a.output, text, replace=a.force, hint=exists_hint)
    output.note(f"Exported {len(entries)} secret(s) to {a.output}")
    return 0


def _kdbx_password(a: argparse.Namespace, ctx: Context) -> str | None:
    from core.unlock import read_passphrase_file

    if a.password_file is not None:
        return read_passphrase_file(a.password_file)
    if ctx.can_prompt:
        return context.prompt_secret(f"Password for {a.file}: ") or None
    if a.keyfile is not None:
        return None
    raise ConfigError(
        f"{a.file} needs its password", hint="run in a terminal or pass --password-file FILE"
    )


def cmd_import(ctx: Context) -> int:
    """Parse the file here, then store the entries (in the agent or locally)."""
    a = ctx.args
    fmt = a.format or guess_format(a.file)
    if fmt is None:
        raise ValidationError(
            f"Cannot tell the format of {a.file}", hint="use --format " + "|".join(IMPORT_FORMATS)
        )
    if not a.file.exists():
        raise ValidationError(f"{a.file} does not exist")
    password = _kdbx_password(a, ctx) if fmt == "keepass" else None
    entries = parse_file(a.file, fmt, prefix=a.prefix, password=password, keyfile=a.keyfile)
    progress = output.Progress("imported")
    result = ctx.session(create=True).call(
        "import",
        entries=entries,
        on_conflict=a.on_conflict,
        dry_run=a.dry_run,
        progress=progress,
    )
    progress.done()
    if ctx.json:
        output.emit(result)
        return 0
    head = "Would import" if a.dry_run else "Imported"
    counts = ", ".join(
        f"{len(result[k])} {k}" for k in ("created", "updated", "unchanged", "skipped")
    )
    output.note(
        f"{head} {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} from {a.file}: {counts}"
    )
    if a.dry_run:
        for key in ("created", "updated"):
            for name in result[key]:
                output.note(f"  {key}: {name}")
    return 0
