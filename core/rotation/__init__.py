"""Rotation: policies, generators, staged rotation with hooks, and the worker.

- :mod:`core.rotation.policy`      policies and due-time arithmetic
- :mod:`core.rotation.generators`  new values by spec (password, token, uuid, key pairs, ...)
- :mod:`core.rotation.hooks`       apply/verify commands (values via env/stdin, never argv)
- :mod:`core.rotation.lease`       leases in the vault file: one rotation per secret at a time
- :mod:`core.rotation.manager`     :class:`RotationManager`: staged rotation and the worker

Importing this package imports neither ``cryptography``'s key code nor any provider SDK.
"""

from core.rotation.generators import guess_generator, parse_generator
from core.rotation.hooks import HookConfig, HookResult, run_hook
from core.rotation.info import RotationInfo
from core.rotation.manager import RotationFailure, RotationManager, RotationResult, RotationStatus
from core.rotation.policy import (
    SecretRotationPolicy,
    is_due,
    next_due,
    parse_policy,
    policy_interval,
    policy_to_str,
)

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
