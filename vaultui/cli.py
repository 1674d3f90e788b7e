"""The ``vaultui`` console script: the app, or ``--batch COMMAND`` without a screen.

Usage::

    vaultui                      the Textual app (vaultui.app.run_app(settings, demo=False))
    vaultui --demo               the app on a throwaway demo vault
    vaultui --batch COMMAND ...  headless; see docs/batch.md ("vaultui COMMAND" works too)

Global options (before COMMAND): ``--json`` (also accepted after it),
``--provider NAME`` (overrides FEDZK_SECRETS_PROVIDER for this run), ``--no-prompt``
(never ask for a passphrase), ``--version``.

Exit codes (``core.errors.EXIT_*``): 0 ok, 1 other error, 2 usage, 3 not found,
4 wrong key or locked, 5 integrity failure, 6 provider failure, 7 conflict. A failing
command prints the core error's text on stderr, never a traceback and never a value.

Plugin commands
---------------
A module named in the ``vaultui.commands`` entry point group of an installed package
adds commands without touching vaultui (the built-in audit, backup, rotation and sync
groups in ``vaultui/batch/commands/`` are written the same way). It must define::

    def add_parser(subparsers: argparse._SubParsersAction) -> None:
        p = subparsers.add_parser("audit", help="...")
        ...                                   # its own options / sub-subcommands
        p.set_defaults(handler=run_audit)     # required

    def run_audit(args: argparse.Namespace, manager: SecretsManager | None) -> int:
        ...                                   # return the exit code

- ``handler(args, manager) -> int``: ``args`` is the parsed namespace (``args.json``
  is True with ``--json``; ``args.provider`` is the override or None), ``manager`` an
  unlocked :class:`core.secrets_manager.SecretsManager` (``source='batch'``), opened
  with the unlock agent's key, the configured key, or a passphrase prompt. Return an
  exit code (None counts as 0). Raise :class:`core.errors.VaultError` subclasses for
  failures: the CLI prints them and exits with their ``exit_code``.
- ``p.set_defaults(needs_vault=False)`` makes ``manager`` None (commands that do not
  open the vault). ``needs_vault="optional"`` unlocks when a key is at hand (agent,
  configured key, a passphrase typed at the terminal) and otherwise passes None, with
  the settings in ``args.settings`` (``audit`` works on a locked vault this way).
- Parsers made with ``subparsers.add_parser`` accept ``--json`` after the command
  name automatically; sub-subcommand parsers can add
  ``parents=[vaultui.batch.runner.common_parent()]`` for the same.
- Plugins are imported only when the command is not a built-in one, so they never slow
  ``get``/``set``; a plugin that fails to import is reported on stderr and skipped.

Speed: ``main`` first tries :func:`vaultui.batch.fast.try_fast`, which serves plain
``get``/``set`` through a running unlock agent with interpreter built-ins only; this
module itself imports nothing but ``os`` and ``sys``.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``vaultui`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    from vaultui.batch import complete_names

    if complete_names.wanted(args):  # shell completion: agent only, never a prompt
        return complete_names.run(args, os.environ)
    from vaultui.batch.fast import try_fast

    code = try_fast(args, os.environ)
    if code is not None:
        return code
    from core.service.types import allow_gc_pause
    from vaultui.batch.runner import run

    allow_gc_pause()  # our own process: bulk work may pause the collector (core won't ask)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
