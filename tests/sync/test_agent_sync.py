"""``vaultui --batch sync`` with a remote, run by the unlock agent: after one ``unlock``
a passphrase vault syncs with no passphrase configured, and reports as in-process."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.vault import Argon2Params, KeySource, Vault
from tests.batch.conftest import stop_agent_at
from tests.sync.conftest import ProviderFactory
from vaultui.cli import main

PASS = "correct horse battery"


@pytest.fixture
def pw_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home whose vault opens only with a passphrase (none configured); its agent is
    locked afterwards."""
    for k in list(os.environ):
        if k.startswith(("VAULTUI_", "VAULT_", "FEDZK_", "AWS_")):
            monkeypatch.delenv(k)
    h = tmp_path / "home"
    h.mkdir(mode=0o700)
    monkeypatch.setenv("VAULTUI_HOME", str(h))
    monkeypatch.setenv("VAULTUI_USER", "tester")
    vault = Vault.create(h / "vault.db", KeySource.passphrase(PASS), kdf=Argon2Params.fast())
    vault.put("db/password", "CANARY-0")
    vault.close()
    yield h
    stop_agent_at(h / "agent.sock")


def _run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(["--batch", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_sync_with_a_remote_through_the_agent(
    pw_home: Path, tmp_path: Path, capsys: Any, monkeypatch: Any, factory: ProviderFactory
) -> None:
    settings = factory.settings("hashicorp_vault")
    monkeypatch.setenv("VAULT_ADDR", settings.vault_addr)
    monkeypatch.setenv("VAULT_TOKEN", settings.vault_token)
    monkeypatch.setenv("VAULT_MOUNT_POINT", settings.vault_mount_point)
    code, _, err = _run(capsys, "sync", "--status")
    assert code == 4, err  # locked: no key, no agent, no terminal

    pw = tmp_path / "pw.txt"
    pw.write_text(PASS)
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw))
    assert _run(capsys, "unlock", "--ttl", "2m")[0] == 0
    monkeypatch.delenv("VAULTUI_PASSPHRASE_FILE")

    code, out, err = _run(capsys, "sync", "--provider", "hashicorp_vault", "--dry-run", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert code == 0 and plan["dry_run"] and plan["pushed"] == ["db/password"], err
    code, out, err = _run(capsys, "sync", "--provider", "hashicorp_vault", "--save")
    assert code == 0 and out.startswith("sync with hashicorp_vault (native), "), err
    assert "pushed (1): db/password" in out and "CANARY" not in out
    provider = factory.make("hashicorp_vault", reset=False)
    assert provider.get("db/password").value == "CANARY-0"
    provider.put("api/token", "tok-remote")
    code, out, err = _run(capsys, "sync", "--all", "--json")
    assert code == 0 and json.loads(out)["pulled"] == ["api/token"], err
    code, out, _ = _run(capsys, "sync", "--status", "--json")
    status = json.loads(out)
    assert status["config"]["remotes"] == [{"provider": "hashicorp_vault", "mode": "native"}]
    [remote] = status["remotes"].values()
    assert remote["ok"] and remote["last_sync"]
    code, out, _ = _run(capsys, "get", "api/token", "-n")
    assert (code, out) == (0, "tok-remote")
