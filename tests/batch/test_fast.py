"""The fast path (``get``/``set`` through the agent with built-ins only) agrees with the
full CLI, and ``--batch`` never loads what it must not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.agent.client import fast_paths
from core.config import Settings
from tests.batch.conftest import ROOT
from tests.conftest import clean_env
from vaultui.batch.fast import parse
from vaultui.batch.runner import build_parser

ARGVS = [
    ["--batch", "get", "db/password"],
    ["--batch", "--json", "get", "a"],
    ["--batch", "get", "a", "--json"],
    ["--batch", "get", "a", "--field", "host", "-n"],
    ["--batch", "get", "a", "--field=host", "--version", "3"],
    ["--batch", "get", "a", "--stage", "PREVIOUS", "--no-newline"],
    ["--batch", "--provider", "aws_secrets_manager", "get", "a"],
    ["--batch", "--provider=local", "--no-prompt", "get", "a"],
    ["--batch", "set", "a"],
    ["--batch", "set", "a", "--description", "d", "--tag", "k=v", "--tag", "x="],
    ["--batch", "set", "a", "--type", "bytes", "--expected-version", "0"],
    ["--batch", "set", "a", "--generate", "password:length=20", "--json"],
    ["--batch", "set", "a", "--type=dict", "--description=with spaces"],
    ["--batch", "read", "vaultui://app/db#password"],
    ["--batch", "read", "vaultui://a", "-n", "--json"],
    ["--batch", "otp", "site/x"],
    ["--batch", "--json", "otp", "site/x"],
]
NOT_FAST = [
    ["get", "a"],  # without --batch: full CLI
    ["--batch", "get"],
    ["--batch", "get", "--field", "x"],
    ["--batch", "get", "a", "--version", "x"],
    ["--batch", "get", "a", "--bogus"],
    ["--batch", "set", "a", "--file", "f"],
    ["--batch", "set", "a", "--type", "json"],
    ["--batch", "set", "a", "value-in-argv"],
    ["--batch", "list"],
    ["--batch", "--weird", "get", "a"],
    ["--batch", "read", "app/db"],  # not a reference: the full CLI explains
    ["--batch", "read", "vaultui://a#"],
    ["--batch", "read", "vaultui://a", "--field", "x"],
    ["--batch", "get", "a", "--clip"],  # the clipboard needs the full CLI
    ["--batch", "get", "a", "-c"],
    ["--batch", "otp", "a", "-n"],
    ["--batch", "otp", "a", "--field", "x"],
]


@pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
def test_fast_parse_agrees_with_argparse(argv):
    fast = parse(argv)
    assert fast is not None
    full = vars(build_parser(plugins=False).parse_args(argv))
    for key, value in fast.items():
        assert full.get(key, None) == value, key


@pytest.mark.parametrize("argv", NOT_FAST, ids=" ".join)
def test_fast_parse_leaves_the_rest_to_argparse(argv):
    assert parse(argv) is None


@pytest.mark.parametrize(
    "env",
    [
        {"VAULTUI_HOME": "/srv/vaultui"},
        {"VAULTUI_HOME": "~/vh", "HOME": "/home/u"},
        {"VAULTUI_HOME": "relative/home"},
        {"VAULTUI_HOME": "/h/", "VAULTUI_AGENT_SOCKET": "/run/user/1/v.sock"},
        {"VAULTUI_HOME": "/h", "VAULTUI_AGENT_SOCKET": "~/s.sock", "HOME": "/home/u"},
        {"HOME": "/home/u"},
        {"HOME": "/home/u", "XDG_DATA_HOME": "/data"},
        {"HOME": "/home/u", "XDG_DATA_HOME": "  "},
        {"VAULTUI_HOME": "/h", "FEDZK_SECRETS_PROVIDER": " hashicorp_vault "},
    ],
)
def test_fast_paths_match_settings(env, monkeypatch):
    # platformdirs (behind Settings) reads HOME and XDG_DATA_HOME from os.environ
    monkeypatch.setenv("HOME", env.get("HOME", "/root"))
    if "XDG_DATA_HOME" in env:
        monkeypatch.setenv("XDG_DATA_HOME", env["XDG_DATA_HOME"])
    else:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    paths = fast_paths(env)
    settings = Settings.from_env(env)
    assert paths is not None
    assert paths.vault == os.path.abspath(settings.vault_path)
    assert paths.socket == os.path.abspath(settings.agent_socket_path)
    assert paths.provider == settings.provider
    assert fast_paths(env, "aws_secrets_manager").provider == "aws_secrets_manager"


# Modules already loaded at interpreter start (site, .pth hooks) are not ours.
PROBE = """
import sys
before = set(sys.modules)
from vaultui.cli import main
code = main(sys.argv[1:])
heavy = ("json", "argparse", "socket", "re", "pathlib", "logging", "typing", "dataclasses",
         "cryptography", "argon2", "sqlite3", "textual", "boto3", "hvac", "azure", "google",
         "core.config", "core.vault", "core.secrets_manager")
