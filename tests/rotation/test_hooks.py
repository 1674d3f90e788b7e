"""The hooks contract: values via env/stdin only, timeouts, bounded value-free output."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from core.errors import ValidationError
from core.rotation.hooks import (
    REDACTED,
    HookConfig,
    hook_environment,
    run_hook,
    scrub_tail,
    secret_needles,
)

PY = sys.executable
NEW = "n3w-Secret-Value-123"
OLD = "0ld-Secret-Value-456"


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "hook.py"
    path.write_text("import json, os, sys\n" + body)
    return f"{PY} {path}"


def run(command: str, **kw):
    kw.setdefault("step", "apply")
    kw.setdefault("name", "db/password")
    kw.setdefault("new_value", NEW)
    kw.setdefault("old_value", OLD)
    kw.setdefault("timeout", 20)
    kw.setdefault("base_env", {"PATH": os.environ.get("PATH", "")})
    return run_hook(command, **kw)


def test_values_arrive_on_stdin_and_in_env_but_never_in_argv(tmp_path):
    out = tmp_path / "seen.json"
    cmd = script(
        tmp_path,
        f"""
seen = {{"argv": sys.argv, "cmdline": open("/proc/self/cmdline", "rb").read().decode(),
        "stdin": json.load(sys.stdin),
        "env": {{k: v for k, v in os.environ.items() if k.startswith("VAULTUI_")}}}}
open({str(out)!r}, "w").write(json.dumps(seen))
""",
    )
    result = run(cmd, pending_version=3, current_version=2)
    assert result.ok, result.reason
    seen = json.loads(out.read_text())
    assert NEW not in " ".join(seen["argv"]) and NEW not in seen["cmdline"]
    assert OLD not in seen["cmdline"]
    assert seen["stdin"] == {
        "name": "db/password",
        "step": "apply",
        "type": "str",
        "pending_version": 3,
        "current_version": 2,
        "new": NEW,
        "old": OLD,
    }
    env = seen["env"]
    assert env["VAULTUI_NEW_VALUE"] == NEW and env["VAULTUI_OLD_VALUE"] == OLD
    assert env["VAULTUI_SECRET_NAME"] == "db/password"
    assert env["VAULTUI_ROTATION_STEP"] == "apply"
    assert env["VAULTUI_PENDING_VERSION"] == "3" and env["VAULTUI_CURRENT_VERSION"] == "2"


@pytest.mark.parametrize("via", ["stdin", "env"])
def test_via_limits_the_channel(tmp_path, via):
    out = tmp_path / "seen.json"
    cmd = script(
        tmp_path,
        f"""
data = sys.stdin.read()
seen = {{"stdin": data, "env": os.environ.get("VAULTUI_NEW_VALUE")}}
open({str(out)!r}, "w").write(json.dumps(seen))
""",
    )
    assert run(cmd, via=via).ok
    seen = json.loads(out.read_text())
    if via == "stdin":
        assert seen["env"] is None and NEW in seen["stdin"]
    else:
        assert seen["env"] == NEW and seen["stdin"] == ""


def test_dict_values_as_json_and_fields(tmp_path):
    out = tmp_path / "seen.json"
    new = {"host": "db", "port": 5432, "username": "app_b", "password": "pw-new-123"}
    old = {"host": "db", "port": 5432, "username": "app_a", "password": "pw-old-456"}
    cmd = script(
        tmp_path,
        f"""
open({str(out)!r}, "w").write(json.dumps({{"stdin": json.load(sys.stdin),
    "env": {{k: v for k, v in os.environ.items() if k.startswith("VAULTUI_")}}}}))
""",
    )
    assert run(cmd, new_value=new, old_value=old).ok
    seen = json.loads(out.read_text())
    assert seen["stdin"]["new"] == new and seen["stdin"]["type"] == "dict"
    env = seen["env"]
    assert json.loads(env["VAULTUI_NEW_VALUE"]) == new
    assert env["VAULTUI_NEW_FIELD_PASSWORD"] == "pw-new-123"
    assert env["VAULTUI_OLD_FIELD_USERNAME"] == "app_a"
    assert env["VAULTUI_NEW_FIELD_PORT"] == "5432"
    assert env["VAULTUI_SECRET_TYPE"] == "dict"


def test_bytes_values_are_base64(tmp_path):
    out = tmp_path / "seen.txt"
    cmd = script(tmp_path, f"open({str(out)!r}, 'w').write(os.environ['VAULTUI_NEW_VALUE'])")
    assert run(cmd, new_value=b"\x00\x01binary", old_value=b"x").ok
    assert out.read_text() == "AAFiaW5hcnk="


def test_failure_reason_has_status_and_scrubbed_tail(tmp_path):
    cmd = script(
        tmp_path,
        """
v = json.load(sys.stdin)
print("connecting with", v["new"], "instead of", v["old"])
print("error: permission denied for role app_b", file=sys.stderr)
sys.exit(3)
""",
    )
    result = run(cmd)
    assert not result.ok and result.exit_code == 3
    assert "apply hook exited with status 3" in result.reason
    assert "permission denied for role app_b" in result.reason
    assert REDACTED in result.reason
    assert NEW not in result.reason and OLD not in result.reason


def test_values_printed_in_other_encodings_are_scrubbed_too(tmp_path):
    new = {"username": "app_b", "password": 'pw"quoted-secret'}
    cmd = script(
        tmp_path,
        """
