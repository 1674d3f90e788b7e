"""The full ``vaultui`` command line: argparse, plugin commands, errors and exit codes.

Every command, built in or from a plugin, is registered in one parser and runs as
``command_fn(ctx)`` (see :mod:`vaultui.batch.commands`). Plugins from outside are
modules named by the ``vaultui.commands`` entry point group (``add_parser(subparsers)``
plus ``handler(args, manager)``, documented in :mod:`vaultui.cli`).

:func:`run` is what :func:`vaultui.cli.main` calls when the fast path does not apply.
Core errors print their text on stderr (``vaultui: ...``) and return their exit code;
nothing prints a traceback unless FEDZK_LOG_LEVEL=DEBUG.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from core.errors import EXIT_ERROR, EXIT_USAGE, VaultError
from core.text import plural
from vaultui.batch.commands import (
    BUILTIN_COMMANDS,
    BUILTIN_MODULES,
    COMMAND_MODULES,
    register_handlers,
)
from vaultui.batch.output import error

PLUGIN_GROUP = "vaultui.commands"
"""The entry point group naming plugin command modules."""

EPILOG = """\
exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 wrong key or locked,
5 integrity failure, 6 provider failure, 7 conflict (changed by someone else).
See docs/batch.md for every command."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that never echoes stray arguments: a value typed on the
    command line by mistake must not reach stderr (and from there CI logs)."""

    def error(self, message: str) -> NoReturn:
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            extra = message[len(prefix) :].split()
            options = [a for a in extra if a.startswith("-")]
            hidden = len(extra) - len(options)
            parts = options + ([f"{plural(hidden, 'other argument')}, not shown"] if hidden else [])
            message = prefix + ", ".join(parts)
        super().error(message)


def common_parent() -> argparse.ArgumentParser:
    """Options every command accepts after its name too (``get X --json``).

    Plugin commands get it automatically through ``subparsers.add_parser``.
    """
    common = Parser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    common.add_argument(
        "--provider", default=argparse.SUPPRESS, metavar="NAME", help=argparse.SUPPRESS
    )
    common.add_argument(
        "--no-prompt", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    return common


def build_parser(*, plugins: bool = True, only: str | None = None) -> argparse.ArgumentParser:
    """The ``vaultui`` parser: app options, the built-ins, and (if asked) plugins.

    ``only`` (a built-in command name) registers just the module defining it: building
    every subparser costs tens of milliseconds that a known command does not need.
    """
    parser = Parser(
        prog="vaultui",
        description="A secrets manager: the Textual app (no arguments) or --batch COMMAND.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--batch", action="store_true", help="run COMMAND without a screen")
    parser.add_argument(
        "--demo", action="store_true", help="open the app on a throwaway demo vault"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--provider",
        metavar="NAME",
        help="secrets provider for this run (overrides FEDZK_SECRETS_PROVIDER)",
    )
    parser.add_argument(
        "--no-prompt", action="store_true", help="never ask for a passphrase on the terminal"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = common_parent()
    modules = [COMMAND_MODULES[only]] if only in COMMAND_MODULES else BUILTIN_MODULES
    for name in modules:
        module = importlib.import_module(f"vaultui.batch.commands.{name}")
        module.register(sub, common)
    if plugins:
        load_plugins(sub, common)
    _groups_show_help(parser)
    return parser


def _groups_show_help(parser: argparse.ArgumentParser, *, top: bool = True) -> None:
    """Make every command group's subcommand optional, so ``vaultui --batch rotation``
    alone reaches :func:`_missing_subcommand` (help, exit 2) rather than argparse's
    "arguments are required: rotation_command" that names an internal variable."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            if not top:
                action.required = False
            for child in action.choices.values():
                _groups_show_help(child, top=False)


def _missing_subcommand(parser: argparse.ArgumentParser, args: argparse.Namespace) -> bool:
    """If ``args`` stops at a command group (``audit``, ``backup``, ``rotation`` ...)
    without its subcommand, print that group's help on stderr and return True."""
    current = parser
    while True:
        subs = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return False
        chosen = getattr(args, subs[0].dest, None)
        if chosen is None:
            if current is parser:
                return False  # no COMMAND at all: handled by the caller
            current.print_help(sys.stderr)
            name = current.prog.removeprefix("vaultui ")
            error(f"{name} needs a subcommand: {', '.join(subs[0].choices)}")
            return True
        current = subs[0].choices[chosen]


