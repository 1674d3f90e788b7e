"""Load: the Textual app itself (headless, driven with Pilot) saves secrets through its
editor's real worker while two ``--batch set`` writer processes and a merge +
sealed-sync loop (its own process) write the same vault, for a bounded time (10 s in
CI, 60 s in the long form). No lost update (every acknowledged value of every writer is
in the history), no deadlock (every writer and every app save finishes), Vault.verify()
and the audit chain pass; throughput is printed.

The app creates a new secret, then edits the secret the batch writers also write
(``shared``), in turn. Its edits are check-and-set against the version it loaded, so an
edit that lost a race is refused with the editor's "Not saved" banner; those are
counted, never lost silently.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.audit import AuditLog
from core.config import Settings
from core.secrets_manager import SecretsManager
from core.vault import KeySource, Vault
from tests.reliability.conftest import CI_TRIALS
from tests.reliability.harness import ROOT, child_env, moto_env

pytestmark = pytest.mark.slow

DURATION = (
    10.0 if int(os.environ.get("VAULTUI_RELIABILITY_TRIALS", CI_TRIALS)) <= CI_TRIALS else 60.0
)
SYNC_PAUSE = 0.05
"""Seconds the sync loop rests between rounds (a loop with no rest at all keeps SQLite's
write lock so busy that other processes' writes wait seconds: see docs/reliability.md)."""
SAVE_TIMEOUT = 60.0
"""An app save that takes longer than this is reported as a deadlock."""


async def _until(pilot: Any, condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + SAVE_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"deadlock: the app never got to {what}")
        await pilot.pause(0.01)


async def _save_once(app: Any, pilot: Any, name: str, value: str) -> bool:
    """Open the editor on ``name`` (new unless it is ``shared``), type ``value``, press
    Ctrl+S and wait for the outcome: True when saved, False when refused by
    check-and-set (the editor then is left with Esc)."""
    from vaultui.screens.dialogs import ConfirmScreen, ErrorScreen
    from vaultui.screens.editor import EditorScreen
    from vaultui.screens.editor_conflict import ConflictScreen

    if name == "shared":
        app.push_screen(EditorScreen(app.manager, name))  # what "e" does on it
    else:
        app.browser().action_new_secret()  # what "n" does
    await _until(
        pilot,
        lambda: isinstance(app.screen, EditorScreen) and app.screen.query("#editor-value"),
        "the editor",
    )
    editor = app.screen
    if name == "shared":
        await _until(pilot, lambda: editor.record is not None, "load the secret")
    else:
        editor.query_one("#editor-name").value = name
    editor.query_one("#editor-value").value = value
    await pilot.press("ctrl+s")
    await _until(
        pilot,
        lambda: app.screen is not editor or editor.conflict or not editor.saving,
        "finish a save",
    )
    if isinstance(app.screen, ErrorScreen):
        raise AssertionError(f"the app showed an error saving {name}")
    if editor.conflict:  # refused by check-and-set: the conflict dialog comes up
        await _until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        await pilot.press("escape")  # back to the form: this writer gives up its edit
        await _until(pilot, lambda: app.screen is editor, "back to the editor")
    elif app.screen is not editor:
        return True
    # refused (changed underneath, or the name was taken): "Not saved", nothing written
    message = str(editor.query_one("#editor-message").render())
    assert editor.conflict or "already exists" in message, message
    await pilot.press("escape")  # the form was changed: leaving asks first
    await _until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "leave without saving?")
    await pilot.press("y")
    await _until(pilot, lambda: app.screen is not editor, "leave the editor")
    return False


async def _app_writer(
    settings: Settings, stop: float, acked: list[tuple[str, str]], counts: dict[str, int]
) -> None:
    """Save through the app's editor until ``stop``: a new secret, then an edit of
    ``shared``, in turn. Acknowledged = the editor saved and closed."""
    from vaultui.app import create_app

    app = create_app(settings, panes=())
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await _until(pilot, lambda: app.browser() is not None and app.browser().loaded, "open")
            i = 0
            while time.monotonic() < stop:
                name = f"app/own-{i}" if i % 2 == 0 else "shared"
                if await _save_once(app, pilot, name, f"app-{i}"):
                    acked.append((name, f"app-{i}"))
                else:
                    counts["app refused"] += 1
                i += 1
    finally:
        app.cleanup()


