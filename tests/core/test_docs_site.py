"""The documentation site builds with no warning and no broken link, and its generated
reference pages cover every command and every environment variable."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_MKDOCS_2_WARNING="1")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    return out


def _page(site: Path, path: str) -> str:
    return html.unescape((site / path / "index.html").read_text(encoding="utf-8"))


def test_every_command_and_subcommand_is_in_the_cli_reference(site: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from mkdocs_hooks import _commands
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    from vaultui.batch.runner import build_parser

    page = _page(site, "reference/cli")
    commands = _commands(build_parser())
    assert len(commands) >= 30  # the built-ins and the plugins, sub-commands included
    for path, _, _ in commands:
        assert f">vaultui {' '.join(path)}<" in page, path  # a heading per command
    assert page.count("usage: vaultui") == len(commands) + 1  # and its --help


def test_every_environment_variable_is_in_the_reference(site: Path) -> None:
    from core.env_vars import ENV_VARS

    page = _page(site, "reference/environment")
    for var in ENV_VARS:
        assert var.name in page, var.name


def test_the_api_reference_is_rendered_from_docstrings(site: Path) -> None:
    page = _page(site, "reference/api")
    assert "get_secrets_manager" in page
    assert "The process-wide secrets manager" in page  # its docstring, not just its name


def test_the_nav_has_the_four_kinds_of_page(site: Path) -> None:
    home = _page(site, "")
    for section in ("Tutorials", "How-to guides", "Reference", "Explanation"):
        assert section in home
    for page in ("tutorials/first-vault", "how-to/backup-and-recovery", "contributing"):
        assert (site / page / "index.html").exists(), page
    assert (site / "screenshots" / "browser.png").exists()
