"""A damaged alert rules file is reported as invalid input, never as a crash."""

from __future__ import annotations

from pathlib import Path

from core.errors import EXIT_USAGE
from tests.batch.conftest import run_vaultui


def test_rules_file_that_is_not_utf8_is_invalid_input(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "audit_alerts.json").write_bytes(b'["failures>2/1m", "caf\xe9"]')
    r = run_vaultui(home, "--batch", "set", "db/password", stdin=b"s3cret-value")
    assert r.code == EXIT_USAGE, r.err
    assert "audit_alerts.json is not valid UTF-8 text" in r.err
    assert "unexpected" not in r.err.lower()
    assert "Traceback" not in r.err
    assert "s3cret-value" not in r.err + r.out
