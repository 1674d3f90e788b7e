"""``vaultui --batch __complete-names [--deleted] [--] PREFIX``: secret names for shell
completion (``--deleted``: the deleted ones, for ``undelete`` and ``purge``).

Called by the completion scripts on every TAB, so it must be quick and quiet: it imports
only :mod:`core.agent.client` (like :mod:`vaultui.batch.fast`), asks a running unlock
agent for this vault and nothing else, and never prompts, never opens the vault, never
prints an error. No agent (or a locked one, or any failure): no names, exit 0.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

COMMAND = "__complete-names"
TIMEOUT = 2.0
"""A completion that waits longer than this is worse than none."""


def wanted(argv: Sequence[str]) -> bool:
    """True if ``argv`` is a ``__complete-names`` request (after global flags)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == COMMAND:
            return True
        elif arg == "--provider":
            skip = True  # its value is not the command
        elif not arg.startswith("-"):
            return False
    return False


def run(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """Print the names that start with the PREFIX in ``argv``, one a line; always 0."""
    rest = list(argv[list(argv).index(COMMAND) + 1 :])
    provider = None
    head = list(argv[: list(argv).index(COMMAND)])
    for i, arg in enumerate(head):
        if arg == "--provider" and i + 1 < len(head):
            provider = head[i + 1]
        elif arg.startswith("--provider="):
            provider = arg.split("=", 1)[1]
    deleted = bool(rest) and rest[0] == "--deleted"
    if deleted:
        rest = rest[1:]
    if rest and rest[0] == "--":
        rest = rest[1:]
    prefix = rest[0] if rest else ""
    try:
        from core.agent import client as agent

        paths = agent.fast_paths(environ, provider)
        if paths is None:
            return 0
        conn = agent.AgentClient.connect(paths.socket, timeout=TIMEOUT)
        if conn is None:
            return 0
        with conn:
            names = conn.call(
                "complete_names",
                {"prefix": prefix, "deleted": deleted},
                vault=paths.vault,
                provider=paths.provider,
            )
    except Exception:  # completion never shows an error in the shell
        return 0
    if isinstance(names, list):
        text = "".join(f"{n}\n" for n in names if isinstance(n, str) and "\n" not in n)
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            pass
    return 0
