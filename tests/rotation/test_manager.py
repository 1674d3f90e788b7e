"""Staged rotation against a real vault file: PENDING -> hooks -> CURRENT/PREVIOUS,
failures that leave CURRENT alone, ON_ACCESS, the overdue-once rule and the worker."""

from __future__ import annotations

import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import ConflictError, NotFoundError, RotationError, ValidationError
from core.rotation import HookConfig, RotationManager, SecretRotationPolicy

from .conftest import START

PY = sys.executable


def hook_script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text("import json, os, sys, time\n" + body)
    return f"{PY} {path}"


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def put(vault, name, value, **kw):
    return vault.put(name, value, at=START, **kw)


def test_rotation_stages_then_promotes_and_keeps_previous(vault, manager, audit, tmp_path):
    put(vault, "api_key", "sk-123456789")
    seen = tmp_path / "seen.json"
    verify = hook_script(
        tmp_path,
        "verify",
        f"""
import json
payload = json.load(sys.stdin)
open({str(seen)!r}, "w").write(json.dumps({{"pending": payload["pending_version"],
     "current": payload["current_version"]}}))
""",
    )
    manager.set_policy("api_key", "DAILY", generator="token:hex:16", hooks={"verify": verify})
    result = manager.rotate("api_key")
    assert result.rotated and result.version == 2 and result.previous_version == 1
    new = vault.get("api_key").value
    assert len(new) == 32 and new != "sk-123456789"
    assert vault.get("api_key", stage="PREVIOUS").value == "sk-123456789"
    assert "PENDING" not in vault.record("api_key").stages
    # the verify hook ran while the new value was PENDING
    assert seen.read_text() == '{"pending": 2, "current": 1}'
    info = manager.info("api_key")
    assert info.last_rotated == START and info.last_error is None
    assert audit.of("rotate", "api_key") == [
        {"operation": "rotate", "secret_name": "api_key", "success": True, "version": 2}
    ]
    history = vault.history("api_key")
    assert [h.why for h in history] == ["", "rotation (manual)"]
    assert history[-1].who == "tester"


@pytest.mark.parametrize("step", ["apply", "verify"])
def test_a_failing_hook_leaves_current_untouched(vault, manager, audit, tmp_path, step):
    put(vault, "db/password", "the-current-password")
    bad = hook_script(
        tmp_path,
        "bad",
        'v = json.load(sys.stdin); print("rejected", v["new"]); sys.exit(4)',
    )
    manager.set_policy("db/password", "HOURLY", hooks={step: bad})
    with pytest.raises(RotationError) as info:
        manager.rotate("db/password")
    message = str(info.value)
    assert f"{step} hook exited with status 4" in message
    assert "the-current-password" not in message
    assert vault.get("db/password").value == "the-current-password"
    record = vault.record("db/password")
    assert record.version == 1 and "PENDING" not in record.stages
    with pytest.raises(NotFoundError):
        vault.get("db/password", stage="PENDING")
    failed = audit.of("rotate", "db/password")
    assert len(failed) == 1 and failed[0]["success"] is False
    assert f"{step} hook exited with status 4" in failed[0]["error_message"]
    assert "[REDACTED]" in failed[0]["error_message"]
    stored = manager.info("db/password")
    assert stored.failures == 1 and stored.last_error == failed[0]["error_message"]
    assert manager.status("db/password").state == "failed"
    assert [f.name for f in manager.recent_failures()] == ["db/password"]


def test_a_timed_out_hook_fails_the_rotation(vault, manager, tmp_path):
    put(vault, "token", "abcdefgh")
    manager.set_policy("token", "DAILY", hooks=HookConfig(apply="sleep 5", timeout=0.3))
    result = manager.rotate("token", raise_errors=False)
    assert not result.rotated and "apply hook timed out" in result.error
    assert vault.get("token").value == "abcdefgh"


def test_success_after_failure_clears_the_error(vault, manager, tmp_path):
    put(vault, "k", "value-1")
    manager.set_policy("k", "DAILY", hooks={"verify": "false"})
    assert manager.rotate("k", raise_errors=False).error
    manager.set_policy("k", "DAILY", hooks={"verify": None})
    assert manager.rotate("k").rotated
    info = manager.info("k")
    assert info.last_error is None and info.failures == 0
    assert manager.status("k").state == "ok"


def test_a_value_changed_during_rotation_wins(vault, audit, clock):
    put(vault, "k", "before")

    def meanwhile(name, value):  # runs between the hooks and promotion
        vault.put(name, "typed by hand")

    mgr = RotationManager(vault, audit=audit, clock=clock, env={}, publish=meanwhile)
    mgr.set_policy("k", "DAILY")
    result = mgr.rotate("k", raise_errors=False)
    assert not result.rotated
    assert vault.get("k").value == "typed by hand"
    assert "PENDING" not in vault.record("k").stages
    assert "changed while it was being rotated" in audit.of("rotate", "k")[-1]["error_message"]


