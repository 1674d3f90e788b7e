"""MkDocs hooks: the reference pages generated from the code, and files kept outside docs/.

- ``reference/cli.md`` is rendered from ``vaultui.batch.runner.build_parser()`` (every
  command and sub-command with its ``--help``), ``reference/environment.md`` from
  ``core.env_vars.ENV_VARS``: neither can drift from the code.
- The screenshots (``screenshots/``) and ``CONTRIBUTING.md`` live at the top of the
  repository, where GitHub shows them; they are added to the site as they are.
- A page under ``docs/`` that the nav does not list yet is appended under "More", so a
  new page is never left unreachable.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HELP_COLUMNS = "100"
"""The width argparse wraps ``--help`` at, fixed so the page is the same everywhere."""

CLI_INTRO = """# Command-line reference

Generated from the command's own parser: what `vaultui --help` and
`vaultui --batch COMMAND --help` print. Every command runs headless as
`vaultui --batch COMMAND ...` (`vaultui COMMAND ...` works too). Secret values are read
from stdin, a file or a generator, never from the command line. The
[headless mode guide](../batch.md) explains each command with examples.

Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 wrong key or locked,
5 integrity failure, 6 provider failure, 7 conflict.
"""

ENV_INTRO = """# Environment variables

Generated from `core/env_vars.py`, the table that a test compares with the variables the
code reads. Which key opens the vault, first match wins: a passphrase typed in the app
(or held by the unlock agent), `VAULTUI_PASSPHRASE_FILE`, `FEDZK_ENCRYPTION_MASTER_KEY`,
`VAULTUI_KEY_FILE`, `$VAULTUI_HOME/vault.key`.
"""


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser, str]]:
    """Every (command path, parser, one-line help) below ``parser``, depth first."""
    out = []
    for action in parser._actions:  # argparse keeps sub-parsers only here
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help or "" for a in action._choices_actions}
        for name, sub in action.choices.items():
            out.append(((*path, name), sub, helps.get(name, "")))
            out += _commands(sub, (*path, name))
    return out


def cli_markdown() -> str:
    """The command-line reference page."""
    from vaultui.batch.runner import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        parser = build_parser()
        parts = [CLI_INTRO, "## vaultui", "", "```text", parser.format_help().rstrip(), "```"]
        for path, sub, summary in _commands(parser):
            level = "#" * min(2 + len(path) - 1, 4)
            parts += ["", f"{level} vaultui {' '.join(path)}", ""]
            if summary:
                parts += [summary[0].upper() + summary[1:] + ".", ""]
            parts += ["```text", sub.format_help().rstrip(), "```"]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts) + "\n"


def env_markdown() -> str:
    """The environment-variable reference page."""
    from core.env_vars import markdown_table

    return ENV_INTRO + "\n" + markdown_table()


def _nav_pages(nav: Any) -> set[str]:
    pages: set[str] = set()
    if isinstance(nav, str):
        pages.add(nav)
    elif isinstance(nav, list):
        for item in nav:
            pages |= _nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            pages |= _nav_pages(value)
    return pages


GENERATED = {"reference/cli.md": cli_markdown, "reference/environment.md": env_markdown}


def on_config(config: Any) -> Any:
    """Append pages that exist under docs/ but are missing from the nav."""
    listed = _nav_pages(config.nav or [])
    docs = Path(config.docs_dir)
    extra = sorted(
        p.relative_to(docs).as_posix()
        for p in docs.rglob("*.md")
        if p.relative_to(docs).as_posix() not in listed
    )
    if extra and config.nav is not None:
        config.nav.append({"More": extra})
    return config


def on_files(files: Any, config: Any) -> Any:
    """Add the generated reference pages, the screenshots and CONTRIBUTING.md."""
    from mkdocs.structure.files import File

    for uri, make in GENERATED.items():
        files.append(File.generated(config, uri, content=make()))
    for shot in sorted((ROOT / "screenshots").glob("*.png")):
        files.append(File.generated(config, f"screenshots/{shot.name}", abs_src_path=str(shot)))
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    # links in CONTRIBUTING.md are relative to the repository's top; the page sits in docs/
    contributing = contributing.replace("](docs/", "](")
    files.append(File.generated(config, "contributing.md", content=contributing))
    return files
