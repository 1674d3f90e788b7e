"""Make the README's screenshots: drive the app on the demo vault, save SVG + PNG.

    python scripts/screenshots.py [--out screenshots] [--size 120x36]

Every screen is shot from the demo vault (``vaultui --demo``: obviously fake values, fixed
dates), so the images leak nothing and change only when a screen changes. PNGs are made
from the SVGs with ``cairosvg`` (pip install cairosvg; needs the system's libcairo2) or,
if that is missing, ``rsvg-convert`` (apt install librsvg2-bin). The SVG's font is
swapped for DejaVu Sans Mono for the PNG so columns line up without Fira Code installed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

Step = Callable[[object], Awaitable[None]]


async def _wait(pilot, condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app never reached the state for {condition}")
        await pilot.pause(0.02)


def _name(app) -> str:
    return type(app.screen).__name__


async def _browser(pilot) -> None:
    app = pilot.app
    await _wait(pilot, lambda: app.browser() is not None and app.browser().loaded)


async def _open(pilot, name: str) -> None:
    await _browser(pilot)
    pilot.app.browser().query_one("#filter").value = name
    await pilot.pause(0.1)
    await pilot.press("enter")
    await _wait(pilot, lambda: _name(pilot.app) == "DetailScreen")
    await _wait(pilot, lambda: pilot.app.screen.record is not None)
    pilot.app.screen.query_one("#detail-note").update("")


async def _detail_masked(pilot) -> None:
    await _open(pilot, "prod/db/password")


async def _detail_revealed(pilot) -> None:
    await _open(pilot, "prod/db/config")
    await pilot.press("r")
    await _wait(pilot, lambda: pilot.app.screen.query_one("#detail-value").revealed)


async def _editor(pilot) -> None:
    await _open(pilot, "prod/db/config")
    await pilot.press("e")
    await _wait(pilot, lambda: _name(pilot.app) == "EditorScreen")
    await _wait(pilot, lambda: len(pilot.app.screen.query("FieldRow")) == 5)


async def _history(pilot) -> None:
    await _open(pilot, "staging/db/password")
    await pilot.press("h")
    await _wait(pilot, lambda: _name(pilot.app) == "HistoryScreen")
    await _wait(pilot, lambda: pilot.app.screen.query_one("#history-table").row_count > 0)


async def _help(pilot) -> None:
    await _browser(pilot)
    await pilot.press("question_mark")
    await _wait(pilot, lambda: _name(pilot.app) == "HelpScreen")


async def _palette(pilot) -> None:
    await _browser(pilot)
    await pilot.press("ctrl+p")
    await _wait(pilot, lambda: _name(pilot.app) == "CommandPalette")
    await pilot.pause(0.5)


async def _generator(pilot) -> None:
    await _browser(pilot)
    await pilot.press("n")
    await _wait(pilot, lambda: _name(pilot.app) == "EditorScreen")
    pilot.app.screen.query_one("#editor-name").value = "prod/new/password"
    await pilot.press("ctrl+g")
    await _wait(pilot, lambda: _name(pilot.app) == "GeneratorScreen")


async def _unlock(pilot) -> None:
    await _wait(pilot, lambda: _name(pilot.app) == "UnlockScreen")
    pilot.app.screen.query_one("#passphrase").value = "not a real passphrase"
    await pilot.press("enter", *"not a")


async def _filter_shot(pilot) -> None:
    await _browser(pilot)
    await pilot.press("slash", *"prod")
    await _wait(pilot, lambda: len(pilot.app.browser().table.rows) < 12)


SHOTS: list[tuple[str, Step, bool]] = [
    # (file name, steps, demo vault?)
    ("browser", _browser, True),
    ("filter", _filter_shot, True),
    ("detail-masked", _detail_masked, True),
    ("detail-revealed", _detail_revealed, True),
    ("editor", _editor, True),
    ("history", _history, True),
    ("help", _help, True),
    ("palette", _palette, True),
    ("generator", _generator, True),
    ("unlock", _unlock, False),
]


async def shoot(name: str, steps: Step, demo: bool, out: Path, size: tuple[int, int]) -> Path:
    """Run the app, perform ``steps``, save ``out/name.svg``; return its path."""
    from core.config import Settings
    from vaultui.app import create_app

    home = Path(tempfile.mkdtemp(prefix="vaultui-shots-"))
    env = {"VAULTUI_HOME": str(home / "home"), "VAULTUI_ARGON2": "t=1,m=1024,p=1"}
    settings = dataclasses.replace(Settings.from_env(env), idle_lock_seconds=0)
    app = create_app(settings, demo=demo, panes=())
    try:
        async with app.run_test(size=size) as pilot:
            await steps(pilot)
            await pilot.pause(0.2)
            path = Path(app.save_screenshot(f"{name}.svg", str(out)))
    finally:
        app.cleanup()
        shutil.rmtree(home, ignore_errors=True)
    return path


def to_png(svg: Path) -> Path:
    """Convert ``svg`` to a PNG beside it (cairosvg, else rsvg-convert)."""
    png = svg.with_suffix(".png")
    text = svg.read_text().replace("Fira Code, monospace", "DejaVu Sans Mono, monospace")
    try:
        import cairosvg

        cairosvg.svg2png(bytestring=text.encode(), write_to=str(png))
        return png
    except ImportError:
        pass
    if shutil.which("rsvg-convert") is None:
        raise SystemExit("install cairosvg (pip) or rsvg-convert (apt: librsvg2-bin) for PNGs")
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as tmp:
        tmp.write(text)
    try:
        subprocess.run(["rsvg-convert", "-o", str(png), tmp.name], check=True)
    finally:
        os.unlink(tmp.name)
    return png


def main(argv: list[str] | None = None) -> int:
    """Shoot every screen; print the files written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument("--size", default="120x36", help="terminal size, COLSxROWS")
    parser.add_argument("--only", action="append", help="shoot only these screens")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cols, rows = (int(x) for x in args.size.split("x"))
    for name, steps, demo in SHOTS:
        if args.only and name not in args.only:
            continue
        svg = asyncio.run(shoot(name, steps, demo, out, (cols, rows)))
        png = to_png(svg)
        print(f"{svg.relative_to(out.parent)}  {png.relative_to(out.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
