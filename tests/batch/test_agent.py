"""The unlock agent: unlock/lock, ttl, the socket's safety, same-uid peers only, wrong
vault keys, and that operations through it are audited."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.agent import protocol
from core.agent.client import AgentClient
from core.errors import EXIT_NOT_FOUND, EXIT_USAGE, EXIT_WRONG_KEY
from core.vault import KeySource
from tests.batch.conftest import pid_alive, run_vaultui, stop_agent_at
from tests.conftest import clean_env
from tests.trail import has_event, trail_events, vault_audit_key

PASS = "correct horse battery"


@pytest.fixture
def pw_home(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> Path:
    """A home whose vault opens only with a passphrase, holding 'db/password'; the
    passphrase file is then removed from the environment (no configured key)."""
    pw = tmp_path / "pw.txt"
    pw.write_text(PASS + "\n")
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw))
    assert cli("--batch", "set", "db/password", stdin=b"agent-held-value").code == 0
    monkeypatch.delenv("VAULTUI_PASSPHRASE_FILE")
    assert not (home / "vault.key").exists()
    return home


def unlock(cli, monkeypatch, tmp_path: Path, agents: list[Path], home: Path, ttl: str = "2m"):
    pw = tmp_path / "unlock-pw.txt"
    pw.write_text(PASS)
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw))
    agents.append(home / "agent.sock")
    r = cli("--batch", "--json", "unlock", "--ttl", ttl)
    monkeypatch.delenv("VAULTUI_PASSPHRASE_FILE")
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_unlock_get_set_lock(cli, pw_home, monkeypatch, tmp_path, agents):
    assert cli("--batch", "get", "db/password").code == EXIT_WRONG_KEY  # locked, no key
    info = unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    sock = pw_home / "agent.sock"
    st = os.lstat(sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.getuid()
    assert pid_alive(info["pid"])
    cmdline = Path(f"/proc/{info['pid']}/cmdline").read_bytes()
    assert b"core.agent" in cmdline and PASS.encode() not in cmdline

    # now the key is not configured anywhere, yet everything works through the agent
    assert cli("--batch", "get", "db/password", "-n").out == "agent-held-value"
    assert cli("--batch", "set", "new/one", stdin=b"via-agent").code == 0
    assert cli("--batch", "get", "new/one", "-n").out == "via-agent"
    assert cli("--batch", "list").out.split() == ["db/password", "new/one"]
    assert cli("--batch", "get", "nope").code == EXIT_NOT_FOUND
    status = json.loads(cli("--batch", "--json", "status").out)
    assert status["agent"]["pid"] == info["pid"] and status["key_source"] == "unlock agent"

    # names are sealed in the file; the agent's key opens them for export --plain
    r = cli("--batch", "audit", "export", "--plain")
    assert r.code == 0, r.err
    log = [json.loads(x) for x in r.out.splitlines()]
    sources = {(e["operation"], e["secret_name"], e["source"]) for e in log}
    assert ("read", "db/password", "agent") in sources
    assert ("write", "new/one", "agent") in sources
    assert ("agent_start", None, "agent") in sources

    r = cli("--batch", "lock")
    assert r.code == 0 and "stopped" in r.err
    assert not sock.exists()
    deadline = time.monotonic() + 5
    while pid_alive(info["pid"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_alive(info["pid"])
    assert cli("--batch", "get", "db/password").code == EXIT_WRONG_KEY
    assert "No agent was running" in cli("--batch", "lock").err


def test_import_through_the_agent_reports_progress(cli, pw_home, monkeypatch, tmp_path, agents):
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    env_file = tmp_path / "many.env"
    env_file.write_text("".join(f"KEY_{i}=value-{i}\n" for i in range(600)))
    r = cli("--batch", "import", str(env_file), "--prefix", "bulk/")
    assert r.code == 0 and "imported: 600/600" in r.err and "600 created" in r.err
    assert cli("--batch", "get", "bulk/KEY_599", "-n").out == "value-599"
    log = (pw_home / "logs" / "secrets_audit.log").read_text()
    assert '"operation": "import", "secret_name": null' in log and '"source": "agent"' in log


def test_plugin_style_manager_unlocks_itself_not_with_the_agent_key(
    cli, pw_home, monkeypatch, tmp_path, agents
):
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    from core.config import Settings
    from core.errors import KeyMissingError
    from vaultui.batch.context import Context

    ctx = Context(args=type("A", (), {"no_prompt": True})(), settings=Settings.from_env())
    try:
        with pytest.raises(KeyMissingError, match="never hands out its key"):
            ctx.manager()
    finally:
        ctx.close()
    # with its own key it opens the vault as before
    pw = tmp_path / "own-pw.txt"
    pw.write_text(PASS)
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw))
    ctx = Context(args=type("A", (), {"no_prompt": True})(), settings=Settings.from_env())
    try:
        assert ctx.manager().retrieve_secret("db/password") == "agent-held-value"
    finally:
        ctx.close()


def test_agent_forgets_the_key_when_the_ttl_ends(cli, pw_home, monkeypatch, tmp_path, agents):
    info = unlock(cli, monkeypatch, tmp_path, agents, pw_home, ttl="1s")
    assert cli("--batch", "get", "db/password", "-n").out == "agent-held-value"
    deadline = time.monotonic() + 6
    while pid_alive(info["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(info["pid"])
    assert not (pw_home / "agent.sock").exists()
    r = cli("--batch", "get", "db/password")
    assert r.code == EXIT_WRONG_KEY
    assert "unlock agent expired after 1s" in r.err and "vaultui --batch unlock" in r.err
    assert "FEDZK_ENCRYPTION_MASTER_KEY" not in r.err
    key = vault_audit_key(pw_home / "vault.db", KeySource.passphrase(PASS))
    events = trail_events(pw_home / "logs" / "secrets_audit.log", key)
    assert has_event(events, operation="agent_stop", reason="expired")
    # `lock` (or a new unlock) acknowledges it: then it is an ordinary missing key
    assert cli("--batch", "lock").code == 0
    assert "expired" not in cli("--batch", "get", "db/password").err


def test_unlock_replaces_a_stale_socket_and_lock_cleans_one(
    cli, pw_home, monkeypatch, tmp_path, agents
):
    sock_path = pw_home / "agent.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(sock_path))
    dead.close()  # the file stays: a crashed agent's leftover
    assert sock_path.exists()
    assert cli("--batch", "get", "db/password").code == EXIT_WRONG_KEY  # ignored, not used
    r = cli("--batch", "lock")
    assert "stale" in r.err and not sock_path.exists()

    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(sock_path))
    dead.close()
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    assert cli("--batch", "get", "db/password", "-n").out == "agent-held-value"


def test_unlock_replaces_a_running_agent(cli, pw_home, monkeypatch, tmp_path, agents):
    first = unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    second = unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    assert first["pid"] != second["pid"]
    deadline = time.monotonic() + 5
    while pid_alive(first["pid"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_alive(first["pid"])
    assert cli("--batch", "get", "db/password", "-n").out == "agent-held-value"


def test_refuses_to_replace_something_that_is_not_a_socket(
    cli, pw_home, monkeypatch, tmp_path, agents
):
    (pw_home / "agent.sock").write_text("precious")
    pw = tmp_path / "p.txt"
    pw.write_text(PASS)
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw))
    r = cli("--batch", "unlock")
    assert r.code == EXIT_USAGE and "not a socket" in r.err
    assert (pw_home / "agent.sock").read_text() == "precious"


def test_wrong_passphrase_never_starts_an_agent(cli, pw_home, monkeypatch, tmp_path):
    pw = tmp_path / "bad.txt"
    pw.write_text("not the passphrase")
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw))
    r = cli("--batch", "unlock")
    assert r.code == EXIT_WRONG_KEY and "not the passphrase" not in r.err
    assert not (pw_home / "agent.sock").exists()


def test_agent_for_another_vault_is_not_used(cli, pw_home, monkeypatch, tmp_path, agents):
    shared = tmp_path / "shared.sock"
    monkeypatch.setenv("VAULTUI_AGENT_SOCKET", str(shared))
    pw = tmp_path / "p.txt"
    pw.write_text(PASS)
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw))
    agents.append(shared)
    assert cli("--batch", "unlock").code == 0
    # a second vault with its own passphrase, used while the agent serves the first
    other = tmp_path / "other-home"
    monkeypatch.setenv("VAULTUI_HOME", str(other))
    assert cli("--batch", "set", "x", stdin=b"other-vault-value").code == 0
    monkeypatch.delenv("VAULTUI_PASSPHRASE_FILE")
    r = cli("--batch", "get", "x")
    assert r.code == EXIT_WRONG_KEY and "other-vault-value" not in r.out


def test_vault_replaced_underneath_the_agent(cli, pw_home, monkeypatch, tmp_path, agents):
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    assert cli("--batch", "get", "db/password", "-n").out == "agent-held-value"
    # another vault (different data key) moved into place under the same path
    other = tmp_path / "elsewhere"
    monkeypatch.setenv("VAULTUI_HOME", str(other))
    monkeypatch.setenv("VAULTUI_AGENT_SOCKET", str(tmp_path / "unused.sock"))
    assert cli("--batch", "set", "y", stdin=b"value-y").code == 0
    os.replace(other / "vault.db", pw_home / "vault.db")
    monkeypatch.setenv("VAULTUI_HOME", str(pw_home))
    monkeypatch.delenv("VAULTUI_AGENT_SOCKET")
    (pw_home / "vault.key").unlink(missing_ok=True)
    r = cli("--batch", "get", "y")
    assert r.code == EXIT_WRONG_KEY and "another vault" in r.err


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A world-writable folder another user can reach (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="vaultui-test-", dir="/tmp"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _as_nobody(fn) -> int:
    """Run ``fn()`` in a forked child as uid 65534; return its exit status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 99
        try:
            os.setgid(65534)
            os.setuid(65534)
            code = fn()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_agent_refuses_peers_of_another_uid(
    cli, pw_home, monkeypatch, tmp_path, public_dir, agents
):  # `agents` after `public_dir`: the agent is locked before the folder is removed
    sock_path = public_dir / "agent.sock"
    monkeypatch.setenv("VAULTUI_AGENT_SOCKET", str(sock_path))
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    agents.append(sock_path)
    sock_path.chmod(0o777)  # as if the file mode were lost: SO_PEERCRED still guards it

    def attempt() -> int:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(str(sock_path))
        except OSError:
            return 3  # could not even connect
        try:
            protocol.send(s, {"op": "key", "v": 1})
            reply = s.recv(4096)
        except OSError:
            return 0
        return 0 if reply == b"" else 1  # 1: the agent answered a stranger

    assert _as_nobody(attempt) == 0
    # and the owner still gets served
    assert cli("--batch", "get", "db/password", "-n").out == "agent-held-value"


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_client_refuses_an_agent_of_another_uid(public_dir):
    sock_path = public_dir / "fake.sock"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child: a fake agent run by another user
        try:
            os.close(r)
            os.setgid(65534)
            os.setuid(65534)
            srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            srv.bind(str(sock_path))
            os.chmod(sock_path, 0o777)  # noqa: S103 - reachable by the test's client
            srv.listen(1)
            os.write(w, b"x")
            srv.settimeout(10)
            conn, _ = srv.accept()
            got = conn.recv(4096)
            os._exit(1 if got else 0)
        except BaseException:
            os._exit(2)
    os.close(w)
    assert os.read(r, 1) == b"x"
    with pytest.raises(protocol.PeerRejected):
        AgentClient.connect(str(sock_path))
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0  # nothing was ever sent to it


def test_long_socket_paths_work(cli, pw_home, monkeypatch, tmp_path, agents):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    sock_path = deep / "agent.sock"
    assert len(str(sock_path)) > 108
    monkeypatch.setenv("VAULTUI_AGENT_SOCKET", str(sock_path))
    agents.append(sock_path)
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    assert sock_path.exists()
    assert cli("--batch", "get", "db/password", "-n").out == "agent-held-value"


def test_unlock_and_get_in_real_processes(pw_home, tmp_path, agents):
    pw = tmp_path / "p.txt"
    pw.write_text(PASS)
    agents.append(pw_home / "agent.sock")
    r = run_vaultui(
        pw_home,
        "--batch",
        "unlock",
        "--ttl",
        "1m",
        env=clean_env(pw_home, VAULTUI_PASSPHRASE_FILE=str(pw)),
    )
    assert r.code == 0, r.err
    r = run_vaultui(pw_home, "--batch", "get", "db/password")
    assert (r.code, r.out) == (0, "agent-held-value\n")
    r = run_vaultui(pw_home, "--batch", "set", "p/q", stdin=b"from-a-pipe\n")
    assert r.code == 0 and "from-a-pipe" not in r.err
    assert run_vaultui(pw_home, "--batch", "get", "p/q").out == "from-a-pipe\n"
    assert run_vaultui(pw_home, "--batch", "lock").code == 0
    stop_agent_at(pw_home / "agent.sock")
    assert run_vaultui(pw_home, "--batch", "get", "p/q").code == EXIT_WRONG_KEY


