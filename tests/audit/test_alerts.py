"""Alert rules fire when they should, stay quiet otherwise, and reach the hook."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from core.audit import AlertRule, load_rules
from core.audit.alerts import DEFAULT_RULES
from core.errors import ValidationError

from .conftest import Clock

FAIL3 = AlertRule("fail3", "failures", 3, timedelta(minutes=10))
VOL5 = AlertRule("vol5", "volume", 5, timedelta(hours=1))


def _alerts(log) -> list[dict]:
    return log.get_audit_events(operation="alert")


def test_failure_rule_fires_on_the_threshold_plus_one(make_log, clock: Clock) -> None:
    log = make_log(clock=clock, alert_rules=[FAIL3])
    for _ in range(3):
        log.log("read", "db/password", success=False, error_message="wrong key")
        clock.advance(seconds=30)
    assert _alerts(log) == []  # 3 is not "more than 3"
    log.log("read", "db/password", success=False, error_message="wrong key")
    alerts = _alerts(log)
    assert len(alerts) == 1
    a = alerts[0]
    assert a["secret_name"] == "db/password" and a["rule"] == "fail3" and a["count"] == 4
    assert a["success"] is True and "4 failed operations on 'db/password'" in a["message"]
    assert a["trigger"]["operation"] == "read"


def test_failure_rule_quiet_for_successes_other_secrets_and_old_failures(
    make_log, clock: Clock
) -> None:
    log = make_log(clock=clock, alert_rules=[FAIL3])
    for i in range(20):
        log.log("read", f"s{i % 5}", success=False)  # 4 per secret: spread out
        log.log("read", "db/password")  # successes never count
        clock.advance(minutes=1)
    assert [a["secret_name"] for a in _alerts(log)] == []
    # three failures, then a pause longer than the window, then three more: quiet
    for _ in range(3):
        log.log("read", "x", success=False)
    clock.advance(minutes=11)
    for _ in range(3):
        log.log("read", "x", success=False)
    assert _alerts(log) == []


def test_one_alert_per_burst_then_again_after_the_window(make_log, clock: Clock) -> None:
    log = make_log(clock=clock, alert_rules=[FAIL3])
    for _ in range(12):
        log.log("reveal", "k", success=False)
        clock.advance(seconds=5)
    assert len(_alerts(log)) == 1
    clock.advance(minutes=11)
    for _ in range(4):
        log.log("reveal", "k", success=False)
    assert len(_alerts(log)) == 2


def test_volume_rule_and_global_scope(make_log, clock: Clock) -> None:
    total = AlertRule.parse("volume>8/1h:*", name="all")
    log = make_log(clock=clock, alert_rules=[VOL5, total])
    for i in range(5):
        log.log("read", "a")
        log.log("read", f"b{i}")
    assert [a["rule"] for a in _alerts(log)] == ["all"]  # 10 in total, 5 on "a"
    log.log("read", "a")
    assert sorted(a["rule"] for a in _alerts(log)) == ["all", "vol5"]
    vol = next(a for a in _alerts(log) if a["rule"] == "vol5")
    assert vol["secret_name"] == "a" and vol["count"] == 6


def test_failed_unlocks_count_against_the_vault(make_log, clock: Clock) -> None:
    log = make_log(key=None, clock=clock, alert_rules=[FAIL3])
    for _ in range(4):
        log.log("unlock", success=False, error_message="wrong passphrase")
    alerts = _alerts(log)
    assert len(alerts) == 1
    assert alerts[0]["secret_name"] is None and "on the vault" in alerts[0]["message"]


def test_alerts_do_not_count_towards_rules(make_log, clock: Clock) -> None:
    log = make_log(clock=clock, alert_rules=[AlertRule("v", "volume", 1, timedelta(hours=1))])
    log.log("read", "a")
    log.log("read", "a")
    log.log("read", "a")
    assert len(_alerts(log)) == 1
    assert log.stats("a")["total_accesses"] == 3 and log.stats("a")["alerts"] == 1


def test_two_processes_share_windows_and_do_not_double_alert(make_log, clock: Clock) -> None:
    one = make_log(clock=clock, alert_rules=[FAIL3], source="app")
    two = make_log(clock=clock, alert_rules=[FAIL3], source="batch")
    one.log("read", "k", success=False)
    two.log("read", "k", success=False)
    one.log("read", "k", success=False)
    two.log("read", "k", success=False)  # 4th failure overall: two sees all of them
    assert [a["source"] for a in _alerts(one)] == ["batch"]
    one.log("read", "k", success=False)  # one learns of two's alert: stays quiet
    assert len(_alerts(one)) == 1


def test_hook_command_gets_json_on_stdin_and_no_data_in_argv(
    make_log, clock: Clock, tmp_path: Path
) -> None:
    out = tmp_path / "hook.out"
    script = tmp_path / "hook.py"
    script.write_text(
        "import json, sys\n"
        f"open({str(out)!r}, 'w').write(json.dumps({{'argv': sys.argv[1:], "
        "'stdin': json.load(sys.stdin)}))\n"
    )
    log = make_log(clock=clock, alert_rules=[FAIL3], hook=[sys.executable, str(script)])
    for _ in range(4):
        log.log("read", "db/password", success=False, error_message="denied")
    assert log.wait_for_hooks(20)
    got = json.loads(out.read_text())
    assert got["argv"] == []
    doc = got["stdin"]
    assert doc["type"] == "vaultui.audit.alert" and doc["rule"] == "fail3"
    assert doc["secret_name"] == "db/password" and doc["count"] == 4
    assert "chain" not in doc and "kid" not in doc


def test_callable_hook_and_listener(make_log, clock: Clock) -> None:
    seen: list[dict] = []
    heard: list[dict] = []
    log = make_log(clock=clock, alert_rules=[FAIL3], hook=seen.append)
    log.add_alert_listener(heard.append)
    for _ in range(4):
        log.log("read", "k", success=False)
    assert log.wait_for_hooks(10)
    assert [d["rule"] for d in seen] == ["fail3"]
    assert [e["operation"] for e in heard] == ["alert"]
    assert log.recent_alerts()[0]["rule"] == "fail3"


def test_failing_hook_is_audited(make_log, clock: Clock) -> None:
    log = make_log(clock=clock, alert_rules=[FAIL3], hook=[sys.executable, "-c", "exit(3)"])
    for _ in range(4):
        log.log("read", "k", success=False)
    assert log.wait_for_hooks(20)
    failures = log.get_audit_events(operation="alert_hook")
    assert len(failures) == 1 and "status 3" in failures[0]["error_message"]
    assert failures[0]["success"] is False
    assert len(_alerts(log)) == 1  # a hook failure does not feed the failure rule


def test_rule_parsing_and_config() -> None:
    r = AlertRule.parse("failures>10/5m:read,reveal")
    assert (r.kind, r.threshold, r.window, r.operations) == (
        "failures",
        10,
        timedelta(minutes=5),
        frozenset({"read", "reveal"}),
    )
    assert AlertRule.parse("volume > 1000 / 1h").per_secret
    assert not AlertRule.parse("volume>1000/1h:*").per_secret
    rules = load_rules(
        [{"name": "x", "kind": "volume", "threshold": 3, "window": "2h"}, "failures>1/1m"]
    )
    assert rules[0].window == timedelta(hours=2) and rules[1].threshold == 1
    assert AlertRule.from_dict(rules[0].to_dict()) == rules[0]
    assert load_rules(None) == DEFAULT_RULES
    assert [r.threshold for r in DEFAULT_RULES] == [10, 1000]
    for bad in ("failures>x/1h", "oops", "volume>5/0h"):
        with pytest.raises(ValidationError):
            AlertRule.parse(bad)
    assert "more than 10 failed operations per secret" in DEFAULT_RULES[0].describe()


def test_load_rules_file(tmp_path: Path) -> None:
    from core.audit import load_rules_file

    assert load_rules_file(tmp_path / "absent.json") == DEFAULT_RULES
    f = tmp_path / "rules.json"
    f.write_text(json.dumps({"rules": ["failures>2/1m"]}))
    assert load_rules_file(f)[0].threshold == 2
    f.write_text("{nope")
    with pytest.raises(ValidationError):
        load_rules_file(f)
