"""Moved to :mod:`core.service.audit_ops` (this name keeps older imports working)."""

from core.service.audit_ops import *  # noqa: F403
