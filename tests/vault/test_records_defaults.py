"""Record defaults are never shared mutable state, and core leaves the host's garbage
collector alone unless the program asks (vaultui's own processes do)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from core.vault.records import SecretRecord
from tests.batch.conftest import ROOT


def _record(name: str) -> SecretRecord:
    return SecretRecord(name, "u" * 32, 1, 1, 1, False, "str")


@pytest.mark.parametrize("field", ["tags", "rotation", "extra", "stages"])
def test_a_default_mapping_cannot_be_changed_for_every_record(field: str) -> None:
    a, b = _record("a"), _record("b")
    with pytest.raises(TypeError):
        getattr(a, field)["x"] = "1"
    with pytest.raises(TypeError):
        getattr(a, field).update(x="1")
    with pytest.raises(TypeError):
        getattr(a, field).setdefault("x", "1")
    assert getattr(b, field) == {}
    # still a plain mapping to every reader: JSON, copies
    assert json.dumps(getattr(b, field)) == "{}"
    mine = dict(getattr(b, field))
    mine["x"] = "1"
    assert getattr(b, field) == {}
    assert copy.deepcopy(b) == b


def _gc_state_inside_pause(prelude: str) -> str:
    code = (
        "import gc\n"
        f"{prelude}\n"
        "from core.vault.gcpause import paused_gc\n"
        "with paused_gc():\n"
        "    print(gc.isenabled())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_core_never_pauses_an_embedders_collector_unasked() -> None:
    assert _gc_state_inside_pause("import core.secrets_manager") == "True"


def test_vaultuis_own_processes_ask_for_the_pause() -> None:
    prelude = (
        "import os, sys\n"
        "os.environ['VAULTUI_HOME'] = '/nonexistent-vaultui-home'\n"
        "from vaultui.cli import main\n"
        "import contextlib, io\n"
        "quiet = io.StringIO()\n"
        "with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):\n"
        "    try:\n"
        "        main(['--batch', 'nosuchcommand'])\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    assert _gc_state_inside_pause(prelude) == "False"
