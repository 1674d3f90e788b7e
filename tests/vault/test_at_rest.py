"""Properties 1 and 2: one file at rest, nothing readable in it, private permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.vault import Vault


def test_the_file_holds_no_name_value_description_or_tag(vault: Vault) -> None:
    canaries = {
        "name": "payments/stripe_live_key",
        "value": "CANARY-VALUE-7f3a9",
        "description": "CANARY-DESCRIPTION-b1",
        "tagk": "CANARYTAGKEY",
        "tagv": "CANARYTAGVALUE",
        "field": "CANARYFIELD",
    }
    vault.put(
        canaries["name"],
        canaries["value"],
        description=canaries["description"],
        tags={canaries["tagk"]: canaries["tagv"]},
    )
    vault.put("cfg", {canaries["field"]: canaries["value"] + "-dict"})
    vault.put(canaries["name"], canaries["value"] + "-v2")
    vault.delete("cfg")
    data = vault.path.read_bytes()
    for text in canaries.values():
        assert text.encode() not in data, text
        assert text.encode("utf-16-le") not in data
    assert b"stripe" not in data and b"payments" not in data


def test_one_file_at_rest_with_private_permissions(tmp_path: Path, vault: Vault) -> None:
    for i in range(20):
        vault.put(f"s{i}", "v")
    vault.close()
    files = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("vault.db"))
    assert files == ["vault.db"]  # no -journal / -wal left behind
    assert stat.S_IMODE(os.stat(tmp_path / "vault.db").st_mode) == 0o600
