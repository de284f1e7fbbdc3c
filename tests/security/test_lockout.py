"""Finding 9: guesses from elsewhere slow the guesser, not the owner; the account-wide
limit is high and decays; the Server window tells of failed attempts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from cloud.portal import throttle
from tests.unit.cloud.portal.conftest import Clock
from tests.unit.cloud.portal.support import ADMIN_PW, Clinic, doctor_login


def test_strangers_guesses_do_not_lock_the_owner_out(
        clinic: Clinic, browser: Callable[[str], TestClient], fake_clock: Clock) -> None:
    for i in range(5):  # five wrong attempts, each from another address
        r = doctor_login(browser(f"198.51.100.{i}"), clinic.iid, "admin", f"guess-{i}-xxxx")
        assert r.status_code == 401
    owner = browser("10.6.0.1")
    assert doctor_login(owner, clinic.iid, "admin", ADMIN_PW).status_code == 303
    # One address guessing is slowed at once.
    guesser = browser("198.51.100.200")
    for i in range(throttle.FREE):
        doctor_login(guesser, clinic.iid, "admin", f"again-{i}-xxxx")
    assert doctor_login(guesser, clinic.iid, "admin", ADMIN_PW).status_code == 429
    assert doctor_login(owner, clinic.iid, "admin", ADMIN_PW).status_code == 303
    # The account-wide limit is high, and forgets after its window.
    for i in range(throttle.FREE_WIDE):
        doctor_login(browser(f"198.51.101.{i}"), clinic.iid, "admin", f"more-{i}-xxxx")
    assert doctor_login(owner, clinic.iid, "admin", ADMIN_PW).status_code == 429
    fake_clock.advance(seconds=throttle.WINDOW.total_seconds() + 1)
    assert doctor_login(owner, clinic.iid, "admin", ADMIN_PW).status_code == 303


def test_the_server_settings_count_failed_attempts(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    assert clinic.api("GET", "/settings")["failed_attempts_24h"] == 0
    for i in range(3):
        doctor_login(browser(f"198.51.100.{i}"), clinic.iid, "admin", f"guess-{i}-xxxx")
    r = clinic.pc.http.post(f"/api/v1/installations/{clinic.iid}/devices",
                            json={"upload_password": "wrong", "node": "0" * 16})
    assert r.status_code == 403
    assert clinic.api("GET", "/settings")["failed_attempts_24h"] == 4


def test_the_server_window_tells_of_failed_attempts(ctx: Any, qtbot: Any) -> None:
    from app.ui.server.server_portal_panel import PortalPanel

    panel = PortalPanel(ctx, None, lambda *_: None, lambda _: None)  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    panel.show()
    panel.show_settings({"failed_attempts_24h": 0})
    assert not panel.failed_attempts.isVisible()
    panel.show_settings({"failed_attempts_24h": 7})
    assert panel.failed_attempts.isVisible()
    assert "7 wrong passwords were tried" in panel.failed_attempts.text()
