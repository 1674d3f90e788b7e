"""Make the documentation's screenshots: drive the app on the demo vault, save SVG + PNG.

    python scripts/screenshots.py [--out screenshots] [--size 120x36]

Every screen is shot from the demo vault (``vaultui --demo``: obviously fake values, fixed
dates), so the images leak nothing and change only when a screen changes. The unlock and
create screens use a throwaway non-demo home (a vault made with a demo passphrase, or none).
The pane shots (audit, rotation, backups, sync) show the demo's own activity (an audit
trail with an alert, a backup chain, two remotes and a conflict: vaultui.demo_activity),
exactly as ``vaultui --demo`` shows it. The throwaway home's path is shown as the default
vault home (platformdirs) and the random vault id is masked. What still moves between
runs: audit timestamps, backup ages and the rotation countdowns (they are relative to
now). PNGs are made from the SVGs with ``cairosvg`` (pip install cairosvg; needs the
system's libcairo2) or, if that is missing, ``rsvg-convert`` (apt install librsvg2-bin).
The SVG's font is swapped for DejaVu Sans Mono for the PNG so columns line up without
Fira Code installed. All sixteen take about 15 seconds.
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
    from textual.widgets import Input

    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False  # a steady cursor: the same image every run
    await pilot.pause(0.5)


async def _generator(pilot) -> None:
    await _browser(pilot)
    await pilot.press("n")
    await _wait(pilot, lambda: _name(pilot.app) == "EditorScreen")
    pilot.app.screen.query_one("#editor-name").value = "prod/new/password"
    await pilot.press("ctrl+g")
    await _wait(pilot, lambda: _name(pilot.app) == "GeneratorScreen")


async def _create(pilot) -> None:
    await _wait(pilot, lambda: _name(pilot.app) == "UnlockScreen")
    pilot.app.screen.query_one("#passphrase").value = "not a real passphrase"
    await pilot.press("enter", *"not a")


DEMO_PASSPHRASE = "demo passphrase, not a real one"  # noqa: S105 (throwaway demo vault)
"""The passphrase of the throwaway vault the unlock screen is shot on."""


def _passphrase_vault(settings) -> None:
    """Create a small vault protected by :data:`DEMO_PASSPHRASE` in ``settings.home``."""
    from core.secrets_manager import SecretsManager
    from core.unlock import kdf_from_settings
    from core.vault import KeySource

    manager = SecretsManager(
        settings,
        key_source=KeySource.passphrase(DEMO_PASSPHRASE),
        source="demo",
        kdf=kdf_from_settings(settings),
    )
    manager.close()


async def _unlock(pilot) -> None:
    app = pilot.app
    await _wait(pilot, lambda: _name(app) == "UnlockScreen" and app.screen.mode == "unlock")
    await pilot.press(*"wrong guess", "enter")
    await _wait(pilot, lambda: app.screen.failed_attempts == 1)
    await pilot.press(*"demo pass")


async def _filter_shot(pilot) -> None:
    await _browser(pilot)
    await pilot.press("slash", *"prod")
    await _wait(pilot, lambda: len(pilot.app.browser().table.rows) < 12)


# ---------------------------------------------------------------------- status and panes


def _manager(app):
    """The app's real facade (a deferred one is opened)."""
    manager = app.manager
    return manager.ready() if hasattr(manager, "ready") else manager


def shown_home() -> str:
    """The default vault home (platformdirs) as a user sees it, with ``~`` for $HOME."""
    from core.config import default_home

    home, user_home = str(default_home()), str(Path.home())
    return "~" + home[len(user_home) :] if home.startswith(user_home + os.sep) else home


def _masked_status(app, status: dict) -> dict:
    """``status`` with the throwaway home's path (shown as the default home) and the
    random vault id replaced."""
    home = str(app.settings.home)
    masked = {}
    for key, value in status.items():
        if isinstance(value, str):
            value = value.replace(home, shown_home())
        masked[key] = value
    if "vault_id" in masked:
        masked["vault_id"] = "(random, one per vault)"
    return masked


async def _status(pilot) -> None:
    app = pilot.app
    await _browser(pilot)
    await pilot.press("i")
    await _wait(pilot, lambda: _name(app) == "StatusScreen")
    body = app.screen.query_one("#status-body")
    await _wait(pilot, lambda: str(body.render()) != "Reading…")
    status = _manager(app).get_status(health=True)
    app.screen._show(_masked_status(app, status))
    await pilot.press("v")
    verify = app.screen.query_one("#verify-result")
    await _wait(pilot, lambda: str(verify.render()).startswith("Integrity OK"))


