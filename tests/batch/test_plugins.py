"""Plugin command modules (named by the ``vaultui.commands`` entry point group):
``add_parser(subparsers)`` plus ``handler(args, manager) -> int``; broken ones are
reported, not fatal."""

from __future__ import annotations

import json

import pytest

from vaultui.batch import runner


@pytest.fixture
def plugins(monkeypatch):
    monkeypatch.setattr(
        runner, "plugin_modules", lambda: ["tests.batch.plugin_sample", "tests.batch.plugin_broken"]
    )


def test_plugin_handler_gets_an_unlocked_manager(cli, plugins):
    cli("--batch", "set", "x", stdin=b"12345")
    r = cli("--batch", "sample", "x")
    assert (r.code, r.out) == (0, "length 5\n")
    assert "plugin tests.batch.plugin_broken not loaded (RuntimeError: broken on purpose)" in r.err
    r = cli("--batch", "sample", "x", "--json", "--code", "3")
    assert r.code == 3 and json.loads(r.out) == {"length": 5, "source": "batch"}
    assert cli("--batch", "sample-novault").out == "manager is None\n"


def test_plugins_are_not_imported_for_builtin_commands(cli, plugins, monkeypatch):
    import sys

    sys.modules.pop("tests.batch.plugin_sample", None)
    cli("--batch", "set", "x", stdin=b"12345")
    r = cli("--batch", "list")
    assert r.code == 0 and "tests.batch.plugin_sample" not in sys.modules
    assert "broken" not in r.err


def test_unknown_command_lists_plugins(cli, plugins):
    r = cli("--batch", "--help")
    assert r.code == 0 and "sample" in r.out and "get" in r.out


def test_the_plugins_in_the_tree_load():
    import argparse

    loaded = runner.load_plugins(argparse.ArgumentParser().add_subparsers(), runner.common_parent())
    assert loaded == runner.plugin_modules()
