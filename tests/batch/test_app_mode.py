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
