"""The audit trail as the app and commands read it: queries, views, verification and
reports, re-exported so front ends never import :mod:`core.audit` internals. Front ends
read the trail; only the service writes it."""

from __future__ import annotations

from typing import Any

from core.service.lazy import lazy_exports

_EXPORTS = {
    "AuditLog": ("core.audit", "AuditLog"),
    "EventView": ("core.audit.view", "EventView"),
    "FORMATS": ("core.audit.report", "FORMATS"),
    "Filters": ("core.audit", "Filters"),
    "Row": ("core.audit.view", "Row"),
    "VerifyReport": ("core.audit", "VerifyReport"),
    "build_report": ("core.audit.report", "build"),
    "display_fields": ("core.audit.view", "display_fields"),
}

__all__ = list(_EXPORTS)
__getattr__: Any = lazy_exports(__name__, _EXPORTS)
