"""Team members as the app and commands see them: adding and removing members (each
audits itself and refuses a vault opened by a member's identity), listing them, and the
secrets a removed member could read, re-exported so front ends never import
:mod:`core.members` or the key-slot internals."""

from __future__ import annotations

from typing import Any

from core.service.lazy import lazy_exports

_EXPORTS = {
    "MAX_RECIPIENT_CHARS": ("core.vault.members", "MAX_RECIPIENT_CHARS"),
    "SLOT_AGE": ("core.vault.keys", "SLOT_AGE"),
    "add_member": ("core.members", "add_member"),
    "check_member_name": ("core.vault.members", "check_member_name"),
    "parse_recipient": ("core.vault.members", "parse_recipient"),
    "exposed_secrets": ("core.members", "exposed_secrets"),
    "list_members": ("core.members", "list_members"),
    "remove_member": ("core.members", "remove_member"),
    "require_owner": ("core.members", "require_owner"),
}

__all__ = list(_EXPORTS)
__getattr__: Any = lazy_exports(__name__, _EXPORTS)
