"""The README's promises: two commands first, CI runs exactly its test command, it stays
short, its links lead somewhere, and its quick start works as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _text() -> str:
    return README.read_text(encoding="utf-8")


def _first_block() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", _text(), re.S)
    assert block is not None
    return [line.split("#")[0].strip() for line in block.group(1).strip().splitlines()]


def _section_block(title: str) -> list[str]:
    """The lines of the first bash block under the heading ``## title``."""
    section = _text().split(f"## {title}\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    return block.group(1).strip().splitlines()


def test_first_lines_are_the_run_and_test_commands() -> None:
    run_cmd, test_cmd = _first_block()
    assert run_cmd.endswith("vaultui") and "pip install" in run_cmd
    assert test_cmd == "./scripts/test.sh"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    _, test_cmd = _first_block()
    assert f"exec {test_cmd}" in ci


def test_readme_is_short_and_says_how_to_install_under_pep_668() -> None:
    text = _text()
    assert len(text.splitlines()) < 250
    assert "python3 -m venv" in text and "pipx install" in text
    assert "externally-managed-environment" in text
    assert "](screenshots/" in text.split("## Install")[0]  # a screenshot before install


def _slug(title: str) -> str:
    title = re.sub(r"[`*_]", "", title).strip().lower()
    return re.sub(r"\s+", "-", re.sub(r"[^\w\- ]", "", title))


def _anchors(path: Path) -> set[str]:
    text, fence, out = path.read_text(encoding="utf-8"), False, set()
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"^#{1,6}\s+(.*)$", line)):
            out.add(_slug(m.group(1)))
    return out


def test_every_link_in_the_readme_leads_to_a_file_and_heading() -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", _text())
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert len(local) > 20
    for link in local:
        target, _, anchor = link.partition("#")
        path = ROOT / target if target else README
        assert path.exists(), link
        if anchor:
            assert anchor in _anchors(path), link


def test_the_quick_start_works_as_written(tmp_path: Path) -> None:
    """Each quick-start line runs in a real shell (the two that open the app excepted)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "vaultui").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m vaultui "$@"\n')
    # a stand-in for psql that says what it received, never the value itself
    (bin_dir / "psql").write_text(
        '#!/bin/sh\necho "psql got a ${#PGPASSWORD}-character password"\n'
    )
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("VAULTUI_", "FEDZK_", "VAULT_"))
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        VAULTUI_HOME=str(tmp_path / "home"),
    )
    lines = _section_block("Quick start")
    runnable = [
        line for line in lines if line.split("#")[0].strip() not in ("vaultui --demo", "vaultui")
    ]
    assert len(runnable) == 4, lines
    outputs = []
    try:
        for line in runnable:
            out = subprocess.run(
                ["bash", "-c", line],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )
            assert out.returncode == 0, (line, out.stderr)
            outputs.append(out.stdout)
    finally:
        subprocess.run(
            ["bash", "-c", "vaultui --batch lock"], env=env, capture_output=True, timeout=30
        )
    value = re.search(r"printf '%s' '([^']+)'", runnable[0]).group(1)
    assert outputs[1].strip() == value  # `get` printed what `set` stored
    assert f"psql got a {len(value)}-character password" in outputs[3]
    assert value not in outputs[3]
