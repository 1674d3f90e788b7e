"""The type checker passes with the project's configuration, and that configuration keeps
``core`` strict and checks ``vaultui`` (with ``check_untyped_defs``). Runs
``python -m mypy`` as a developer would (from the repository root, reading
``[tool.mypy]`` in pyproject.toml), with a fresh cache so a stale one cannot hide an
error.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# what --strict turns on that a per-module section can set (warn_redundant_casts and
# warn_unused_configs are global; warn_unused_ignores is set globally)
STRICT_FLAGS = {
    "disallow_any_generics": True,
    "disallow_subclassing_any": True,
    "disallow_untyped_calls": True,
    "disallow_untyped_defs": True,
    "disallow_incomplete_defs": True,
    "check_untyped_defs": True,
    "disallow_untyped_decorators": True,
    "warn_return_any": True,
    "implicit_reexport": False,
    "strict_equality": True,
    "extra_checks": True,
}


def _config() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["tool"]["mypy"]


def test_core_is_checked_strictly() -> None:
    config = _config()
    assert {"core", "vaultui"} <= set(config["packages"])
    assert config["check_untyped_defs"] is True
    assert config["warn_unused_ignores"] is True
    assert config["warn_redundant_casts"] is True
    core = [o for o in config["overrides"] if o["module"] == ["core.*"]]
    assert len(core) == 1
    assert {k: core[0].get(k) for k in STRICT_FLAGS} == STRICT_FLAGS


def test_mypy_passes(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout
