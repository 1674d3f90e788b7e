"""The environment-variable table (rendered in the docs) matches what the code reads."""

from __future__ import annotations

import re
from pathlib import Path

from core.config import Settings
from core.env_vars import ENV_VARS, markdown_table

ROOT = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"""["']((?:VAULTUI|FEDZK|VAULT|AWS|AZURE|GOOGLE|GCP)_[A-Z0-9_]*[A-Z0-9])["']""")
NOT_VARIABLES = {"VAULTUI_PENDING"}  # an AWS staging label, not an environment variable


def _names_in_code() -> set[str]:
    names: set[str] = set()
    for folder in ("core", "vaultui"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "env_vars.py":
                continue
            names |= set(_NAME.findall(path.read_text(encoding="utf-8")))
    return names - NOT_VARIABLES


def test_every_variable_the_code_reads_is_documented() -> None:
    documented = {v.name for v in ENV_VARS}
    assert _names_in_code() - documented == set()


def test_every_documented_variable_is_read_by_the_code() -> None:
    documented = {v.name for v in ENV_VARS}
    assert documented - _names_in_code() == set()


def test_documented_defaults_are_the_settings_defaults() -> None:
    s = Settings.from_env({"VAULTUI_HOME": "/nonexistent"})
    shown = {v.name: v.default for v in ENV_VARS}
    for name, value in [
        ("VAULTUI_CLIPBOARD_CLEAR", s.clipboard_clear_seconds),
        ("VAULTUI_IDLE_LOCK", s.idle_lock_seconds),
        ("VAULTUI_ROTATION_INTERVAL", s.rotation_interval_seconds),
        ("VAULTUI_SYNC_INTERVAL", s.sync_interval_seconds),
        ("VAULT_MOUNT_POINT", s.vault_mount_point),
        ("FEDZK_LOG_LEVEL", s.log_level),
        ("FEDZK_SECRETS_PROVIDER", s.provider),
    ]:
        assert shown[name].startswith(f"`{value}`"), (name, shown[name], value)
    assert "`us-east-1`" in shown["AWS_REGION"] and s.aws_region == "us-east-1"
    assert shown["VAULTUI_AGENT_SOCKET"] == "`$VAULTUI_HOME/agent.sock`"
    assert s.agent_socket_path == Path("/nonexistent/agent.sock")


def test_markdown_table_lists_every_variable_once() -> None:
    lines = markdown_table().splitlines()
    for v in ENV_VARS:
        assert sum(line.startswith(f"| `{v.name}` |") for line in lines) == 1, v.name
