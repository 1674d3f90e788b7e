"""The detail screen shows a secret's one-time password with a countdown (``o``)."""

from __future__ import annotations

import re
import time

from core.config import Settings
from core.otp import from_uri
from tests.trail import app_events, has_event
from tests.tui.conftest import SIZE, filter_to, other_process_vault, run, wait_browser, wait_for
from vaultui.app import create_app

SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
URI = f"otpauth://totp/Example:alice?secret={SEED}&digits=6&period=30"


def test_detail_shows_the_otp_code_and_counts_down(key_file_vault: Settings) -> None:
    vault = other_process_vault(key_file_vault)
    vault.put("web/login", {"username": "alice", "password": "pw", "totp": URI})
    vault.close()

    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await filter_to(pilot, "web/login")
            await pilot.press("enter")
            await wait_for(pilot, lambda: getattr(app.screen, "record", None) is not None)
            otp = app.screen.query_one("#detail-otp")
            assert not otp.display  # nothing is read until asked
            log = key_file_vault.audit_log_path
            assert '"operation": "otp"' not in log.read_text()
            await pilot.press("o")
            await wait_for(pilot, lambda: otp.code is not None)
            shown = str(otp.render())
            m = re.search(r"One-time password: (\d{3}) (\d{3})  \((\d+) s\)", shown)
            assert m, shown
            assert m.group(1) + m.group(2) == otp.code
            totp = from_uri(URI)
            assert otp.code in {totp.code(at=time.time() + d)[0] for d in (-2, 0, 2)}
            first = int(m.group(3))
            await wait_for(pilot, lambda: otp.remaining != first or otp.code is None, timeout=3)
            assert has_event(app_events(app), operation="otp", secret_name="web/login")
            assert SEED not in log.read_text()
            await pilot.press("o")  # hide: the code is forgotten
            assert not otp.display and otp.code is None

    run(go())


def test_detail_otp_on_a_secret_without_one_says_so(key_file_vault: Settings) -> None:
    async def go() -> None:
        app = create_app(key_file_vault)
        async with app.run_test(size=SIZE) as pilot:
            await wait_browser(pilot)
            await filter_to(pilot, "app/api_key")
            await pilot.press("enter")
            await wait_for(pilot, lambda: getattr(app.screen, "record", None) is not None)
            await pilot.press("o")
            otp = app.screen.query_one("#detail-otp")
            await wait_for(pilot, lambda: "No one-time password" in str(otp.render()))
            assert "canary" not in str(otp.render())

    run(go())
