"""The README's promises: two commands first, CI runs exactly its test command, and the
README is assembled from the current docs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _first_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block is not None
    return [line.split("#")[0].strip() for line in block.group(1).strip().splitlines()]


def test_first_lines_are_the_run_and_test_commands() -> None:
    run_cmd, test_cmd = _first_block()
    assert run_cmd.endswith("vaultui") and "pip install" in run_cmd
    assert test_cmd == "./scripts/test.sh"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    _, test_cmd = _first_block()
    assert f"exec {test_cmd}" in ci


def test_readme_is_built_from_the_current_docs() -> None:
    out = subprocess.run(
        [sys.executable, "scripts/build_readme.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout
