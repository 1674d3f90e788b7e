"""``vaultui --batch merge`` and ``vaultui --batch sync``, run through the real CLI."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from core.vault import Argon2Params, KeySource, Vault
from tests.sync.conftest import ProviderFactory
from vaultui.cli import main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A vault home with a key file and two secrets; the environment points at it."""
    for k in list(os.environ):
        if k.startswith(("VAULTUI_", "VAULT_", "FEDZK_", "AWS_")):
            monkeypatch.delenv(k)
    h = tmp_path / "home"
    monkeypatch.setenv("VAULTUI_HOME", str(h))
    monkeypatch.setenv("VAULTUI_USER", "tester")
    h.mkdir()
    vault = Vault.create(h / "vault.db", _key(h), kdf=Argon2Params.fast())
    vault.put("db/password", "CANARY-0")
    vault.put("api/token", "tok-0")
    vault.close()
    return h


def _key(h: Path) -> KeySource:
    from core.vault import write_new_key_file

    path = h / "vault.key"
    if not path.exists():
        write_new_key_file(path)
    return KeySource.from_key_file(path)


def _diverge(h: Path) -> Path:
    """A copy of the vault brought back on a USB stick, both sides edited (not named
    like a file-sync service's conflict copy, which every command merges unasked)."""
    copy = h / "usb-copy.db"
    shutil.copy(h / "vault.db", copy)
    mine = Vault.open(h / "vault.db", _key(h))
    mine.put("db/password", "CANARY-mine")
    mine.close()
    other = Vault.open(copy, _key(h), device_id="phone")
    other.put("db/password", "CANARY-theirs")
    other.put("from/phone", "CANARY-new")
    other.close()
    return copy


def _run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(["--batch", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_merge_plan_then_merge_then_resolve(home: Path, capsys: Any, monkeypatch: Any) -> None:
    copy = _diverge(home)
    code, out, _ = _run(capsys, "merge", "--find")
    assert code == 0 and str(copy) not in out  # only services' conflict copies are listed
    code, out, _ = _run(capsys, "merge", str(copy), "--dry-run")
    assert code == 0 and out.startswith("plan for merge") and "from/phone" in out
    code, out, _ = _run(capsys, "get", "from/phone")
    assert code == 3  # the plan wrote nothing
    code, out, err = _run(capsys, "merge", str(copy), "--json")
    data = json.loads(out)
    assert code == 0 and data["added"] == ["from/phone"] and data["updated"] == ["db/password"]
    [conflict] = data["conflicts"]
    assert (conflict["field"], conflict["winner"]) == ("value", "other")
    assert "CANARY" not in out + err
    _, out, _ = _run(capsys, "get", "db/password")
    assert out.strip() == "CANARY-theirs"
    code, out, _ = _run(capsys, "sync", "--conflicts", "--json")
    [entry] = json.loads(out)
    assert entry["name"] == "db/password" and "CANARY" not in out
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"CANARY-merged\n")))
    code, out, err = _run(capsys, "sync", "--resolve", entry["id"], "--take", "merged")
    assert code == 0 and "CANARY" not in out + err
    _, out, _ = _run(capsys, "get", "db/password")
    assert out.strip() == "CANARY-merged"
    code, out, _ = _run(capsys, "sync", "--conflicts")
    assert out.strip() == "no open conflicts"
    code, _, err = _run(capsys, "sync", "--resolve", entry["id"], "--take", "mine")
    assert code == 3 and "No open sync conflict" in err


def test_merge_refuses_a_file_of_another_vault(home: Path, tmp_path: Path, capsys: Any) -> None:
    stranger = Vault.create(
        tmp_path / "x" / "vault.db", KeySource.passphrase("x"), kdf=Argon2Params.fast()
    )
    stranger.close()
    code, _, err = _run(capsys, "merge", str(tmp_path / "x" / "vault.db"))
    assert code == 1 and "not a copy of this vault" in err
    code, _, err = _run(capsys, "merge", str(tmp_path / "missing.db"))
    assert code == 3
    code, _, err = _run(capsys, "merge")
    assert code == 2


def test_sync_native_plan_save_all_and_status(
    home: Path, capsys: Any, monkeypatch: Any, factory: ProviderFactory
) -> None:
    settings = factory.settings("hashicorp_vault")
    monkeypatch.setenv("VAULT_ADDR", settings.vault_addr)
    monkeypatch.setenv("VAULT_TOKEN", settings.vault_token)
    monkeypatch.setenv("VAULT_MOUNT_POINT", settings.vault_mount_point)
    code, out, _ = _run(capsys, "sync", "--provider", "hashicorp_vault", "--dry-run", "--json")
    plan = json.loads(out)
    assert code == 0 and plan["dry_run"] and sorted(plan["pushed"]) == ["api/token", "db/password"]
    provider = factory.make("hashicorp_vault", reset=False)
    assert list(provider.list()) == []
    code, out, _ = _run(capsys, "sync", "--provider", "hashicorp_vault", "--save")
    assert code == 0 and "pushed (2)" in out and "CANARY" not in out
    assert provider.get("db/password").value == "CANARY-0"
    provider.put("api/token", "tok-remote")
    code, out, _ = _run(capsys, "sync", "--all", "--json")
    assert json.loads(out)["pulled"] == ["api/token"]
    code, out, _ = _run(capsys, "sync", "--interval", "300")
    assert code == 0
    code, out, _ = _run(capsys, "sync", "--status", "--json")
    status = json.loads(out)
    assert status["config"] == {
        "remotes": [{"provider": "hashicorp_vault", "mode": "native"}],
        "interval": 300,
    }
    [remote] = status["remotes"].values()
    assert remote["pending_local"] == 0 and remote["ok"] and remote["last_sync"]
    code, _, err = _run(capsys, "sync")
    assert code == 2 and "--provider" in err