def _version() -> str:
    import vaultui

    return getattr(vaultui, "__version__", "?")


def plugin_modules() -> list[str]:
    """Names of the plugin modules installed (``vaultui.commands`` entry points), not
    imported."""
    from importlib.metadata import entry_points

    return sorted({ep.value.split(":")[0] for ep in entry_points(group=PLUGIN_GROUP)})


def load_plugins(sub: Any, common: argparse.ArgumentParser | None = None) -> list[str]:
    """Import every plugin module and register its commands like the built-in groups
    (:func:`vaultui.batch.commands.register_handlers`). A plugin that fails to load is
    reported on stderr and skipped; returns the names loaded."""
    loaded = []
    for module_name in plugin_modules():
        try:
            module = importlib.import_module(module_name)
            register_handlers(sub, module.add_parser)
        except Exception as exc:
            error(f"plugin {module_name} not loaded ({type(exc).__name__}: {exc})")
            continue
        loaded.append(module_name)
    return loaded


def command_word(argv: Sequence[str]) -> str | None:
    """The first argument that is not an option (or an option's value)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--provider":
            i += 2
            continue
        if not arg.startswith("-"):
            return arg
        i += 1
    return None


def run(argv: Sequence[str], *, preread_stdin: Any = None) -> int:
    """Run the command line ``argv``; return the exit code (never raises)."""
    try:
        return _run(list(argv), preread_stdin)
    except VaultError as exc:
        error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_ERROR
    except PermissionError as exc:
        # a path the core did not guard yet: name it (paths are not secret) with a hint
        where = f": {exc.filename}" if exc.filename else ""
        error(f"permission denied{where}: run as the folder's owner, or set VAULTUI_HOME")
        return EXIT_ERROR
    except Exception as exc:
        if os.environ.get("FEDZK_LOG_LEVEL", "").upper() == "DEBUG":
            import traceback

            traceback.print_exc()
        error(f"unexpected error ({type(exc).__name__}); set FEDZK_LOG_LEVEL=DEBUG for details")
        return EXIT_ERROR


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush is silent."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):
        pass


def _run(argv: list[str], preread_stdin: Any) -> int:
    word = command_word(argv)
    known = word in BUILTIN_COMMANDS and not {"-h", "--help"} & set(argv[: argv.index(word)])
    parser = build_parser(plugins=not known, only=word if known else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if _missing_subcommand(parser, args):
        return EXIT_USAGE
    from core.config import Settings

    settings = Settings.from_env(os.environ, provider=args.provider)
    if args.command is None:
        if args.batch:
            parser.print_usage(sys.stderr)
            error("--batch needs a COMMAND (see vaultui --help)")
            return EXIT_USAGE
        return run_app(settings, demo=args.demo)
    if args.demo:
        error("--demo opens the app; it takes no COMMAND")
        return EXIT_USAGE
    from vaultui.batch.context import Context

    ctx = Context(args, settings, preread_stdin)
    try:
        return int(args.command_fn(ctx))
    finally:
        ctx.close()


def stdio_is_terminal() -> bool:
    """True if both stdin and stdout are terminals (the app reads keys from one and
    draws on the other)."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def run_app(settings: Any, *, demo: bool) -> int:
    """Start the Textual app (imported only now); refuse (exit 2) without a terminal.

    Without one, Textual would write escape codes into a file or pipe and wait for keys
    that never come.
    """
    if not stdio_is_terminal():
        error("vaultui needs a terminal; use --batch for scripts (see vaultui --help)")
        return EXIT_USAGE
    try:
        from vaultui.app import run_app as start
    except ImportError as exc:
        error(f"the app cannot start ({type(exc).__name__}: {exc})")
        return EXIT_ERROR
    result = start(settings, demo=demo)
    return int(result) if isinstance(result, int) else 0


__all__ = ["build_parser", "common_parent", "load_plugins", "run"]