# ---------------------------------------------------------------------- no key handed out


def _key_encodings(key: bytes) -> list[bytes]:
    import base64

    return [
        key,
        key.hex().encode(),
        key.hex().upper().encode(),
        base64.b64encode(key),
        base64.urlsafe_b64encode(key),
        base64.b64encode(key).rstrip(b"="),
        base64.b32encode(key),
    ]


def _raw_exchange(sock_path: Path, message: dict) -> list[bytes]:
    """Send one request; return every reply frame's raw payload (progress included)."""
    frames = []
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    with s:
        s.connect(str(sock_path))
        protocol.send(s, message)
        while True:
            head = protocol._read_exact(s, 4)
            payload = protocol._read_exact(s, int.from_bytes(head, "big"))
            frames.append(payload)
            reply = protocol.decode(payload)
            if not (isinstance(reply, dict) and "progress" in reply):
                return frames


# Arguments for every operation the agent runs (a new operation must be added here).
OP_ARGS = {
    "get": {"name": "db/password"},
    "list": {},
    "history": {"name": "db/password"},
    "status": {},
    "grep": {"pattern": "held"},
    "scan_values": {},
    "resolve": {"refs": [("db/password", None)]},
    "export": {},
    "put": {"name": "probe/new", "value": "probe-value"},
    "tag": {"name": "probe/new", "set": {"k": "v"}},
    "describe": {"name": "probe/new", "text": "probe"},
    "rollback": {"name": "db/password", "version": 1},
    "import": {
        "entries": [
            {"name": "probe/imported", "value": "x"},
            {"name": "probe/otp", "value": "otpauth://totp/p?secret=JBSWY3DPEHPK3PXP"},
        ]
    },
    "delete": {"name": "probe/new"},
    "undelete": {"name": "probe/new"},
    "rename": {"name": "probe/new", "new_name": "probe/moved"},
    "copy": {"name": "probe/moved", "new_name": "probe/copied"},
    "otp": {"name": "probe/otp"},
    "purge": {"name": "probe/trash"},
    "purge_deleted": {"before": "1d"},
    "audit_open": {"lines": ['{"operation": "get", "secret_name": null}']},
    "history_diff": {"name": "db/password", "a": 1, "b": 2, "reveal": True},
    "complete_names": {"prefix": "db/"},
    "verify": {},
    "backup_create": {"name": "probe-backup"},
    "backup_list": {},
    "backup_verify": {"name": "probe-backup"},
    "rotate": {"name": "db/password"},
    "rotate_due": {},
    "rotation_status": {},
    "rotation_policy": {"name": "db/password", "policy": "daily"},
    "sync_status": {},
    "sync_conflicts": {},
    "sync_run": {"all_remotes": True, "dry_run": True},
    "audit_list": {"limit": 5, "secret": "db/*"},
    "audit_stats": {"name": "db/password"},
    "audit_verify": {},
    "audit_report": {"since": "1d", "report_format": "json"},
}


