"""``vaultui`` alone starts the app, ``--demo`` the demo; nothing else is parsed as a
command. The app module is replaced by a recorder (no Textual here)."""

from __future__ import annotations

import sys
import types

import pytest

from vaultui.cli import main


@pytest.fixture
def calls(home, monkeypatch) -> list[tuple[object, bool]]:
    seen: list[tuple[object, bool]] = []
    fake = types.ModuleType("vaultui.app")

    def run_app(settings, demo=False):
        seen.append((settings, demo))
        return 0

    fake.run_app = run_app
    monkeypatch.setitem(sys.modules, "vaultui.app", fake)
    # as if started in a terminal (pytest's stdio is not one)
    monkeypatch.setattr("vaultui.batch.runner.stdio_is_terminal", lambda: True)
    return seen


def test_no_arguments_runs_the_app(calls, home):
    assert main([]) == 0
    settings, demo = calls[-1]
    assert demo is False and settings.home == home and settings.provider == "local"


def test_demo_and_provider(calls):
    assert main(["--demo", "--provider", "aws_secrets_manager"]) == 0
    settings, demo = calls[-1]
    assert demo is True and settings.provider == "aws_secrets_manager"


def test_batch_never_starts_the_app(calls, capsys):
    assert main(["--batch", "status"]) == 0
    assert calls == []


@pytest.mark.parametrize("argv", [[], ["--demo"]])
@pytest.mark.parametrize(
    ("stdin_kind", "stdout_kind"), [("null", "file"), ("null", "pipe"), ("pty", "file")]
)
def test_without_a_terminal_the_app_refuses_instead_of_hanging(
    home, tmp_path, argv, stdin_kind, stdout_kind
):
    import os
    import pty
    import subprocess

    from tests.batch.conftest import ROOT
    from tests.conftest import clean_env

    out = tmp_path / "out"
    master, slave = pty.openpty()
    try:
        with out.open("wb") as sink:
            proc = subprocess.run(
                [sys.executable, "-m", "vaultui", *argv],
                stdin=slave if stdin_kind == "pty" else subprocess.DEVNULL,
                stdout=sink if stdout_kind == "file" else subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=ROOT,
                env=clean_env(home),
                timeout=30,
                start_new_session=True,
            )
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 2
    assert b"vaultui needs a terminal; use --batch for scripts" in proc.stderr
    assert out.read_bytes() == b"" and not proc.stdout
    assert b"\x1b[" not in proc.stderr
