"""Round trips of full and incremental chains over random histories (Hypothesis).

For any sequence of writes, deletes, purges and (full or incremental) backups:
restoring backup k with ``exact=True`` yields exactly the live state at k, and without
it every secret of backup k gets its value back while secrets that did not exist at k
are left alone. History is never lost.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.backup import BackupManager
from core.errors import NotFoundError
from core.vault import Argon2Params, KeySource, Vault
from tests.backup.conftest import Clock, live_state

NAMES = st.sampled_from(["a", "b", "svc/db", "x.y", "z-1"])
VALUES = st.one_of(
    st.text(max_size=6),
    st.binary(max_size=6),
    st.dictionaries(st.text(max_size=3), st.integers(-5, 5), max_size=2),
)
DESCRIPTIONS = st.sampled_from(["", "first", "second"])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), NAMES, VALUES, DESCRIPTIONS),
        st.tuples(st.just("delete"), NAMES),
        st.tuples(st.just("purge"), NAMES),
        st.tuples(st.just("backup"), st.booleans()),
    ),
    min_size=1,
    max_size=22,
)


def _apply(vault: Vault, op: tuple[Any, ...]) -> None:
    kind = op[0]
    try:
        if kind == "put":
            vault.put(op[1], op[2], description=op[3])
        elif kind == "delete":
            vault.delete(op[1])
        elif kind == "purge":
            vault.purge(op[1])
    except NotFoundError:
        pass


def _history_lengths(vault: Vault) -> dict[str, int]:
    return {r.name: len(vault.history(r.name)) for r in vault.list(include_deleted=True)}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=OPS)
def test_restoring_backup_k_gives_the_state_at_k(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        vault = Vault.create(home / "vault.db", KeySource.passphrase("pw"), kdf=Argon2Params.fast())
        clock = Clock(datetime(2024, 1, 1, tzinfo=UTC))
        manager = BackupManager(vault, home / "backups", clock=clock)
        taken: list[tuple[str, dict[str, Any]]] = []
        try:
            for op in [*ops, ("backup", True)]:
                clock.advance(minutes=1)
                if op[0] == "backup":
                    path = manager.create_backup(f"b{len(taken)}", incremental=op[1])
                    taken.append((path.stem, live_state(vault)))
                else:
                    _apply(vault, op)
            for name, state in taken:
                before = live_state(vault)
                history_before = _history_lengths(vault)
                result = manager.restore_backup(name)
                assert result["errors"] == []
                after = live_state(vault)
                for secret, expected in state.items():
                    assert after[secret] == expected
                    assert type(after[secret][0]) is type(expected[0])
                for secret in set(before) - set(state):
                    assert after[secret] == before[secret]  # created later: left alone
                assert set(after) == set(before) | set(state)
                for secret, length in history_before.items():
                    if secret in after:
                        assert len(vault.history(secret)) >= length  # history kept

                result = manager.restore_backup(name, exact=True)
                assert result["errors"] == []
                assert live_state(vault) == state
                again = manager.restore_backup(name, exact=True, dry_run=True)
                assert again["counts"]["added"] == again["counts"]["changed"] == 0
                assert again["counts"]["deleted"] == 0
                assert again["counts"]["unchanged"] == len(state)
        finally:
            vault.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=OPS)
def test_point_in_time_picks_the_backup_of_that_moment(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        vault = Vault.create(home / "vault.db", KeySource.passphrase("pw"), kdf=Argon2Params.fast())
        clock = Clock(datetime(2024, 1, 1, tzinfo=UTC))
        manager = BackupManager(vault, home / "backups", clock=clock)
        taken: list[tuple[datetime, dict[str, Any]]] = []
        try:
            for op in [*ops, ("backup", False)]:
                clock.advance(hours=1)
                if op[0] == "backup":
                    manager.create_backup(f"b{len(taken)}", incremental=op[1])
                    taken.append((clock.now, live_state(vault)))
                else:
                    _apply(vault, op)
            for when, state in taken:
                # half an hour later: the same backup is still the newest one then
                manager.restore_backup(point_in_time=when + timedelta(minutes=30), exact=True)
                assert live_state(vault) == state
        finally:
            vault.close()
