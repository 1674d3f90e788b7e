"""The Members pane: the owner sees each member with key kind and ssh-keygen's
fingerprint, adds one from a pasted public key (bad keys refused in the dialog),
removes one after a dialog that lists every secret to be marked exposed and says the
vault is rekeyed (behind a progress bar); a member sees the list read-only."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from core.config import Settings
from core.errors import WrongKeyError
from core.members import add_member, exposed_secrets
from core.secrets_manager import SecretsManager
from core.vault import KeySource, Vault
from tests.trail import app_events
from tests.tui.conftest import SIZE, run, screen_name, wait_browser, wait_for
from vaultui.app import create_app
from vaultui.palette import screen_commands

SECRETS = ["app/api_key", "app/db", "web/session"]


@pytest.fixture
def team(key_file_vault: Settings, tmp_path: Path) -> dict:
    """The key-file vault with member bob (a real ssh-ed25519 key) and carol's age key."""
    import pyrage

    keys = tmp_path / "keys"
    keys.mkdir()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bob@laptop", "-f", keys / "bob"],
        check=True,
    )
    manager = SecretsManager(key_file_vault, source="test")
    try:
        add_member(manager, "bob", (keys / "bob.pub").read_text())
    finally:
        manager.close()
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", keys / "bob.pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    carol = str(pyrage.x25519.Identity.generate().to_public())
    return {"settings": key_file_vault, "keys": keys, "bob_fp": fingerprint, "carol": carol}


def screen_name_of(screen) -> str:
    return type(screen).__name__


def _rows(app) -> list[list[str]]:
    pane = next(s for s in app.screen_stack if screen_name_of(s) == "MembersScreen")
    table = pane.query_one("#members-table")
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def _open_members(pilot) -> None:
    await pilot.press("M")
    await wait_for(pilot, lambda: screen_name(pilot.app) == "MembersScreen")


def _ops(app, op: str) -> list[bool]:
    return [e["success"] for e in app_events(app) if e["operation"] == op]


def test_owner_lists_and_adds_members(team) -> None:
    async def go() -> None:
        app = create_app(team["settings"])
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            assert "Members" in {c.title for c in screen_commands(app.screen)}
            await _open_members(pilot)
            await wait_for(pilot, lambda: len(_rows(app)) == 1)
            name, kind, fingerprint, added, by = _rows(app)[0]
            assert (name, kind, fingerprint) == ("bob", "ssh-ed25519", team["bob_fp"])
            assert added[:4].isdigit() and by
            assert not app.screen.query_one("#members-role").display  # an owner

            await pilot.press("a")
            await wait_for(pilot, lambda: screen_name(app) == "AddMemberScreen")
            app.screen.query_one("#member-name").value = "carol"
            app.screen.query_one("#member-key").value = "ssh-ed25519 not-a-key"
            await pilot.click("#add")
            error = app.screen.query_one("#member-error")
            await wait_for(pilot, lambda: "Not a valid ssh-ed25519" in str(error.render()))
            assert screen_name(app) == "AddMemberScreen"  # refused in the dialog

            app.screen.query_one("#member-key").value = team["carol"]
            app.screen.query_one("#member-key").focus()
            await pilot.press("enter")  # Enter in the key box submits too
            await wait_for(pilot, lambda: [r[0] for r in _rows(app)] == ["bob", "carol"])
            assert _rows(app)[1][1:3] == ["age", team["carol"]]
            assert _ops(app, "member_add") == [True, True]  # bob's (fixture) and carol's

    run(go())


def test_remove_lists_the_exposed_secrets_before_confirming(team) -> None:
    from vaultui.screens.dialogs import ProgressScreen

    async def go() -> None:
        app = create_app(team["settings"])
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await _open_members(pilot)
            await wait_for(pilot, lambda: len(_rows(app)) == 1)

            await pilot.press("x")
            await wait_for(pilot, lambda: screen_name(app) == "ConfirmRemovalScreen")
            body = str(app.screen.query_one("#removal-body").render())
            assert "rekeyed" in body and "3 secrets" in body and "EXPOSED" in body
            listed = str(app.screen.query_one("#exposed-names").render()).split("\n")
            assert listed == SECRETS
            assert app.screen.query_one("#exposed-list").region.height >= len(SECRETS)
            await pilot.press("n")  # no: nothing changes
            await wait_for(pilot, lambda: screen_name(app) == "MembersScreen")
            assert [r[0] for r in _rows(app)] == ["bob"]
            assert exposed_secrets(app.manager.vault) == []

            seen: list[str] = []
            real_push = app.push_screen

            def spy(screen, *a, **k):
                seen.append(type(screen).__name__)
                return real_push(screen, *a, **k)

            app.push_screen = spy  # type: ignore[method-assign]
            await pilot.press("d")
            await wait_for(pilot, lambda: screen_name(app) == "ConfirmRemovalScreen")
            await pilot.press("y")
            await wait_for(pilot, lambda: _rows(app) == [], timeout=10)
            assert ProgressScreen.__name__ in seen
            assert [e["name"] for e in exposed_secrets(app.manager.vault)] == SECRETS
            assert _ops(app, "member_remove") == [True]
            note = str(app.screen.query_one("#members-note").render())
            assert "No members" in note
            # the app keeps working under the new data key; bob's key opens nothing now
            assert app.manager.vault.get("web/session").value == "canary-session-value"
            with pytest.raises(WrongKeyError):
                Vault.open(team["settings"].vault_path, KeySource.identity(team["keys"] / "bob"))

    run(go())


def test_a_member_sees_the_list_read_only(team) -> None:
    settings = dataclasses.replace(team["settings"], identity=team["keys"] / "bob")

    async def go() -> None:
        app = create_app(settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            assert app.manager.vault.key_source.kind == "age"  # opened as bob
            await _open_members(pilot)
            await wait_for(pilot, lambda: len(_rows(app)) == 1)
            role = app.screen.query_one("#members-role")
            assert role.display and "Only owners" in str(role.render())
            assert app.screen.check_action("add", ()) is False
            assert app.screen.check_action("remove", ()) is False
            await pilot.press("a")
            await pilot.press("x")
            await pilot.pause(0.2)
            assert screen_name(app) == "MembersScreen"  # no dialog opened
            assert "Add" not in {c.title for c in screen_commands(app.screen)}
            assert _ops(app, "member_add") == [True] and _ops(app, "member_remove") == []

    run(go())
