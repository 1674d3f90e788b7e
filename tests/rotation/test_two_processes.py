"""Two workers in two processes on one vault file never rotate a secret twice."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from core.rotation import RotationManager

from .conftest import START

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_worker_processes_never_double_rotate(vault_and_key, tmp_path):
    vault, key = vault_and_key
    names = [f"svc/{i:02d}/token" for i in range(12)]
    manager = RotationManager(vault, clock=lambda: START, env={})
    for name in names:
        vault.put(name, "initial-value", at=START)
        # a slow apply hook widens the window in which both workers want the same secret
        manager.set_policy(name, "DAILY", hooks={"apply": "sleep 0.05"})
    now = (START + timedelta(days=3)).isoformat()
    cmd = [sys.executable, "-m", "tests.rotation.worker_proc", str(vault.path), str(key), now, "3"]
    procs = [
        subprocess.Popen(
            [*cmd, order], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for order in ("forward", "reverse")
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    rotated = [json.loads(out)["rotated"] for out, _ in outputs]
    counts = Counter(rotated[0] + rotated[1])
    assert counts == Counter(names)  # each exactly once, across both processes
    for name in names:
        assert vault.record(name).version == 2
        assert [h.why for h in vault.history(name)].count("rotation (scheduled)") == 1
    assert manager.due(START + timedelta(days=3)) == []