def test_field_generator_rotates_one_field(vault, manager):
    put(
        vault,
        "database_config",
        {"host": "db.internal", "port": 5432, "username": "app", "password": "old"},
    )
    manager.set_policy("database_config", "WEEKLY")  # guessed: field:password:password
    manager.rotate("database_config")
    new = vault.get("database_config").value
    assert (new["host"], new["port"], new["username"]) == ("db.internal", 5432, "app")
    assert new["password"] != "old" and len(new["password"]) == 32


def test_worker_down_for_many_periods_rotates_once(vault, manager, clock):
    put(vault, "hourly", "v")
    manager.set_policy("hourly", SecretRotationPolicy.HOURLY)
    assert manager.due() == []
    clock.advance(hours=10, minutes=30)  # ten missed periods
    assert manager.due() == ["hourly"]
    assert manager.status("hourly").state == "overdue"
    results = manager.rotate_due()
    assert [r.rotated for r in results] == [True]
    assert manager.rotate_due() == []  # not once per missed period
    assert vault.record("hourly").version == 2
    assert manager.status("hourly").next_due == clock.now + timedelta(hours=1)
    clock.advance(minutes=59)
    assert manager.due() == []
    clock.advance(minutes=1)
    assert manager.due() == ["hourly"]
    assert manager.status("hourly").state == "due"


def test_due_lists_time_based_secrets_most_overdue_first(vault, manager, clock):
    for name in ("a", "b", "c", "d", "e"):
        put(vault, name, "value")
    manager.set_policy("a", "DAILY")
    manager.set_policy("b", "12h")
    manager.set_policy("c", "NEVER")
    manager.set_policy("d", "ON_ACCESS")
    clock.advance(days=2)
    assert manager.due() == ["b", "a"]
    assert [s.name for s in manager.schedule()] == ["b", "a", "c", "d"]  # e has no policy
    assert {s.name: s.policy for s in manager.schedule()} == {
        "a": "DAILY",
        "b": "12h",
        "c": "NEVER",
        "d": "ON_ACCESS",
    }


def test_due_follows_every_change_after_the_first_listing(vault, manager, clock, monkeypatch):
    """The worker lists the vault once (~1.2 s of CPU at 100,000 secrets); later checks
    read only what changed, and still see new policies, removed ones, new values,
    deletes and purges."""
    for name in ("a", "b", "c", "gone", "purged"):
        put(vault, name, "value")
        manager.set_policy(name, "DAILY")
    clock.advance(days=2)
    assert manager.due() == ["a", "b", "c", "gone", "purged"]

    def no_full_listing(*_a, **_k):
        raise AssertionError("listed the whole vault again")

    monkeypatch.setattr(vault, "list", no_full_listing)
    put(vault, "new", "value")
    manager.set_policy("new", "12h")
    manager.set_policy("b", "NEVER")
    manager.rotate("c", reason="test")  # rotated now: not due any more
    vault.delete("gone")
    vault.delete("purged")
    vault.purge("purged")
    clock.advance(hours=13)
    assert manager.due() == ["new", "a"]  # 12h after START is longer ago than a day
    assert {s.name for s in manager.schedule()} == {"a", "b", "c", "new"}


def test_a_primed_manager_never_lists_the_vault(vault, manager, clock, monkeypatch):
    """The app hands the worker the browser's own listing: the first check then reads
    only what changed after it."""
    for name in ("a", "b"):
        put(vault, name, "value")
    manager.set_policy("a", "DAILY")
    seq = vault.seq
    listing = vault.list()
    manager.set_policy("b", "DAILY")  # after the listing: found through changes_since
    monkeypatch.setattr(vault, "list", lambda *a, **k: pytest.fail("listed the vault"))
    manager.prime(listing, seq)
    manager.prime([], seq - 1)  # an older listing changes nothing
    clock.advance(days=2)
    assert manager.due() == ["a", "b"]


def test_on_access_returns_current_then_a_new_value(vault, manager, audit):
    put(vault, "one_time", "first-value")
    manager.set_policy("one_time", "ON_ACCESS")
    read1 = vault.get("one_time").value
    manager.after_access("one_time")
    read2 = vault.get("one_time").value
    manager.after_access("one_time")
    read3 = vault.get("one_time").value
    assert read1 == "first-value"
    assert len({read1, read2, read3}) == 3
    assert manager.due() == []  # ON_ACCESS is never due by time
    assert len(audit.of("rotate", "one_time")) == 2


def test_after_access_ignores_other_policies(vault, manager):
    put(vault, "daily", "x")
    manager.set_policy("daily", "DAILY")
    assert manager.after_access("daily") is None
    assert manager.after_access("missing") is None
    assert vault.record("daily").version == 1


def test_set_policy_keeps_or_replaces_generator_and_hooks(vault, manager, audit):
    put(vault, "k", "v")
    manager.set_policy("k", "DAILY", generator="uuid", hooks={"apply": "true", "verify": "true"})
    info = manager.set_policy("k", "90d")
    assert info.policy == timedelta(days=90) and info.generator == "uuid"
    assert (info.hooks.apply, info.hooks.verify) == ("true", "true")
    info = manager.set_policy("k", "weekly", generator="", hooks={"apply": None, "timeout": 5})
    assert info.generator is None and info.hooks.apply is None and info.hooks.verify == "true"
    assert info.hooks.timeout == 5
    info = manager.set_policy("k", "weekly", hooks=HookConfig())
    assert not info.hooks.configured
    assert vault.record("k").rotation["policy"] == "weekly"
    assert len(audit.of("update_metadata", "k")) == 4


def test_set_policy_validates_before_writing(vault, manager):
    put(vault, "k", "v")
    rev = vault.record("k").rev
    for kwargs in (
        {"policy": "sometimes"},
        {"policy": "DAILY", "generator": "password:length=2"},
        {"policy": "DAILY", "hooks": {"apply": "sh -c 'oops"}},
        {"policy": "DAILY", "hooks": {"colour": "red"}},
    ):
        with pytest.raises(ValidationError):
            manager.set_policy("k", **kwargs)
    assert vault.record("k").rev == rev
    with pytest.raises(NotFoundError):
        manager.set_policy("nope", "DAILY")


def test_policy_is_stored_where_the_facade_reads_it(vault, manager):
    put(vault, "k", "v")
    manager.set_policy("k", "DAILY", generator="token:hex:16")
    manager.rotate("k")
    rotation = vault.record("k").rotation
    assert rotation["policy"] == "daily"
    assert rotation["generator"] == "token:hex:16"
    assert rotation["last_rotated"] == START.isoformat()


def test_two_threads_never_rotate_one_secret_at_once(vault, manager, tmp_path):
    put(vault, "k", "v")
    manager.set_policy("k", "DAILY", hooks={"apply": hook_script(tmp_path, "a", "time.sleep(0.6)")})
    results = []
    barrier = threading.Barrier(3)

    def rotate() -> None:
        barrier.wait()
        results.append(manager.rotate("k", raise_errors=False))

    threads = [threading.Thread(target=rotate) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.rotated for r in results) == [False, False, True]
    assert vault.record("k").version == 2
    other = RotationManager(vault, clock=manager.clock, env={})
    t = threading.Thread(target=lambda: manager.rotate("k"))
    t.start()
    try:
        wait_for(lambda: other.leases.holders())
        with pytest.raises(ConflictError):
            other.rotate("k")  # another worker (owner) while the lease is held
    finally:
        t.join()


def test_state_running_while_a_rotation_holds_the_lease(vault, manager, tmp_path):
    put(vault, "k", "v")
    manager.set_policy("k", "DAILY", hooks={"apply": hook_script(tmp_path, "a", "time.sleep(0.5)")})
    t = threading.Thread(target=lambda: manager.rotate("k"))
    t.start()
    observer = RotationManager(vault, clock=manager.clock, env={})
    wait_for(lambda: observer.leases.holders())
    assert observer.status("k").state == "running"
    assert observer.status("k").holder == manager.owner
    t.join()
    assert observer.status("k").state == "ok"


def test_nothing_secret_in_reprs_errors_or_audit(vault, manager, audit, tmp_path):
    put(vault, "k", "super-secret-current-value")
    manager.set_policy(
        "k",
        "DAILY",
        hooks={"verify": hook_script(tmp_path, "v", "print(json.load(sys.stdin)); sys.exit(1)")},
    )
    result = manager.rotate("k", raise_errors=False)
    text = repr(manager) + repr(result) + repr(manager.schedule()) + repr(audit.events)
    text += repr(manager.get_status()) + repr(manager.info("k"))
    assert "super-secret-current-value" not in text
    assert "[REDACTED]" in result.error


