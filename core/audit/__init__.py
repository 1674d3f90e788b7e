"""The tamper-evident audit trail: one chained JSON line per operation, queries and
stats through a lazily built index, chain verification, alerts and compliance reports.

    from core.audit import AuditLog
    audit = AuditLog(home / "logs" / "secrets_audit.log", vault.derive_key("audit"))
    audit.log("read", "db/password", version=3)
    audit.get_audit_events(secret_name="db/password", operation="read")
    audit.stats("db/password")["total_accesses"]
    audit.verify().ok

No Textual import here; the app's pane builds on :class:`EventView`.
"""

from core.audit.alerts import DEFAULT_RULES, AlertRule, load_rules, load_rules_file
from core.audit.log import AuditLog
from core.audit.verify import Issue, VerifyCursor, VerifyReport
from core.audit.view import EventView, Filters, Row

__all__ = [
    "DEFAULT_RULES",
    "AlertRule",
    "AuditLog",
    "EventView",
    "Filters",
    "Issue",
    "Row",
    "VerifyCursor",
    "VerifyReport",
    "load_rules",
    "load_rules_file",
]
