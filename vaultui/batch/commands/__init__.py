"""Every ``--batch`` command, one module per group, in one registry.

Each module has ``register(subparsers, common)`` that adds its commands with
``set_defaults(command_fn=fn)``; ``fn(ctx: Context) -> int``. Groups written as
``add_parser(subparsers)`` plus ``handler(args, manager)`` (audit, backup, rotation, sync,
and plugins from outside, see :mod:`vaultui.batch.runner`) register through
:func:`register_handlers`, which gives them the same ``command_fn``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vaultui.batch.context import Context

BUILTIN_MODULES = (
    "secrets",
    "purge",
    "keys",
    "rekey",
    "search",
    "run",
    "transfer",
    "providers",
    "git",
    "generate",
    "refs",
    "move",
    "otp",
    "edit",
    "completion",
    "integrity",
    "members",
    "audit",
    "backup",
    "rotation",
    "sync",
)
"""The modules in the order their commands are listed by ``vaultui --help``."""

COMMAND_MODULES = {
    **dict.fromkeys(
        ("get", "set", "list", "delete", "undelete", "history", "rollback", "describe", "tag"),
        "secrets",
    ),
    **dict.fromkeys(("unlock", "lock", "status"), "keys"),
    **dict.fromkeys(("rekey", "passwd"), "rekey"),
    **dict.fromkeys(("grep", "scan"), "search"),
    "run": "run",
    **dict.fromkeys(("export", "import"), "transfer"),
    "providers": "providers",
    "git": "git",
    "purge": "purge",
    "generate": "generate",
    **dict.fromkeys(("read", "inject"), "refs"),
    **dict.fromkeys(("mv", "cp"), "move"),
    "otp": "otp",
    "edit": "edit",
    "completion": "completion",
    "verify": "integrity",
    "members": "members",
    "audit": "audit",
    "backup": "backup",
    **dict.fromkeys(("rotate", "policy", "rotation"), "rotation"),
    **dict.fromkeys(("sync", "merge"), "sync"),
}
"""Which module defines each built-in command."""

BUILTIN_COMMANDS = frozenset(COMMAND_MODULES)
"""Names of the built-in commands (plugins are imported only for other names)."""


def register_handlers(sub: Any, add_parser: Callable[[Any], Any]) -> list[str]:
    """Let ``add_parser(sub)`` add commands whose parsers set ``handler(args, manager)``
    (and optionally ``needs_vault``); returns the command names it added.

    Each parser made through ``sub.add_parser`` gets its own fresh copy of the common
    options (``--json``, ``--provider``, ``--no-prompt``; with ``conflict_handler=
    "resolve"`` a command's own ``--json`` removes the option from the parent it was
    given, so a shared parent would lose it for every later group), and every command
    added runs through :func:`run_handler`.
    """
    from vaultui.batch.runner import common_parent

    before = set(sub.choices)
    original = sub.add_parser

    def add(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs["parents"] = [*kwargs.get("parents", []), common_parent()]
        # a command's own --json (or --provider) wins over the injected one
        kwargs.setdefault("conflict_handler", "resolve")
        return original(name, **kwargs)

    sub.add_parser = add
    try:
        add_parser(sub)
    finally:
        sub.add_parser = original
    added = [name for name in sub.choices if name not in before]
    for name in added:
        sub.choices[name].set_defaults(command_fn=run_handler)
    return added


def run_handler(ctx: Context) -> int:
    """Call the parsed command's ``agent_handler(args, session)`` when one is set and an
    unlock agent serves this vault (it returns None for a form it leaves to the handler),
    else its ``handler(args, manager)`` with an unlocked manager (or
    None if it set ``needs_vault=False``, or ``needs_vault="optional"`` and no key is at
    hand, with the settings in ``args.settings``); returns its exit code. ``args.context``
    is the command's :class:`~vaultui.batch.context.Context` (its one agent connection)."""
    from core.errors import EXIT_USAGE
    from vaultui.batch.output import error

    args = ctx.args
    handler = getattr(args, "handler", None)
    if handler is None:
        error(f"command {args.command!r} has no handler")
        return EXIT_USAGE
    args.context = ctx
    by_agent = getattr(args, "agent_handler", None)
    if by_agent is not None:
        code = _run_by_agent(ctx, by_agent)
        if code is not None:
            return code
    needs = getattr(args, "needs_vault", True)
    if needs == "optional":
        args.settings = ctx.settings
        manager = ctx.manager_if_available()
    else:
        manager = ctx.manager() if needs else None
    return int(handler(args, manager) or 0)


def _run_by_agent(ctx: Context, by_agent: Callable[..., int | None]) -> int | None:
    """``by_agent(args, session)`` when an unlock agent serves this vault (it performs
    the work and never lends its key, so no passphrase is asked here), else None.

    A command whose ``--provider`` names a remote (``remote_provider=True``: sync) is
    matched to the agent by the vault's own provider, from the environment."""
    import os

    from core.config import Settings
    from vaultui.batch.context import Context as _Context

    args = ctx.args
    own = ctx
    if getattr(args, "remote_provider", False):
        own = _Context(args, Settings.from_env(os.environ))
    try:
        if not _agent_serves(own):
            return None
        code = by_agent(args, own.session())
        return None if code is None else int(code)
    finally:
        if own is not ctx:
            own.close()


def _agent_serves(ctx: Context) -> bool:
    """True if an unlock agent for this vault file (and provider) answers."""
    from core.unlock import vault_exists

    return vault_exists(ctx.settings) and ctx.agent_serves_us(ctx.agent_hello())