def test_worker_thread_starts_checks_and_stops(vault, audit, clock):
    put(vault, "k", "v")
    mgr = RotationManager(
        vault, audit=audit, clock=clock, interval_seconds=0.05, jitter=0.2, env={}
    )
    mgr.set_policy("k", "HOURLY")
    clock.advance(hours=2)
    assert not mgr.is_running and mgr.get_status()["rotation_active"] is False
    mgr.start_rotation_scheduler()
    assert mgr.is_running and mgr.get_status()["rotation_active"] is True
    deadline = time.monotonic() + 5
    while vault.record("k").version < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    while mgr.get_status()["cycles"] < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert vault.record("k").version == 2  # rotated once although checked many times
    assert mgr.workers()  # the heartbeat is visible through the vault
    mgr.stop_rotation_scheduler()
    assert not mgr.is_running
    assert mgr.workers() == {}
    mgr.start_rotation_scheduler()  # can start again
    assert mgr.is_running
    mgr.stop_rotation_scheduler()
    assert not mgr.is_running


def test_run_daemon_counts_cycles_and_next_delay_has_jitter(vault, clock):
    mgr = RotationManager(vault, clock=clock, interval_seconds=100, jitter=0.1, env={})
    delays = {round(mgr.next_delay(), 3) for _ in range(50)}
    assert len(delays) > 1 and all(90 <= d <= 110 for d in delays)
    assert mgr.run_daemon(max_cycles=1) == 1
    assert mgr.get_status()["last_check"] == clock.now.isoformat()
    assert not mgr.is_running


def test_run_daemon_first_delay_waits_and_a_stop_cuts_it_short(vault, clock):
    mgr = RotationManager(vault, clock=clock, interval_seconds=100, env={})
    started = time.monotonic()
    assert mgr.run_daemon(max_cycles=1, first_delay=0.3) == 1  # checked once, after the wait
    assert time.monotonic() - started >= 0.3
    threading.Timer(0.2, mgr.request_stop).start()
    started = time.monotonic()
    assert mgr.run_daemon(first_delay=60) == 0  # stopped during the wait: no check at all
    assert time.monotonic() - started < 30
    assert not mgr.is_running


def test_bad_worker_settings():
    for kwargs in ({"interval_seconds": 0}, {"jitter": 1.5}):
        with pytest.raises(ValidationError):
            RotationManager(object(), **kwargs)


def test_rotating_a_missing_secret(manager):
    with pytest.raises(NotFoundError):
        manager.rotate("missing")


def test_the_manager_works_without_an_audit_sink(vault, clock):
    put(vault, "k", "v")
    mgr = RotationManager(vault, clock=clock, env={})
    mgr.set_policy("k", "DAILY")
    assert mgr.rotate("k").rotated and vault.get("k").value != "v"


def test_publish_runs_after_the_hooks_and_can_fail_the_rotation(vault, audit, clock):
    from core.errors import ProviderUnavailableError

    put(vault, "k", "v1")
    published = []
    mgr = RotationManager(
        vault,
        audit=audit,
        clock=clock,
        env={},
        publish=lambda name, value: published.append((name, value)),
    )
    mgr.set_policy("k", "DAILY", generator="uuid")
    mgr.rotate("k")
    assert published == [("k", vault.get("k").value)]

    def down(name, value):
        raise ProviderUnavailableError("HashiCorp Vault connection failed")

    mgr.publish = down
    current = vault.get("k").value
    result = mgr.rotate("k", raise_errors=False)
    assert result.error == "HashiCorp Vault connection failed"
    assert vault.get("k").value == current and "PENDING" not in vault.record("k").stages


_POLICIES = ["hourly", "daily", "weekly", "monthly", "never", "on_access", "90d", "12h", "45m"]


@pytest.mark.parametrize("seed", range(6))
def test_due_agrees_with_next_due_for_any_policy_and_times(vault, manager, seed):
    """due() works in epoch seconds for speed; it must list exactly the secrets whose
    next_due() (datetimes) is at or before now, most overdue first."""
    import random

    from core.rotation.info import parse_time
    from core.rotation.policy import next_due, parse_stored_policy

    rnd = random.Random(seed)
    for i in range(40):
        created = START + timedelta(minutes=rnd.randrange(0, 60 * 24 * 40))
        rotation = {"policy": rnd.choice(_POLICIES)}
        if rnd.random() < 0.5:
            last = created + timedelta(seconds=rnd.randrange(0, 86400 * 20))
            rotation["last_rotated"] = last.isoformat()
        vault.put(f"s{i:02d}", "v", at=created, rotation=rotation)
    for _ in range(5):
        now = START + timedelta(seconds=rnd.randrange(0, 86400 * 80))
        expected = []
        for rec in vault.list():
            policy = parse_stored_policy(rec.rotation["policy"])
            last = parse_time(rec.rotation.get("last_rotated"))
            when = next_due(policy, last, rec.created_at) if policy is not None else None
            if when is not None and when <= now:
                expected.append((when, rec.name))
        assert manager.due(now) == [name for _w, name in sorted(expected)]
