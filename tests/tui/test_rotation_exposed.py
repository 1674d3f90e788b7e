"""The rotation pane shows the secrets a removed member could read until each is
rotated (driven with Pilot), and shows nothing of the kind in a vault without one."""

from __future__ import annotations

from textual.widgets import Label, Static

from core.members import revoke
from core.vault import KeySource
from core.vault.members import add_member_slot, parse_recipient
from tests.tui.test_rotation_pane import SIZE, PaneApp, ready, sync, wait_until, world

__all__ = ["world"]  # the fixture, shared with the pane's own tests


def _exposed_text(app: PaneApp) -> str:
    return str(app.screen.query_one("#exposed", Static).render())


@sync
async def test_pane_shows_exposed_secrets_until_each_is_rotated(world):
    import pyrage

    vault, manager, _clock, _audit = world
    carol = parse_recipient(str(pyrage.x25519.Identity.generate().to_public()))
    add_member_slot(vault, "carol", carol, "2026-01-01T00:00:00+00:00", "test")
    key = KeySource.from_key_file(vault.path.parent / "vault.key")
    _result, live = revoke(vault, "carol", [key])
    assert len(live) == 5

    app = PaneApp(manager)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.screen.query_one("#exposed-title", Label).display
        text = _exposed_text(app)
        for name in ("api/token", "db/password", "legacy_key", "no_policy", "one_time"):
            assert name in text
        assert "to carol" in text
        manager.rotate("api/token")  # a new value clears its mark
        app.screen.load()
        await wait_until(pilot, lambda: "api/token" not in _exposed_text(app))
        assert "no_policy" in _exposed_text(app)


@sync
async def test_pane_hides_the_section_when_nothing_is_exposed(world):
    _vault, manager, _clock, _audit = world
    app = PaneApp(manager)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert not app.screen.query_one("#exposed-title", Label).display
        assert not app.screen.query_one("#exposed", Static).display
