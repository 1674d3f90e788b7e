"""The audit trail as the seed facade (core.secrets_manager) drives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import WrongKeyError
from core.vault import KeySource

CANARY = "canary-7d1e0b44-facade-value"


def _log_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (home / "logs").iterdir() if p.is_file())


def test_facade_session_is_audited_value_free_and_verifiable(home: Path) -> None:
    from core.secrets_manager import SecretsManager

    secrets = SecretsManager()
    try:
        secrets.store_secret("db_password", CANARY, "Database password")
        assert secrets.retrieve_secret("db_password") == CANARY
        assert secrets.retrieve_secret("missing") is None
        secrets.list_secrets()
        secrets.delete_secret("db_password")
        stats = secrets.get_audit_stats("db_password")
        assert stats["total_accesses"] >= 3
        assert stats["failed_accesses"] == 0
        assert secrets.get_audit_stats("missing")["failed_accesses"] == 1
        events = secrets.audit_log.get_audit_events(secret_name="db_password")
        assert [e["operation"] for e in events][:2] == ["write", "read"]
        assert all(e["source"] == "api" for e in events)
        assert secrets.audit_log.verify().ok
    finally:
        secrets.close()
    assert CANARY.encode() not in _log_bytes(home)


def test_failed_unlock_is_recorded_without_a_key_and_sealed_later(home: Path) -> None:
    from core.secrets_manager import SecretsManager

    SecretsManager(key_source=KeySource.passphrase("right passphrase")).close()
    with pytest.raises(WrongKeyError):
        SecretsManager(key_source=KeySource.passphrase("wrong passphrase"))
    secrets = SecretsManager(key_source=KeySource.passphrase("right passphrase"))
    try:
        unlocks = secrets.audit_log.get_audit_events(operation="unlock")
        assert [e["success"] for e in unlocks][-2:] == [False, True]
        assert unlocks[-2]["kid"] is None and unlocks[-1]["kid"] is not None
        assert secrets.audit_log.verify().ok
    finally:
        secrets.close()
    assert b"wrong passphrase" not in _log_bytes(home)


def test_batch_audit_plugin_contract(home: Path) -> None:
    import argparse
    import io
    from contextlib import redirect_stdout

    from core.secrets_manager import SecretsManager
    from vaultui.batch.commands import audit as commands_audit

    parser = argparse.ArgumentParser(prog="vaultui")
    commands_audit.add_parser(parser.add_subparsers(dest="command"))
    secrets = SecretsManager(source="batch")
    try:
        secrets.store_secret("api_key", CANARY)
        secrets.retrieve_secret("api_key")
        for argv, code in (
            (["audit", "verify"], 0),
            (["audit", "report", "--format", "json"], 0),
            (["audit", "list", "--json"], 0),
        ):
            args = parser.parse_args(argv)
            out = io.StringIO()
            with redirect_stdout(out):
                assert args.handler(args, secrets) == code
            assert CANARY not in out.getvalue()
        args = parser.parse_args(["audit", "report", "--format", "json"])
        out = io.StringIO()
        with redirect_stdout(out):
            args.handler(args, secrets)
        import json

        doc = json.loads(out.getvalue())
        assert [s["name"] for s in doc["rotation"]["never_rotated"]] == ["api_key"]
    finally:
        secrets.close()