def test_no_agent_request_returns_key_material(cli, pw_home, monkeypatch, tmp_path, agents):
    from core.agent import ops
    from core.agent.server import AgentServer
    from core.vault import KeySource, Vault

    with Vault.open(pw_home / "vault.db", KeySource.passphrase(PASS)) as vault:
        key = vault.data_key_for_agent()
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    assert cli("--batch", "set", "probe/trash", stdin=b"t").code == 0
    assert cli("--batch", "delete", "probe/trash").code == 0  # for "purge"
    sock = pw_home / "agent.sock"
    vault_path = str(pw_home / "vault.db")

    assert set(OP_ARGS) == set(ops.OPS), "give every agent operation arguments above"
    calls = [
        {"op": "call", "v": 1, "name": n, "args": a, "vault": vault_path, "provider": "local"}
        for n, a in OP_ARGS.items()
    ]
    requests = {
        "hello": [{"op": "hello", "v": 1}],
        "call": calls,
        "lock": [{"op": "lock", "v": 1}],
    }
    assert set(requests) == set(AgentServer.REQUESTS), "probe every request the agent accepts"
    # what older clients asked for, and garbage: answered with an error, not a key
    probes = [{"op": "key", "v": 1}, {"op": "data_key", "v": 1}, {"op": None}, ["key"]]
    order = [*probes, *requests["hello"], *requests["call"], *requests["lock"]]
    answered = []
    failed_calls = []
    for message in order:
        for payload in _raw_exchange(sock, message):
            for enc in _key_encodings(key):
                assert enc not in payload, f"{message!r} answered key material"
            answered.append(protocol.decode(payload))
        if message in calls and "ok" not in answered[-1]:
            failed_calls.append((message["name"], answered[-1]))
    assert any("error" in r for r in answered[:4]) and all("ok" not in r for r in answered[:4])
    assert sum(1 for r in answered if "ok" in r) >= len(OP_ARGS)  # the operations ran
    assert failed_calls == [], "every operation succeeds"


