"""``git``: keep the vault file in a git repository and let git merge and diff it.

    vaultui --batch git setup [--vault FILE]     register the drivers (idempotent)
    vaultui --batch git merge-driver O A B P     run by `git merge` (not by hand)
    vaultui --batch git textconv FILE            run by `git diff` / `git log -p`

The merge driver needs the vault's key in its own process: VAULTUI_PASSPHRASE_FILE,
FEDZK_ENCRYPTION_MASTER_KEY, VAULTUI_KEY_FILE or the home's ``vault.key``, or a
passphrase typed at the prompt when git runs in a terminal. Without one it fails and git
reports an ordinary conflict, leaving both copies for ``vaultui --batch merge``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from core.errors import EXIT_ERROR, EXIT_OK, VaultError
from vaultui.batch import output
from vaultui.batch.context import Context


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``git setup``, ``git merge-driver`` and ``git textconv``."""
    p = sub.add_parser(
        "git",
        parents=[common],
        help="keep the vault file in git: field-by-field merges, readable diffs",
        description="Register vaultui as git's merge and diff driver for the vault file.",
    )
    git_sub = p.add_subparsers(dest="git_command", metavar="SUBCOMMAND")
    setup = git_sub.add_parser(
        "setup",
        parents=[common],
        help="register the merge and diff drivers in this repository (idempotent)",
    )
    setup.add_argument(
        "--vault", metavar="FILE", help="the vault file in the repository (default: the home's)"
    )
    setup.set_defaults(command_fn=cmd_setup)
    merge = git_sub.add_parser(
        "merge-driver", parents=[common], help="(run by git) merge THEIRS into OURS"
    )
    for name in ("base", "ours", "theirs"):
        merge.add_argument(name, metavar=name.upper())
    merge.add_argument("path", nargs="?", metavar="PATH", help="the file's path in the tree")
    merge.set_defaults(command_fn=cmd_merge_driver)
    textconv = git_sub.add_parser(
        "textconv", parents=[common], help="(run by git) the vault file as text, no values"
    )
    textconv.add_argument("file", metavar="FILE")
    textconv.set_defaults(command_fn=cmd_textconv)


def _program() -> list[str]:
    """How git should start vaultui: this very script when run as ``vaultui``."""
    script = Path(sys.argv[0])
    if script.name == "vaultui" and script.exists():
        return [str(script.resolve())]
    return [sys.executable, "-m", "vaultui"]


def cmd_setup(ctx: Context) -> int:
    """Register the drivers for the vault file in the repository that holds it."""
    from core.service.sync import register_git_drivers as register

    vault = Path(ctx.args.vault) if ctx.args.vault else ctx.settings.vault_path
    done = register(vault.absolute(), _program())
    if ctx.json:
        output.emit(done.to_dict())
    else:
        what = "added to" if done.attributes_changed else "already in"
        output.lines(
            [
                f"{what} .gitattributes: {done.attributes_line}",
                "git config: merge and diff drivers 'vaultui' set for this repository",
                "never commit the key file or device.id (list them in .gitignore)",
            ]
        )
    return EXIT_OK


def cmd_merge_driver(ctx: Context) -> int:
    """Merge git's THEIRS into OURS in place; exit 0 when the result is a sound vault."""
    from core.service.sync import merge_into

    where = ctx.args.path or "the vault file"
    try:
        key = ctx.current_key_source()
        report = merge_into(Path(ctx.args.ours), Path(ctx.args.theirs), key)
    except VaultError as exc:
        output.error(
            f"git merge of {where} not done: {exc}; both copies are kept, "
            "merge them with `vaultui --batch merge`"
        )
        return EXIT_ERROR
    if not ctx.json:  # git shows the driver's stderr; its stdout is not used
        parts = [
            f"{len(report.added)} added",
            f"{len(report.updated)} updated",
            f"{len(report.deleted)} deleted",
        ]
        if report.conflicts:
            parts.append(
                f"{len(report.conflicts)} conflict(s) kept for review "
                "(vaultui --batch sync --conflicts)"
            )
        print(f"vaultui: merged {where} field by field: {', '.join(parts)}", file=sys.stderr)
    return EXIT_OK


def cmd_textconv(ctx: Context) -> int:
    """Print the vault file at FILE as lines git can diff: names or record ids, no values."""
    from core.service.sync import describe_vault_file as describe
    from core.unlock import configured_key_source

    try:
        key = configured_key_source(ctx.settings)
    except VaultError:
        key = None
    for line in describe(Path(ctx.args.file), key):
        sys.stdout.write(line + os.linesep)
    return EXIT_OK
