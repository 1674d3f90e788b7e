"""The named operations now live in :mod:`core.service.ops`; this name stays so op
modules under ``core/agent/`` (``from .ops import ProgressFn, op``) and older imports
keep working. Operations registered here land in the one registry, which imports this
module, so every front end sees them."""

from core.service.ops import *  # noqa: F403
from core.service.registry import OPS, Op, ProgressFn, dispatch, op  # noqa: F401

# op modules kept under core/agent/ register on import: import them here, at the end
