"""Finding 17: the login forms' CSRF cookie must be one the server issued: a value
planted in the browser by someone else (a sibling subdomain, a network attacker on
plain HTTP) and repeated in a forged form does not pass."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.unit.cloud.portal.support import ADMIN_PW, LOGIN_PW, Clinic, csrf_of


def _login(client: TestClient, clinic: Clinic, csrf: str) -> int:
    return client.post("/doctor/login", data={
        "installation_id": clinic.iid, "login_password": LOGIN_PW, "user": "admin",
        "password": ADMIN_PW, "csrf": csrf}, follow_redirects=False).status_code


def test_a_csrf_cookie_chosen_by_the_client_is_refused(clinic: Clinic,
                                                       client: TestClient) -> None:
    planted = "attacker-chosen-value-123456"
    client.cookies.set("chairside-pre", planted, domain="testserver.local")
    assert _login(client, clinic, planted) == 403
    # The login page replaces the planted value with one the server signed.
    page = client.get("/doctor/")
    issued = csrf_of(page.text)
    assert issued != planted and client.cookies["chairside-pre"] == issued
    assert _login(client, clinic, issued) == 303
