"""``completion bash|zsh|fish`` and ``__complete-names``: the scripts load in real shells,
bash completes commands, flags and (from a running agent only) secret names."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch.conftest import ROOT, run_vaultui
from tests.conftest import clean_env

DRIVE = r"""
source "$1"
complete -p vaultui
t() {
  COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
  read -ra COMP_WORDS <<< "$COMP_LINE"
  [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  _shtab_vaultui vaultui "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  echo "${COMPREPLY[*]}"
}
t "vaultui --batch g"
t "vaultui --batch get --"
t "vaultui --batch get ap"
t "vaultui --batch history "
t "vaultui --batch purge "
"""


def _shell_env(home: Path, tmp_path: Path) -> dict[str, str]:
    """The test home's environment with a ``vaultui`` on PATH that runs this tree."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "vaultui"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m vaultui "$@"\n')
    wrapper.chmod(0o755)
    env = clean_env(home, PYTHONPATH=str(ROOT))
    env["PATH"] = f"{bindir}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def _script(home: Path, tmp_path: Path, shell: str) -> Path:
    r = run_vaultui(home, "--batch", "completion", shell)
    assert r.code == 0, r.err
    path = tmp_path / f"vaultui.{shell}"
    path.write_bytes(r.outb)
    return path


def _bash(script: Path, env: dict[str, str]) -> list[str]:
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", DRIVE, "drive", str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_bash_completes_commands_flags_and_names_from_the_agent(cli, home, tmp_path, agents):
    for name in ("apple/key", "apricot", "banana"):
        assert cli("--batch", "set", name, stdin=b"Completion-Value-5521").code == 0
    script = _script(home, tmp_path, "bash")
    env = _shell_env(home, tmp_path)

    # no agent: commands and flags, but no names (and no prompt, no error)
    spec, commands, flags, names, all_names, deleted = _bash(script, env)
    assert spec == "complete -o bashdefault -F _shtab_vaultui vaultui"
    assert commands.split() == ["get", "grep", "git"]
    assert {"--field", "--version", "--stage", "--no-newline"} <= set(flags.split())
    assert names == "" and all_names == "" and deleted == ""

    agents.append(home / "agent.sock")
    assert cli("--batch", "unlock", "--ttl", "2m").code == 0
    assert cli("--batch", "delete", "banana").code == 0
    _, _, _, names, all_names, deleted = _bash(script, env)
    assert names.split() == ["apple/key", "apricot"]
    assert all_names.split() == ["apple/key", "apricot"]
    assert deleted.split() == ["banana"]  # purge and undelete take deleted names
    assert "Completion-Value" not in names + all_names
    log = [json.loads(x) for x in (home / "logs" / "secrets_audit.log").read_text().splitlines()]
    assert any(e["operation"] == "complete_names" and e["source"] == "agent" for e in log)


def test_complete_names_without_an_agent_is_silent_and_opens_nothing(home, tmp_path):
    start = time.monotonic()
    r = run_vaultui(home, "--batch", "__complete-names", "--", "a")
    assert (r.code, r.out, r.err) == (0, "", "")
    assert time.monotonic() - start < 10
    assert not home.exists()  # no vault was created or opened, no key file made


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse(home, tmp_path, shell):
    script = _script(home, tmp_path, shell)
    text = script.read_text()
    assert "__complete-names" in text and "get" in text
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    proc = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_fish_completes_names_from_the_agent(cli, home, tmp_path, agents):
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    assert cli("--batch", "set", "apple/key", stdin=b"x").code == 0
    assert cli("--batch", "set", "banana", stdin=b"x").code == 0
    agents.append(home / "agent.sock")
    assert cli("--batch", "unlock", "--ttl", "2m").code == 0
    script = _script(home, tmp_path, "fish")
    proc = subprocess.run(
        ["fish", "--no-config", "-c", f"source {script}; complete -C 'vaultui --batch get ap'"],
        capture_output=True,
        text=True,
        env=_shell_env(home, tmp_path),
        timeout=60,
    )
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == ["apple/key"]


ZSH_DRIVE = r"""
autoload -U compinit && compinit -u -D
eval "$(cat "$1")"
print -r -- "registered=$_comps[vaultui]"
compadd() { shift; print -r -- "${(j: :)${(P)1}}" }  # print what would be offered
words=(vaultui --batch get ap); PREFIX=ap; _vaultui_secret_names
words=(vaultui --batch undelete ""); PREFIX=""; _vaultui_secret_names
"""


def test_zsh_registers_and_completes_names_from_the_agent(cli, home, tmp_path, agents):
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    for name in ("apple/key", "apricot", "banana"):
        assert cli("--batch", "set", name, stdin=b"x").code == 0
    agents.append(home / "agent.sock")
    assert cli("--batch", "unlock", "--ttl", "2m").code == 0
    assert cli("--batch", "delete", "banana").code == 0
    script = _script(home, tmp_path, "zsh")
    proc = subprocess.run(
        ["zsh", "-f", "-c", ZSH_DRIVE, "drive", str(script)],
        capture_output=True,
        text=True,
        env=_shell_env(home, tmp_path),
        timeout=60,
    )
    assert proc.stdout.splitlines() == ["registered=_shtab_vaultui", "apple/key apricot", "banana"]