def _audit_events(home: Path) -> list[dict]:
    """The trail's events, opened with the vault's key (names and extras are sealed)."""
    from core.vault import KeySource

    key = vault_audit_key(home / "vault.db", KeySource.passphrase(PASS))
    return trail_events(home / "logs" / "secrets_audit.log", key)


def test_each_agent_operation_is_one_audit_event_naming_its_client(
    cli, pw_home, monkeypatch, tmp_path, agents
):
    info = unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    before = len(_audit_events(pw_home))
    r = run_vaultui(pw_home, "--batch", "get", "db/password")  # a real client process
    assert r.code == 0
    assert cli("--batch", "history", "db/password").code == 0  # in this process
    new = _audit_events(pw_home)[before:]
    reads = [e for e in new if e["operation"] == "read"]
    assert len(reads) == 1, new
    read = reads[0]
    assert read["source"] == "agent" and read["pid"] == info["pid"]
    assert read["client_pid"] not in (info["pid"], os.getpid())
    assert read["client_exe"] == os.path.realpath(sys.executable)
    # an operation that writes no event of its own still gets exactly one
    hist = [e for e in new if e["operation"] == "history"]
    assert len(hist) == 1 and hist[0]["secret_name"] == "db/password"
    assert hist[0]["client_pid"] == os.getpid()
    assert hist[0]["client_exe"] == os.readlink("/proc/self/exe")
    assert "agent-held-value" not in json.dumps(new)
    # a write through the agent: one event, the write itself, naming this process
    before = len(_audit_events(pw_home))
    assert cli("--batch", "set", "w/one", stdin=b"written-via-agent").code == 0
    [write] = _audit_events(pw_home)[before:]
    assert write["operation"] == "write" and write["client_pid"] == os.getpid()
    # and the client that locks it is named too
    cli("--batch", "lock")
    stop = [e for e in _audit_events(pw_home) if e["operation"] == "agent_stop"][-1]
    assert stop["reason"] == "locked" and stop["client_pid"] == os.getpid()


