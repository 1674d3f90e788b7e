"""The environment vaultui hands to the programs it starts (``run``, rotation hooks).

A child never receives vaultui's own key material: with it, it could open the vault
itself and read every secret, not just the ones it was given. :data:`KEY_MATERIAL_ENV`
is the one list of those variables; :func:`child_environment` drops them and
:func:`key_material_values` returns the values that must also be masked in a child's
output (the master key: a child of the same user can still read vaultui's own initial
environment in ``/proc/<ppid>/environ``).
"""

from __future__ import annotations

from collections.abc import Mapping

KEY_MATERIAL_ENV = (
    "FEDZK_ENCRYPTION_MASTER_KEY",
    "VAULTUI_PASSPHRASE_FILE",
    "VAULTUI_KEY_FILE",
    "VAULTUI_AGENT_SOCKET",
)
"""Variables that unlock the vault (a key, or where a key or an unlocked agent is)."""

_VALUE_VARS = ("FEDZK_ENCRYPTION_MASTER_KEY",)


def child_environment(base: Mapping[str, str] | None) -> dict[str, str]:
    """A copy of ``base`` without any of :data:`KEY_MATERIAL_ENV`."""
    return {k: v for k, v in (base or {}).items() if k not in KEY_MATERIAL_ENV}


def key_material_values(base: Mapping[str, str] | None) -> list[str]:
    """The key values set in ``base`` (to be masked in a child's output)."""
    return [base[k] for k in _VALUE_VARS if base and base.get(k)]
