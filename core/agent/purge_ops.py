"""Moved to :mod:`core.service.purge_ops` (this name keeps older imports working)."""

from core.service.purge_ops import *  # noqa: F403
from core.service.purge_ops import parse_age

__all__ = ["parse_age"]
