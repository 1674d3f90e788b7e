"""The fast write paths of restores: disaster recovery's bulk load writes exactly what
replaying every version through ``put_many`` writes, and a restore over many changed
secrets makes each one a new version, as a ``put`` per secret would."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from core.backup import BackupManager
from core.backup.recovery import backup_root_key, load_chain
from core.backup.restore import build_state, load_into_new
from core.errors import ValidationError
from core.vault import Argon2Params, KeySource, Vault
from tests.backup.conftest import PASSPHRASE, Clock
from tests.backup.reference import replay_reference


def _everything(vault: Vault) -> dict[str, Any]:
    """Every record's metadata and every version with its value, minus random uids and
    the "now" a tombstone is stamped with."""
    out = {}
    for rec in vault.list(include_deleted=True):
        fields = rec._asdict()
        fields.pop("uid")
        fields["deleted_ts"] = fields["deleted_ts"] is not None
        history = [(dataclasses.asdict(i), v) for i, v in vault.history_values(rec.name)]
        out[rec.name] = (fields, history)
    return out


def _entries(vault: Vault, backups: BackupManager, name: str) -> list[Any]:
    infos, damaged = backups._scan()
    info = next(b for b in infos if b.name == name)
    root = backup_root_key(vault.data_key_for_agent())
    _chain, bodies = load_chain(info, infos, root, vault.vault_id, damaged=damaged)
    return build_state(bodies, name)


def test_bulk_load_writes_what_a_replay_writes(tmp_path: Path, clock: Clock) -> None:
    ks = KeySource.passphrase(PASSPHRASE)
    source = Vault.create(tmp_path / "src" / "vault.db", ks, kdf=Argon2Params.fast())
    backups = BackupManager(source, tmp_path / "src" / "backups", clock=clock, user="tester")
    source.put("db/password", "v1", description="the db", tags={"env": "prod"}, who="ann")
    source.put("db/password", "v2", why="rotated", source="api")
    source.put("db/password", "v3")
    source.rollback("db/password", 1)
    source.put("cfg", {"host": "db", "port": 5432}, extra={"k": 1})
    source.update_meta("cfg", rotation={"policy": "30d"})
    source.put("blob", b"\x00\xff", tags=["a", "b"])
    source.stage_pending("blob", b"pending")  # an unfinished rotation: left out
    source.put("gone", "x")
    source.put("gone", "y")
    source.delete("gone")
    source.put("temp", "t")
    source.purge("temp")
    for i in range(30):
        source.put(f"many/s{i:02d}", f"value {i}", description=f"d{i}")
    backups.create_backup("full")
    entries = _entries(source, backups, "full")

    results = []
    for label, load in (("replay", replay_reference), ("bulk", load_into_new)):
        with Vault.create(
            tmp_path / label / "vault.db", ks, kdf=Argon2Params.fast(), device_id="new-machine"
        ) as vault:
            with vault.transaction():
                live = load(vault, entries, progress=lambda *_a: None)
            counts = vault.verify()
            results.append((sorted(live), vault.seq, counts["records"], counts["versions"]))
            results.append(_everything(vault))
    assert results[0] == results[2] and results[1] == results[3]
    state = results[3]
    assert len(state) == 34 and "temp" not in state
    assert [h[1] for h in state["db/password"][1]] == ["v1", "v2", "v3", "v1"]
    assert state["db/password"][1][0][0]["who"] == "ann"
    assert [h[1] for h in state["blob"][1]] == [b"\x00\xff"]
    assert state["gone"][0]["deleted"] and state["cfg"][0]["rotation"] == {"policy": "30d"}
    source.close()


def test_bulk_load_refuses_a_vault_in_use(tmp_path: Path, vault: Vault, backups) -> None:
    vault.put("a", "1")
    backups.create_backup("one")
    entries = _entries(vault, backups, "one")
    with pytest.raises(ValidationError):
        load_into_new(vault, entries)
    assert vault.get("a").record.version == 1


def test_restore_over_many_changed_secrets(vault: Vault, backups: BackupManager) -> None:
    names = [f"app/s{i:04d}" for i in range(700)]
    vault.put_many([(n, f"old {n}", {"description": "first", "tags": {"t": "1"}}) for n in names])
    vault.put("unchanged", "same")
    backups.create_backup("full")
    vault.put_many([(n, f"new {n}", {"description": "second", "tags": {}}) for n in names[::2]])
    vault.put_many([(n, f"new {n}") for n in names[1::2]])
    vault.delete(names[0])
    seen: list[tuple[str, int, int]] = []
    result = backups.restore_backup("full", progress=lambda *a: seen.append(a))
    assert result["errors"] == []
    assert result["counts"]["changed"] == 699 and result["counts"]["added"] == 1
    assert result["unchanged"] == ["unchanged"]
    assert seen[-1] == ("writing", 700, 700)
    for n in names:
        secret = vault.get(n)
        assert secret.value == f"old {n}"
        assert (secret.record.description, secret.record.tags) == ("first", {"t": "1"})
        history = vault.history(n)
        assert [h.version for h in history] == [1, 2, 3]
        assert (history[-1].source, history[-1].why) == ("backup", "restore from backup full")
        assert history[-1].who == "tester"
        assert secret.record.stages == {"PREVIOUS": 2}
    assert vault.get("unchanged").record.version == 1
    vault.verify()
    # restoring again finds nothing to change
    assert backups.restore_backup("full")["counts"]["changed"] == 0
