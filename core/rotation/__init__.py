"""Rotation: policies, generators, staged rotation with hooks, and the worker.

- :mod:`core.rotation.policy`      policies and due-time arithmetic
- :mod:`core.rotation.generators`  new values by spec (password, token, uuid, key pairs, ...)
- :mod:`core.rotation.hooks`       apply/verify commands (values via env/stdin, never argv)
- :mod:`core.rotation.lease`       leases in the vault file: one rotation per secret at a time
- :mod:`core.rotation.manager`     :class:`RotationManager`: staged rotation and the worker

Importing this package imports neither ``cryptography``'s key code nor any provider SDK.
"""

from core.rotation.policy import (
    SecretRotationPolicy,
    is_due,
    next_due,
    parse_policy,
    policy_interval,
    policy_to_str,
)

# The engine (generators, hooks, manager) is loaded on first use: a plain read through
# the facade should not pay for it (about 50 ms of imports).
_LAZY = {
    "guess_generator": "core.rotation.generators",
    "parse_generator": "core.rotation.generators",
    "HookConfig": "core.rotation.hooks",
    "HookResult": "core.rotation.hooks",
    "run_hook": "core.rotation.hooks",
    "RotationInfo": "core.rotation.info",
    "RotationFailure": "core.rotation.manager",
    "RotationManager": "core.rotation.manager",
    "RotationResult": "core.rotation.manager",
    "RotationStatus": "core.rotation.manager",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'core.rotation' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "HookConfig",
    "HookResult",
    "RotationFailure",
    "RotationInfo",
    "RotationManager",
    "RotationResult",
    "RotationStatus",
    "SecretRotationPolicy",
    "guess_generator",
    "is_due",
    "next_due",
    "parse_generator",
    "parse_policy",
    "policy_interval",
    "policy_to_str",
    "run_hook",
]