# ---------------------------------------------------------------------- time to live


def test_ttl_above_the_ceiling_is_refused(cli, pw_home, monkeypatch, tmp_path, agents):
    pw = tmp_path / "p.txt"
    pw.write_text(PASS)
    monkeypatch.setenv("VAULTUI_PASSPHRASE_FILE", str(pw))
    agents.append(pw_home / "agent.sock")
    r = cli("--batch", "unlock", "--ttl", "25h")
    assert r.code == EXIT_USAGE and "ceiling of 1d" in r.err
    monkeypatch.setenv("VAULTUI_AGENT_MAX_TTL", "60")
    r = cli("--batch", "unlock", "--ttl", "2m")
    assert r.code == EXIT_USAGE and "VAULTUI_AGENT_MAX_TTL" in r.err
    assert not (pw_home / "agent.sock").exists()
    assert cli("--batch", "unlock", "--ttl", "1m").code == 0


def test_elapsed_clock_counts_suspended_time():
    from core import clock

    assert clock.SUSPEND_AWARE  # Linux: CLOCK_BOOTTIME
    a = clock.elapsed_clock()
    b = time.clock_gettime(time.CLOCK_BOOTTIME)
    assert abs(b - a) < 1.0


def test_agent_expires_on_the_suspend_aware_clock(pw_home, cli, monkeypatch, tmp_path):
    """A suspend stops time.monotonic() but not CLOCK_BOOTTIME: jump only the latter,
    as a resume after a long sleep does, and the agent must be expired."""
    import threading

    from core.agent import server as server_mod
    from core.config import Settings
    from core.vault import KeySource, Vault

    with Vault.open(pw_home / "vault.db", KeySource.passphrase(PASS)) as vault:
        key = vault.data_key_for_agent()
    sock = tmp_path / "s.sock"
    srv = server_mod.AgentServer(Settings.from_env(), key, ttl=600, socket_path=sock)
    srv.open()
    srv.bind()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        with AgentClient.connect(str(sock)) as c:
            assert c.hello()["pid"] == os.getpid()
        slept = server_mod.elapsed_clock() + 3600  # an hour asleep
        monkeypatch.setattr(server_mod, "elapsed_clock", lambda: slept)
        thread.join(5)
        assert not thread.is_alive() and not sock.exists()
        note = json.loads((tmp_path / "s.sock.expired").read_text())
        assert note["ttl"] == 600 and "key" not in note
    finally:
        srv.stop("test")
        thread.join(5)


def test_one_command_talks_to_the_agent_over_one_connection(
    cli, pw_home, monkeypatch, tmp_path, agents
):
    unlock(cli, monkeypatch, tmp_path, agents, pw_home)
    connects = []
    real = AgentClient.connect.__func__

    def counting(cls, path, timeout=120.0):
        connects.append(path)
        return real(cls, path, timeout)

    monkeypatch.setattr(AgentClient, "connect", classmethod(counting))
    for argv in (
        ("list",),
        ("--json", "status"),
        ("history", "db/password"),
        ("audit", "export", "--plain"),  # hello, then a batch of trail lines to open
    ):
        connects.clear()
        r = cli("--batch", *argv)
        assert r.code == 0, (argv, r.err)
        assert len(connects) == 1, (argv, connects)