v = json.load(sys.stdin)
print(json.dumps(v["new"]))
print(os.environ["VAULTUI_NEW_VALUE"])
sys.exit(1)
""",
    )
    result = run(cmd, new_value=new, old_value={"password": "old-old-old"})
    assert "quoted-secret" not in result.reason
    assert "app_b" not in result.reason  # every string field of a dict is treated as secret


def test_timeout_kills_the_whole_process_group(tmp_path):
    marker = tmp_path / "survived"
    cmd = f"sh -c '(sleep 1; touch {marker}) & wait'"
    started = time.monotonic()
    result = run(cmd, timeout=0.3)
    elapsed = time.monotonic() - started
    assert not result.ok and result.timed_out and result.exit_code is None
    assert "apply hook timed out after 0.3s" in result.reason
    assert elapsed < 2.5  # did not wait for the 1 s sleep (under load, spawning is slow)
    # the shell's child (sleep) was in the killed group: nobody touches the marker later
    time.sleep(1.5)
    assert not marker.exists()


def test_output_tail_is_bounded(tmp_path):
    cmd = script(
        tmp_path,
        """
for i in range(200000):
    print("line", i, "x" * 20)
print("the last words")
sys.exit(1)
""",
    )
    result = run(cmd, tail_bytes=500)
    assert not result.ok
    assert "the last words" in result.reason
    assert len(result.output_tail) < 700


def test_a_value_cut_at_the_window_start_is_not_shown_in_part():
    needles = secret_needles("ABCDEFGHIJ")
    window = b"FGHIJ tail text"  # the first half of the value fell out of the window
    padded = b"xxxxxABCDEFGHIJ tail text"
    assert "FGHIJ" not in scrub_tail(padded, needles, truncated=True, limit=15)
    assert scrub_tail(window, needles, truncated=False, limit=100) == "FGHIJ tail text"


def test_missing_command_is_a_failure_not_a_crash():
    result = run("/nonexistent/hook --flag")
    assert not result.ok and result.error
    assert "could not start" in result.reason


def test_key_material_is_not_inherited():
    env = hook_environment(
        {
            "PATH": "/bin",
            "FEDZK_ENCRYPTION_MASTER_KEY": "mk",
            "VAULTUI_PASSPHRASE_FILE": "/p",
            "VAULTUI_KEY_FILE": "/k",
            "VAULTUI_NEW_FIELD_STALE": "x",
            "KEEP": "1",
        },
        step="verify",
        name="n",
        new_value="a",
        old_value="b",
        pending_version=2,
        current_version=1,
        via="both",
    )
    assert "FEDZK_ENCRYPTION_MASTER_KEY" not in env
    assert "VAULTUI_PASSPHRASE_FILE" not in env and "VAULTUI_KEY_FILE" not in env
    assert "VAULTUI_NEW_FIELD_STALE" not in env
    assert env["KEEP"] == "1" and env["VAULTUI_ROTATION_STEP"] == "verify"


def test_hook_config_validation_and_round_trip():
    cfg = HookConfig(apply="psql -c 'select 1'", verify=None, timeout=5, via="stdin")
    assert HookConfig.from_dict(cfg.to_dict()) == cfg
    for bad in (
        {"apply": "sh -c 'unterminated"},
        {"apply": "   "},
        {"timeout": 0},
        {"via": "argv"},
    ):
        with pytest.raises(ValidationError):
            HookConfig(**bad)


def test_the_shell_form_runs_shell_syntax_with_the_scrubbed_environment(tmp_path):
    seen = tmp_path / "seen"
    result = run(
        f"sh:printenv VAULTUI_NEW_VALUE > {seen}; env >> {seen}; "
        'echo "step=$VAULTUI_ROTATION_STEP" | tr a-z A-Z; exit 1',
        base_env={
            "PATH": os.environ.get("PATH", ""),
            "FEDZK_ENCRYPTION_MASTER_KEY": "master-key-material",
            "VAULTUI_KEY_FILE": "/somewhere/vault.key",
        },
    )
    # exit 1 is the script's own status, and the pipe ran: a shell did this
    assert not result.ok and result.exit_code == 1 and not result.error
    assert "STEP=APPLY" in result.output_tail
    written = seen.read_text()
    assert written.splitlines()[0] == NEW
    assert "master-key-material" not in written and "VAULTUI_KEY_FILE" not in written


def test_shell_syntax_without_the_shell_form_says_how_hooks_run():
    result = run("exit 1")
    assert not result.ok
    assert "could not start" in result.reason
    assert "without a shell" in result.reason and "sh:COMMAND" in result.reason


def test_needs_shell_spots_shell_syntax_outside_the_shell_form():
    from core.rotation.hooks import needs_shell

    for command in ("exit 1", "echo $HOME", "cat x | grep y", "a && b", "run > log"):
        assert needs_shell(command), command
    for command in ("sh:exit 1", "psql -c 'select 1'", "/usr/bin/true", None):
        assert not needs_shell(command), command
    with pytest.raises(ValidationError):
        HookConfig(apply="sh:   ")


def test_the_master_key_is_redacted_from_a_failing_hooks_output():
    master = "master-Key-Value-For-Hooks-77"
    result = run_hook(
        ["sh", "-c", f"echo found {master} in my parent; exit 3"],
        step="apply",
        name="n",
        new_value=NEW,
        old_value=OLD,
        base_env={"PATH": os.environ["PATH"], "FEDZK_ENCRYPTION_MASTER_KEY": master},
    )
    assert not result.ok and result.exit_code == 3
    assert master not in result.reason and f"found {REDACTED} in my parent" in result.reason
