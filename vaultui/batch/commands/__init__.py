"""The built-in ``--batch`` commands, one module per group.

Each module has ``register(subparsers, common)`` that adds its commands with
``set_defaults(command_fn=fn)``; ``fn(ctx: Context) -> int``. Plugin commands
(``vaultui/commands_*.py``) use the public ``handler(args, manager)`` contract instead
(see :mod:`vaultui.cli`).
"""

from __future__ import annotations

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
)

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
}
"""Which module defines each built-in command."""

BUILTIN_COMMANDS = frozenset(COMMAND_MODULES)
"""Names of the built-in commands (plugins are imported only for other names)."""
