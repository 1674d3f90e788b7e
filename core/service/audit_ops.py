"""Opening sealed audit lines, registered as the operation ``audit_open`` of
:mod:`core.agent.ops`.

The audit trail keeps secret names and messages sealed under a key derived from the
vault's data key (:mod:`core.audit.sealing`). A process that holds no key (the unlock
agent never hands its key out) sends raw trail lines here in batches and gets the events
back opened, for ``vaultui --batch audit export --plain``. It learns names a same-user
process could already list through the agent, and no key material.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from core.errors import ValidationError
from core.service.registry import ProgressFn, op

if TYPE_CHECKING:
    from core.secrets_manager import SecretsManager

MAX_LINES = 5000
"""Lines opened per request (the client sends batches; this bounds one reply)."""
MAX_LINE_BYTES = 64 * 1024
"""A trail line longer than this is not one the vault wrote: it is skipped."""


@op("audit_open")
def audit_open(
    manager: SecretsManager, lines: list[str], progress: ProgressFn | None = None
) -> list[dict[str, Any] | None]:
    """Each raw trail line opened (names and messages in clear), or None for a line that
    is not a JSON event. At most :data:`MAX_LINES` lines per call."""
    if not isinstance(lines, list) or len(lines) > MAX_LINES:
        raise ValidationError(f"audit_open takes a list of at most {MAX_LINES} lines")
    out: list[dict[str, Any] | None] = []
    for raw in lines:
        event = None
        if isinstance(raw, str) and len(raw) <= MAX_LINE_BYTES:
            try:
                event = json.loads(raw)
            except ValueError:
                event = None
        out.append(manager.audit_log.open(event) if isinstance(event, dict) else None)
    return out