def test_app_batch_writers_and_sync_at_once_lose_nothing(
    home: Path, tmp_path: Path, moto: str
) -> None:
    aws = moto_env(moto)
    mgr = SecretsManager(source="api")
    mgr.store_secret("shared", "initial")
    mgr.close()
    ks = KeySource.from_key_file(home / "vault.key")
    other_path = tmp_path / "other" / "vault.db"
    other_path.parent.mkdir()
    shutil.copy(home / "vault.db", other_path)

    stop = time.monotonic() + DURATION
    acked: dict[str, list[tuple[str, str]]] = {}
    errors: list[str] = []
    counts = {"merge": 0, "sync": 0, "app refused": 0}

    def batch_writer(ident: str) -> None:
        env = child_env(home)
        mine = acked.setdefault(ident, [])
        i = 0
        while time.monotonic() < stop:
            name = "shared" if i % 2 == 0 else f"{ident}/own"
            value = f"{ident}-{i}"
            proc = subprocess.run(
                [sys.executable, "-m", "vaultui", "--batch", "set", name],
                input=value.encode(),
                cwd=ROOT,
                env=env,
                capture_output=True,
                timeout=60,
            )
            if proc.returncode != 0:
                errors.append(f"{ident}: exit {proc.returncode}: {proc.stderr.decode()[-500:]}")
                return
            mine.append((name, value))
            i += 1

    def merge_and_sync() -> None:
        """The sync loop, in its own process (python -m tests.reliability._child)."""
        mine = acked.setdefault("merge", [])
        env = child_env(home, OTHER_KEY=str(home / "vault.key"), **aws)
        seconds = str(max(0.0, stop - time.monotonic()))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability._child",
                "merge_sync",
                "m",
                str(other_path),
                seconds,
                str(SYNC_PAUSE),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = proc.communicate(timeout=DURATION + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            errors.append("deadlock: the sync loop never finished")
        for line in out.decode().splitlines():
            kind, *rest = line.split()
            if kind == "merge":
                mine.append((rest[0], rest[1]))
                counts["merge"] += 1
            elif kind == "synced":
                counts["sync"] += 1
        if proc.returncode != 0:
            errors.append(f"merge/sync: exit {proc.returncode}: {err.decode()[-1500:]}")

    threads = [
        threading.Thread(target=batch_writer, args=("b1",)),
        threading.Thread(target=batch_writer, args=("b2",)),
        threading.Thread(target=merge_and_sync),
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    app_acked = acked.setdefault("app", [])
    try:
        asyncio.run(_app_writer(Settings.from_env(), stop, app_acked, counts))
    finally:
        for t in threads:
            t.join(timeout=DURATION + 120)
            assert not t.is_alive(), "deadlock: a writer never finished"
    elapsed = time.monotonic() - started
    assert not errors, errors

    with Vault.open(home / "vault.db", ks) as v:
        v.verify()
        seen: dict[str, set[str]] = {}
        for ident, writes in acked.items():
            assert writes, f"{ident} acknowledged nothing"
            for name, value in writes:
                if name not in seen:
                    seen[name] = {v.get(name, version=h.version).value for h in v.history(name)}
                assert value in seen[name], f"lost update: {ident} {name} {value}"
        with AuditLog(home / "logs" / "secrets_audit.log", v.derive_key("audit")) as audit:
            report = audit.verify()
        assert report.ok, [str(i) for i in report.issues[:5]]
    total = sum(len(w) for w in acked.values())
    print(
        f"[reliability] load: {elapsed:.1f}s, {total} acknowledged writes "
        f"({total / elapsed:.1f}/s): "
        + ", ".join(f"{k}={len(w)}" for k, w in sorted(acked.items()))
        + f", app edits refused by check-and-set={counts['app refused']}"
        + f", merges={counts['merge']}, sealed syncs={counts['sync']}, "
        f"audit lines={report.lines}"
    )
