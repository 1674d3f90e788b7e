"""Named operations: how ``--batch``, the unlock agent and the browser run the service.

An operation takes an open :class:`~core.secrets_manager.SecretsManager` and plain keyword
arguments and returns plain data (None, bool, int, float, str, bytes, list, dict), so the
same call answers in the ``--batch`` process and inside the agent, byte for byte.

Use :func:`dispatch` (``dispatch(manager, "get", {"name": "db/password"})``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.errors import ValidationError

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager

ProgressFn = Callable[[int, int], None]
Op = Callable[..., Any]

OPS: dict[str, Op] = {}


def op(name: str) -> Callable[[Op], Op]:
    """Register a function as the operation ``name``."""

    def register(fn: Op) -> Op:
        OPS[name] = fn
        return fn

    return register


def dispatch(
    manager: SecretsManager,
    name: str,
    args: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
) -> Any:
    """Run operation ``name`` with ``args``; raises the core error it raises.

    ``progress(done, total)`` is called during long operations (import).
    """
    import core.service.ops  # noqa: F401  (registers every operation)

    fn = OPS.get(name)
    if fn is None:
        raise ValidationError(f"Unknown operation {name!r}")
    args = dict(args or {})
    try:
        inspect.signature(fn).bind(manager, progress=progress, **args)
    except TypeError:
        raise ValidationError(f"Bad arguments for operation {name!r}") from None
    return fn(manager, progress=progress, **args)
