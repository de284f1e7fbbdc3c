"""Sign-in throttling, sessions, CSRF, headers and cookies of the portal."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from cloud.portal import throttle
from cloud.portal.auth import WRONG
from tests.unit.cloud.portal.conftest import Clock
from tests.unit.cloud.portal.support import (
    ADMIN_PW,
    DOCTOR_PW,
    LOGIN_PW,
    Clinic,
    csrf_of,
    doctor_login,
)

SESSION = "chairside"


def test_unknown_user_and_wrong_password_get_the_same_answer(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    clinic.account("colleague", whole=True)
    answers = []
    for i, (user, pw, login_pw) in enumerate([
        ("colleague", "wrong-password-1", None), ("stranger", DOCTOR_PW, None),
        ("admin", "wrong-password-1", None), ("colleague", DOCTOR_PW, "wrong-login-pw"),
    ]):
        http = browser(f"10.9.0.{i}")
        r = doctor_login(http, clinic.iid, user, pw, **({"login_password": login_pw}
                                                         if login_pw else {}))
        answers.append((r.status_code, WRONG in r.text, SESSION in r.cookies))
    assert answers == [(401, True, False)] * 4


def test_failed_logins_are_slowed_per_account(
        clinic: Clinic, browser: Callable[[str], TestClient], fake_clock: Clock) -> None:
    clinic.account("colleague", whole=True)
    for i in range(throttle.FREE_WIDE):  # guesses spread over many addresses
        r = doctor_login(browser(f"10.8.0.{i}"), clinic.iid, "colleague", f"guess-{i}-xxxxxx")
        assert r.status_code == 401
    fresh = browser("10.8.1.1")
    r = doctor_login(fresh, clinic.iid, "colleague", DOCTOR_PW)
    assert r.status_code == 429, "the right password must wait too"
    assert int(r.headers["Retry-After"]) > 0
    assert SESSION not in r.cookies
    # Other accounts are not slowed by it.
    assert doctor_login(browser("10.8.1.2"), clinic.iid, "admin", ADMIN_PW).status_code == 303
    fake_clock.advance(seconds=int(r.headers["Retry-After"]) + 1)
    assert doctor_login(fresh, clinic.iid, "colleague", DOCTOR_PW).status_code == 303


def test_failed_logins_are_slowed_per_address(
        clinic: Clinic, browser: Callable[[str], TestClient], fake_clock: Clock) -> None:
    http = browser("10.7.0.1")
    for i in range(5):  # five different user names from one address
        assert doctor_login(http, clinic.iid, f"user{i}", "whatever-pw-1").status_code == 401
    assert doctor_login(http, clinic.iid, "admin", ADMIN_PW).status_code == 429
    assert doctor_login(browser("10.7.0.2"), clinic.iid, "admin", ADMIN_PW).status_code == 303
    fake_clock.advance(minutes=16)
    assert doctor_login(http, clinic.iid, "admin", ADMIN_PW).status_code == 303


def test_session_ends_after_fifteen_idle_minutes(
        clinic: Clinic, client: TestClient, fake_clock: Clock) -> None:
    assert doctor_login(client, clinic.iid, "admin", ADMIN_PW).status_code == 303
    fake_clock.advance(minutes=14)
    assert client.get("/doctor/patients", follow_redirects=False).status_code == 200
    fake_clock.advance(minutes=14)  # active 14 minutes ago: still on
    assert client.get("/doctor/patients", follow_redirects=False).status_code == 200
    fake_clock.advance(minutes=15, seconds=1)
    r = client.get("/doctor/patients", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/doctor/")


def test_sessions_end_when_account_expires_is_deleted_or_loses_its_share(
        clinic: Clinic, browser: Callable[[str], TestClient], fake_clock: Clock) -> None:
    import datetime as dt

    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    clinic.account("visitor", patients=("Ann",), expires_at=until)
    clinic.account("colleague", patients=("Ann", "Ben"))
    clinic.account("leaver", whole=True)
    sessions = {}
    for i, user in enumerate(("visitor", "colleague", "leaver")):
        sessions[user] = browser(f"10.6.0.{i}")
        assert doctor_login(sessions[user], clinic.iid, user, DOCTOR_PW).status_code == 303
        assert sessions[user].get("/doctor/patients", follow_redirects=False).status_code == 200
    clinic.share("colleague", patients=("Ann",))  # Ben taken away
    clinic.api("DELETE", f"/accounts/{clinic.accounts['leaver']}", 204)
    fake_clock.advance(hours=1, seconds=1)
    for user, http in sessions.items():
        r = http.get("/doctor/patients", follow_redirects=False)
        assert r.status_code == 303, f"the session of {user} is still open"
    assert doctor_login(browser("10.6.1.0"), clinic.iid, "visitor", DOCTOR_PW).status_code \
        == 401
    assert doctor_login(browser("10.6.1.1"), clinic.iid, "leaver", DOCTOR_PW).status_code == 401


def test_login_issues_a_new_token_and_logout_ends_it(clinic: Clinic, client: TestClient) -> None:
    doctor_login(client, clinic.iid, "admin", ADMIN_PW)
    first = client.cookies[SESSION]
    # Signing in again in the same browser: a new token, and the old one ends.
    r = client.post("/doctor/login", data={
        "installation_id": clinic.iid, "login_password": LOGIN_PW, "user": "admin",
        "password": ADMIN_PW, "csrf": client.cookies["chairside-pre"]}, follow_redirects=False)
    assert r.status_code == 303
    second = client.cookies[SESSION]
    assert first != second and len(second) >= 22  # 128 bits, URL-safe base64
    stale = TestClient(client.app, cookies={SESSION: first})
    assert stale.get("/doctor/patients", follow_redirects=False).status_code == 303
    page = client.get("/doctor/patients")
    assert client.get("/doctor/logout").status_code == 405  # no state change on GET
    r = client.post("/doctor/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    again = TestClient(client.app, cookies={SESSION: second})
    assert again.get("/doctor/patients", follow_redirects=False).status_code == 303


def test_forms_without_the_csrf_token_are_refused(clinic: Clinic, client: TestClient) -> None:
    ann = clinic.patients["Ann"]
    page = client.get("/doctor/")
    r = client.post("/doctor/login", data={"installation_id": clinic.iid,
                                           "login_password": "x", "user": "admin",
                                           "password": ADMIN_PW}, follow_redirects=False)
    assert r.status_code == 403
    assert csrf_of(page.text)
    doctor_login(client, clinic.iid, "admin", ADMIN_PW)
    for token in ("", "not-the-token"):
        r = client.post(f"/doctor/patients/{ann}/notes", data={"body": "x", "csrf": token},
                        follow_redirects=False)
        assert r.status_code == 403
    assert not [c for c in clinic.pc.pull_all() if c["entity"] == "note"]
    token = csrf_of(client.get(f"/doctor/patients/{ann}").text)
    r = client.post(f"/doctor/patients/{ann}/notes", data={"body": "Call me", "csrf": token},
                    follow_redirects=False)
    assert r.status_code == 303
    notes = [c for c in clinic.pc.pull_all() if c["entity"] == "note"]
    assert [n["fields"]["body"]["value"] for n in notes] == ["Call me"]
    assert notes[0]["fields"]["patient_id"]["value"] == ann
    assert notes[0]["fields"]["author"]["value"] == "admin"


def test_headers_and_cookie_flags(clinic: Clinic, client: TestClient) -> None:
    r = client.get("/doctor/")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    r = doctor_login(client, clinic.iid, "admin", ADMIN_PW)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    secure = TestClient(client.app, base_url="https://testserver")
    r = doctor_login(secure, clinic.iid, "admin", ADMIN_PW)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-chairside=") and "Secure" in cookie
    assert "strict-transport-security" in r.headers


def test_idle_sessions_are_swept(clinic: Clinic, client: TestClient, fake_clock: Clock) -> None:
    from sqlalchemy import func, select

    from cloud import sessions
    from cloud.portal.models import PortalSession

    doctor_login(client, clinic.iid, "admin", ADMIN_PW)
    maker = client.app.state.sessionmaker  # type: ignore[attr-defined]
    with maker() as s:
        assert sessions.sweep(s) == 0
        fake_clock.advance(minutes=16)
        assert sessions.sweep(s) == 1
        assert s.scalar(select(func.count()).select_from(PortalSession)) == 0
