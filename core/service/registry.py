"""Named operations: how ``--batch``, the unlock agent and the browser run the service.

An operation takes an open :class:`~core.secrets_manager.SecretsManager` and plain keyword
arguments and returns plain data (None, bool, int, float, str, bytes, list, dict), so the
same call answers in the ``--batch`` process and inside the agent, byte for byte.

Use :func:`dispatch` (``dispatch(manager, "get", {"name": "db/password"})``).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.errors import ValidationError, VaultError

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
    *,
    client: dict[str, Any] | None = None,
) -> Any:
    """Run operation ``name`` with ``args``; raises the core error it raises.

    Every operation leaves at least one audit event, whichever front end runs it: one that
    wrote none itself (a metadata read, a request refused before it started) is audited
    here under its own name (``agent_request`` for an unknown name), success or failure.
    ``client`` fields (the agent's peer pid and executable) go on every event it writes.
    ``progress(done, total)`` is called during long operations (import).
    """
    import core.service.ops  # noqa: F401  (registers every operation)

    args = dict(args or {})
    secret = args.get("name") if isinstance(args.get("name"), str) else None
    with manager.audit_log.context(**(client or {})) as frame:
        try:
            fn = OPS.get(name)
            if fn is None:
                raise ValidationError(f"Unknown operation {name!r}")
            try:
                inspect.signature(fn).bind(manager, progress=progress, **args)
            except TypeError:
                raise ValidationError(f"Bad arguments for operation {name!r}") from None
            result = fn(manager, progress=progress, **args)
        except VaultError as exc:
            if not frame[1]:
                _audit(manager, name, secret, exc.message)
            raise
        except Exception as exc:
            if not frame[1]:  # never the exception's text: it could quote a value
                _audit(manager, name, secret, f"{name} failed ({type(exc).__name__})")
            raise
        if not frame[1]:
            _audit(manager, name, secret, None)
    return result


def _audit(manager: SecretsManager, name: str, secret: str | None, error: str | None) -> None:
    operation = name if name in OPS else "agent_request"
    with contextlib.suppress(VaultError, OSError):  # the operation's outcome stands
        manager.audit_log.log(operation, secret, success=error is None, error_message=error)