async def _audit(pilot) -> None:
    app = pilot.app
    await _browser(pilot)
    await pilot.press("a")
    await _wait(pilot, lambda: _name(app) == "AuditScreen" and app.screen.loaded)
    await _wait(pilot, lambda: app.screen.report is not None)


async def _rotation(pilot) -> None:
    app = pilot.app
    await _browser(pilot)
    await pilot.press("o")
    await _wait(pilot, lambda: _name(app) == "RotationScreen" and app.screen._loaded)


async def _backups(pilot) -> None:
    app = pilot.app
    await _browser(pilot)
    await pilot.press("b")
    await _wait(pilot, lambda: _name(app) == "BackupsScreen" and app.screen.rows)
    title = app.screen.query_one("#backups-title")
    title.update(str(title.render()).replace(str(app.settings.home), shown_home()))


async def _sync(pilot) -> None:
    app = pilot.app
    await _browser(pilot)
    await pilot.press("y")
    await _wait(pilot, lambda: _name(app) == "SyncScreen" and app.screen.loaded)


@dataclasses.dataclass(frozen=True)
class Shot:
    """One screenshot: its file name, the steps to reach it, and the vault it needs."""

    name: str
    steps: Step
    demo: bool = True
    panes: tuple[str, ...] = ()
    prepare: Callable[[object], None] | None = None
    """Run on the settings before the app starts (a non-demo vault to unlock)."""


SHOTS: list[Shot] = [
    Shot("unlock", _unlock, demo=False, prepare=_passphrase_vault),
    Shot("create", _create, demo=False),
    Shot("browser", _browser),
    Shot("filter", _filter_shot),
    Shot("detail-masked", _detail_masked),
    Shot("detail-revealed", _detail_revealed),
    Shot("editor", _editor),
    Shot("generator", _generator),
    Shot("history", _history),
    Shot("help", _help),
    Shot("palette", _palette),
    Shot("status", _status),
    Shot("audit", _audit, panes=("audit",)),
    Shot("rotation", _rotation, panes=("rotation",)),
    Shot("backups", _backups, panes=("backups",)),
    Shot("sync", _sync, panes=("sync",)),
]


async def shoot(shot: Shot, out: Path, size: tuple[int, int]) -> Path:
    """Run the app, perform the shot's steps, save ``out/NAME.svg``; return its path."""
    from core.config import Settings
    from vaultui.app import create_app

    home = Path(tempfile.mkdtemp(prefix="vaultui-shots-"))
    env = {"VAULTUI_HOME": str(home / "home"), "VAULTUI_ARGON2": "t=1,m=1024,p=1"}
    settings = dataclasses.replace(Settings.from_env(env), idle_lock_seconds=0)
    if shot.prepare is not None:
        shot.prepare(settings)
    app = create_app(settings, demo=shot.demo, panes=shot.panes)
    app.animation_level = "none"  # the palette fades in: shoot its end state
    try:
        async with app.run_test(size=size) as pilot:
            await shot.steps(pilot)
            await pilot.pause(0.2)
            path = Path(app.save_screenshot(f"{shot.name}.svg", str(out)))
    finally:
        app.cleanup()
        shutil.rmtree(home, ignore_errors=True)
    return path


PNG_GLYPHS = {"\N{RIGHT-POINTING MAGNIFYING GLASS}": "\N{TELEPHONE RECORDER}"}
"""Glyphs DejaVu Sans Mono lacks (the palette's search icon), and a look-alike it has."""


def to_png(svg: Path) -> Path:
    """Convert ``svg`` to a PNG beside it (cairosvg, else rsvg-convert)."""
    png = svg.with_suffix(".png")
    text = svg.read_text().replace("Fira Code, monospace", "DejaVu Sans Mono, monospace")
    for glyph, stand_in in PNG_GLYPHS.items():
        text = text.replace(glyph, stand_in)
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
    for shot in SHOTS:
        if args.only and shot.name not in args.only:
            continue
        svg = asyncio.run(shoot(shot, out, (cols, rows)))
        png = to_png(svg)
        print(f"{svg.relative_to(out.parent)}  {png.relative_to(out.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
