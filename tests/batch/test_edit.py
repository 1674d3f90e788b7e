"""``vaultui --batch edit NAME`` with real editors: small shell scripts set as $EDITOR."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import EXIT_CONFLICT, EXIT_USAGE
from tests.batch.conftest import ROOT, run_vaultui
from tests.batch.test_agent import pw_home, unlock  # noqa: F401  (a fixture)
from tests.conftest import clean_env
from vaultui.batch.private_tmp import filesystem_type, ram_base


def editor(tmp_path: Path, body: str) -> Path:
    """A /bin/sh editor script: logs its file's path, modes and its argv/env, then runs
    ``body`` with the file as $1."""
    script = tmp_path / f"ed{len(list(tmp_path.glob('ed*')))}.sh"
    script.write_text(
        "#!/bin/sh\n"
        'log="$ED_LOG"\n'
        'echo "path $1" >> "$log"\n'
        'stat -c "mode %a %n" "$1" "$(dirname "$1")" >> "$log"\n'
        '{ echo "argv $*"; env; } >> "$log.env"\n' + body + "\n"
    )
    script.chmod(0o755)
    return script


def run_edit(home: Path, tmp_path: Path, script: Path, *argv: str, **extra: str):
    env = clean_env(home, EDITOR=str(script), ED_LOG=str(tmp_path / "ed.log"))
    env.pop("VISUAL", None)
    env.update(extra)
    return run_vaultui(home, "--batch", "edit", *argv, env=env)


def edited_path(tmp_path: Path) -> Path:
    lines = (tmp_path / "ed.log").read_text().splitlines()
    return Path([x for x in lines if x.startswith("path ")][-1][5:])


def set_value(home: Path, name: str, value: bytes, *extra: str) -> None:
    assert run_vaultui(home, "--batch", "set", name, *extra, stdin=value).code == 0


def get(home: Path, name: str) -> str:
    return run_vaultui(home, "--batch", "get", name, "-n").out


def versions(home: Path, name: str) -> int:
    return len(json.loads(run_vaultui(home, "--batch", "--json", "history", name).out))


def test_edit_saves_a_new_version_from_a_private_ram_file(home, tmp_path):
    set_value(home, "db/password", b"old-canary-value")
    script = editor(tmp_path, "printf 'new-canary-value\\n' > \"$1\"")
    r = run_edit(home, tmp_path, script, "db/password")
    assert r.code == 0, r.err
    assert get(home, "db/password") == "new-canary-value"  # the editor's newline dropped
    assert versions(home, "db/password") == 2
    path = edited_path(tmp_path)
    log = (tmp_path / "ed.log").read_text()
    assert f"mode 600 {path}\n" in log and f"mode 700 {path.parent}\n" in log
    assert not path.exists() and not path.parent.exists()
    if ram_base() is not None:
        assert filesystem_type(str(path.parent)) in ("tmpfs", "ramfs")
    # the value reached the editor only through the file: not its argv, not its env
    assert "canary" not in (tmp_path / "ed.log.env").read_text()


def test_unchanged_value_makes_no_new_version(home, tmp_path):
    set_value(home, "api/token", b"tok")
    r = run_edit(home, tmp_path, editor(tmp_path, "true"), "api/token")
    assert r.code == 0 and "unchanged" in r.err
    assert versions(home, "api/token") == 1
    assert not edited_path(tmp_path).parent.exists()


def test_failing_or_killed_editor_saves_nothing_and_cleans_up(home, tmp_path):
    set_value(home, "api/token", b"tok")
    r = run_edit(home, tmp_path, editor(tmp_path, "printf 'half' > \"$1\"; exit 1"), "api/token")
    assert r.code == 1 and "exited with status 1" in r.err and "nothing was saved" in r.err
    assert not edited_path(tmp_path).parent.exists()
    r = run_edit(
        home, tmp_path, editor(tmp_path, "printf 'half' > \"$1\"; kill -9 $$"), "api/token"
    )
    assert r.code == 1 and "killed by signal 9" in r.err
    assert not edited_path(tmp_path).parent.exists()
    assert get(home, "api/token") == "tok" and versions(home, "api/token") == 1


def test_dict_secret_is_edited_as_json_and_validated(home, tmp_path):
    set_value(home, "app/db", b'{"host": "db", "port": 5432}', "--type", "dict")
    # a pretty JSON file comes in; a broken one goes back: nothing is saved, exit 2
    breaker = 'cp "$1" "$ED_LOG.seen"; printf \'{\\n  "host": "db2",\\n  "port": }\\n\' > "$1"'
    r = run_edit(home, tmp_path, editor(tmp_path, breaker), "app/db")
    assert r.code == EXIT_USAGE
    assert "Invalid JSON at line 3, column 11" in r.err and "nothing was saved" in r.err
    assert json.loads((tmp_path / "ed.log.seen").read_text()) == {"host": "db", "port": 5432}
    assert (tmp_path / "ed.log.seen").read_text().startswith('{\n  "host"')
    assert not edited_path(tmp_path).parent.exists()
    assert versions(home, "app/db") == 1
    # not an object: refused too
    r = run_edit(home, tmp_path, editor(tmp_path, "echo '[1]' > \"$1\""), "app/db")
    assert r.code == EXIT_USAGE and "JSON object" in r.err
    fixer = "sed -i 's/5432/6543/' \"$1\""
    assert run_edit(home, tmp_path, editor(tmp_path, fixer), "app/db").code == 0
    out = run_vaultui(home, "--batch", "get", "app/db").out
    assert json.loads(out) == {"host": "db", "port": 6543}


def test_a_change_made_while_editing_is_a_conflict_unless_forced(home, tmp_path):
    set_value(home, "db/password", b"v1")
    # the "editor" is slow: meanwhile another process stores a new version
    racer = (
        f"printf 'theirs' | {sys.executable} -m vaultui --batch set db/password; "
        "printf 'mine\\n' > \"$1\""
    )
    r = run_edit(home, tmp_path, editor(tmp_path, racer), "db/password", PYTHONPATH=str(ROOT))
    assert r.code == EXIT_CONFLICT and "your edit was not saved" in r.err and "--force" in r.err
    assert get(home, "db/password") == "theirs"
    r = run_edit(
        home, tmp_path, editor(tmp_path, racer), "db/password", "--force", PYTHONPATH=str(ROOT)
    )
    assert r.code == 0, r.err
    assert get(home, "db/password") == "mine"
    assert not edited_path(tmp_path).parent.exists()


def test_edit_creates_a_new_secret_and_prefers_visual(home, tmp_path):
    set_value(home, "other", b"x")
    failing = editor(tmp_path, "exit 3")
    visual = editor(tmp_path, "printf 'fresh' > \"$1\"")
    # $VISUAL wins over $EDITOR, and is split like a shell command line
    r = run_edit(home, tmp_path, failing, "brand/new", VISUAL=f"/bin/sh '{visual}'")
    assert r.code == 0, r.err
    assert get(home, "brand/new") == "fresh"


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
def test_stopping_vaultui_mid_edit_still_wipes_the_file(home, tmp_path):
    set_value(home, "db/password", b"v1")
    script = editor(tmp_path, 'touch "$ED_LOG.ready"; exec sleep 30')
    env = clean_env(home, EDITOR=str(script), ED_LOG=str(tmp_path / "ed.log"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaultui", "--batch", "edit", "db/password"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "ed.log.ready").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        path = edited_path(tmp_path)
        assert path.exists()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0 and b"Stopped by signal" in err
    assert not path.exists() and not path.parent.exists()
    assert get(home, "db/password") == "v1"


def test_edit_through_the_agent(
    cli,
    pw_home,  # noqa: F811  (the imported fixture)
    monkeypatch,
    tmp_path,
    agents,
):
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    script = editor(tmp_path, "printf 'edited-via-agent\\n' > \"$1\"")
    log = pw_home / "logs" / "secrets_audit.log"
    before = len(log.read_text().splitlines())
    # a separate process with no key configured: only the agent can read and write
    r = run_edit(pw_home, tmp_path, script, "db/password")
    assert r.code == 0, r.err
    events = [json.loads(x) for x in log.read_text().splitlines()[before:]]
    assert [(e["operation"], e["secret_name"], e["source"]) for e in events] == [
        ("read", "db/password", "agent"),
        ("write", "db/password", "agent"),
    ]
    assert len({e["client_pid"] for e in events}) == 1
    assert cli("--batch", "get", "db/password", "-n").out == "edited-via-agent"