new = set(sys.modules) - before
loaded = sorted(m for m in new if m in heavy or m.split(".")[0] in heavy[8:])
print("LOADED", ",".join(loaded), file=sys.stderr)
sys.exit(code)
"""


def _probe(home: Path, *argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=clean_env(home),
        timeout=60,
        start_new_session=True,
    )
    err = proc.stderr.decode()
    loaded = err.rsplit("LOADED ", 1)[-1].strip()
    return proc.returncode, proc.stdout.decode(), loaded


def test_get_and_set_through_the_agent_import_only_builtins(home, tmp_path, agents):
    from tests.batch.conftest import run_vaultui

    assert run_vaultui(home, "--batch", "set", "k", stdin=b"value-k").code == 0
    agents.append(home / "agent.sock")
    assert run_vaultui(home, "--batch", "unlock", "--ttl", "2m").code == 0
    code, out, loaded = _probe(home, "--batch", "get", "k")
    assert (code, out, loaded) == (0, "value-k\n", "")
    code, out, loaded = _probe(home, "--batch", "set", "k2", "--tag", "a=b", stdin=b"v2-value")
    assert (code, loaded) == (0, "")
    code, out, loaded = _probe(home, "--batch", "read", "vaultui://k2", "-n")
    assert (code, out, loaded) == (0, "v2-value", "")
    totp = b"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"
    assert run_vaultui(home, "--batch", "set", "site/x", stdin=totp).code == 0
    code, out, loaded = _probe(home, "--batch", "otp", "site/x")
    assert (code, len(out.strip()), loaded) == (0, 6, "")


SCRIPT_PROBE = PROBE.replace(
    "from vaultui.cli import main\ncode = main(sys.argv[1:])",
    "sys.argv[0] = 'bin/vaultui'\ncode = 0\n"
    "with open('bin/vaultui') as script:\n    text = script.read()\n"
    "try:\n    exec(compile(text, 'bin/vaultui', 'exec'), {'__name__': '__main__'})\n"
    "except SystemExit as done:\n    code = done.code",
)


def test_the_installed_vaultui_script_adds_no_import(home, agents):
    """The `vaultui` command is bin/vaultui (pyproject script-files), not pip's
    entry-point wrapper, which imports `re` (~10 ms per command)."""
    from tests.batch.conftest import run_vaultui

    assert 'script-files = ["bin/vaultui"]' in (ROOT / "pyproject.toml").read_text()
    assert run_vaultui(home, "--batch", "set", "k", stdin=b"value-k").code == 0
    agents.append(home / "agent.sock")
    assert run_vaultui(home, "--batch", "unlock", "--ttl", "2m").code == 0
    proc = subprocess.run(  # -S: no site hooks, which may load `re` before the probe
        [sys.executable, "-S", "-c", SCRIPT_PROBE, "--batch", "get", "k"],
        capture_output=True,
        cwd=ROOT,
        env=clean_env(home),
        timeout=60,
        start_new_session=True,
    )
    loaded = proc.stderr.decode().rsplit("LOADED ", 1)[-1].strip()
    assert (proc.returncode, proc.stdout, loaded) == (0, b"value-k\n", "")


def test_batch_without_agent_imports_no_textual_or_sdk(home):
    from tests.batch.conftest import run_vaultui

    assert run_vaultui(home, "--batch", "set", "k", stdin=b"value-k").code == 0
    code, out, loaded = _probe(home, "--batch", "get", "k")
    assert code == 0 and out == "value-k\n"
    names = set(loaded.split(","))
    assert not names & {"textual", "boto3", "hvac", "azure", "google"}
