"""The provider-sync skeleton and its typed cursors: both modes take the same five
steps, and a cursor left in a vault file by an earlier version is read and written
back in exactly the same form (so an upgrade does not make the next sync start over)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.errors import AuditError
from core.sync.cursors import NameCursor, NativeCursor, RecordCursor, SealedCursor
from core.sync.native import sync_native
from core.sync.report import load_json, save_json
from core.sync.sealed import sync_sealed
from core.sync.skeleton import ProviderSync
from core.vault import Argon2Params, KeySource, Vault
from tests.sync.conftest import ProviderFactory


@pytest.fixture
def vault(tmp_path: Path, key: KeySource) -> Vault:
    v = Vault.create(tmp_path / "a" / "vault.db", key, kdf=Argon2Params.fast())
    v.put("db/password", "Pa55-word-91")
    v.put("api/token", {"id": "x", "secret": "y"})
    return v


class _Steps(ProviderSync):
    """A mode that only records which steps ran."""

    mode = "steps"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ran: list[str] = []

    def load_state(self) -> None:
        self.ran.append("load_state")

    def list_changes(self) -> None:
        self.ran.append("list_changes")

    def plan(self) -> None:
        self.ran.append("plan")
        self.tick(0, 1, "compare")

    def apply(self) -> None:
        self.ran.append("apply")
        self.report.pushed.extend(self.map(str.upper, ["a", "b", "c"]))

    def save_state(self) -> None:
        self.ran.append("save_state")
        self.write_audit([{"operation": "sync_push", "secret_name": "a"}])

    def remote_calls(self) -> int:
        return 7


class _Provider:
    name = "local"
    display_name = "Local"
    max_workers = 2


class _BrokenAudit:
    def log_many(self, events: list[dict[str, Any]]) -> None:
        raise AuditError("the audit log is full")


def test_the_skeleton_takes_the_five_steps_in_order(vault: Vault) -> None:
    seen: list[tuple[int, int, str]] = []
    run = _Steps(vault, _Provider(), progress=lambda *a: seen.append(a), audit=_BrokenAudit())
    report = run.run()
    assert run.ran == ["load_state", "list_changes", "plan", "apply", "save_state"]
    # a failing audit log is warned about, never fails the sync
    assert report.ok and report.pushed == ["A", "B", "C"] and report.remote_calls == 7
    assert seen == [(0, 1, "compare")]
    assert run.cursor_key == f"sync/{report.remote}" and report.mode == "steps"


def test_a_dry_run_takes_every_step_but_saving(vault: Vault) -> None:
    run = _Steps(vault, _Provider(), dry_run=True)
    assert run.run().dry_run
    assert run.ran == ["load_state", "list_changes", "plan", "apply"]


def test_cursors_read_the_stored_form_of_earlier_versions() -> None:
    native = {
        "seq": 12,
        "names": {
            "a": {"v": "3", "u": None, "g": "g1", "r": 4},
            "b": {"v": None, "u": None, "g": None, "r": 2, "gone": True},
        },
    }
    parsed = NativeCursor.from_json(native)
    assert parsed.names["a"] == NameCursor(version="3", gid="g1", rev=4)
    assert parsed.names["b"].gone and parsed.to_json() == native
    sealed = {
        "seq": 5,
        "shards": {"a": 2},
        "recs": {"ab": [3, "v7", 9, None], "cd": [1, "v1", 2, ["f00d", 3]]},
        "slots": [["pass", "{}", "AAE="]],
    }
    parsed_sealed = SealedCursor.from_json(sealed)
    assert parsed_sealed.recs["cd"] == RecordCursor(1, "v1", 2, ("f00d", 3))
    assert parsed_sealed.slots == [("pass", "{}", b"\x00\x01")]
    assert parsed_sealed.to_json() == sealed
    # damaged parts only make the next sync read more; they never stop it
    damaged = SealedCursor.from_json({"seq": "x", "recs": {"ab": [3]}, "slots": [["k"]]})
    assert damaged.seq == 0 and damaged.recs["ab"] == RecordCursor(3) and damaged.slots == []
    assert NativeCursor.from_json({"names": {"a": "junk"}}).names["a"].gone


@pytest.mark.parametrize("mode", ["native", "sealed"])
def test_a_cursor_saved_by_a_sync_round_trips_and_the_next_sync_reads_no_value(
    factory: ProviderFactory, vault: Vault, mode: str
) -> None:
    fn = sync_native if mode == "native" else sync_sealed
    report = fn(vault, factory.make("hashicorp_vault"))
    assert report.ok and len(report.pushed) == 2
    key = f"sync/{report.remote}"
    stored = load_json(vault, key)
    typed = NativeCursor if mode == "native" else SealedCursor
    assert typed.from_json(stored).to_json() == stored  # type: ignore[attr-defined]
    # the stored form, written back as an earlier version would have left it
    save_json(vault, key, stored)
    again = fn(vault, factory.make("hashicorp_vault", reset=False))
    assert again.ok and again.values_read == 0 and not again.pushed and not again.pulled
