"""Rotation as the app and commands see it: the rotation manager's public calls and
types, generators and policies, re-exported so front ends never import
:mod:`core.rotation` internals. The manager audits every rotation itself."""

from __future__ import annotations

from typing import Any

from core.service.lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_TIMEOUT": ("core.rotation.hooks", "DEFAULT_TIMEOUT"),
    "HOW_HOOKS_RUN": ("core.rotation.hooks", "HOW_HOOKS_RUN"),
    "HookConfig": ("core.rotation.hooks", "HookConfig"),
    "CLASS_NAMES": ("core.rotation.generators", "CLASS_NAMES"),
    "PassphraseGenerator": ("core.rotation.generators", "PassphraseGenerator"),
    "PasswordGenerator": ("core.rotation.generators", "PasswordGenerator"),
    "TokenGenerator": ("core.rotation.generators", "TokenGenerator"),
    "UuidGenerator": ("core.rotation.generators", "UuidGenerator"),
    "RotationManager": ("core.rotation.manager", "RotationManager"),
    "RotationResult": ("core.rotation.manager", "RotationResult"),
    "RotationStatus": ("core.rotation.manager", "RotationStatus"),
    "SecretRotationPolicy": ("core.rotation.policy", "SecretRotationPolicy"),
    "VIA_CHOICES": ("core.rotation.hooks", "VIA_CHOICES"),
    "format_duration": ("core.rotation.manager", "format_duration"),
    "iso": ("core.rotation.info", "iso"),
    "needs_shell": ("core.rotation.hooks", "needs_shell"),
    "parse_generator": ("core.rotation.generators", "parse_generator"),
    "parse_policy": ("core.rotation.policy", "parse_policy"),
    "policy_label": ("core.rotation.policy", "policy_label"),
}

__all__ = list(_EXPORTS)
__getattr__: Any = lazy_exports(__name__, _EXPORTS)
