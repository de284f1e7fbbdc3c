"""Connections of labs to clinics against the real cloud process: a lab admin sends a
request from the portal in Chromium, the clinic sees it from its PC (the Institution
window's API) and approves or refuses; with automatic review on, a request is approved
on arrival. Only administrators manage connections, on either side."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from app.core.ids import new_id
from tests.integration.cloud.conftest import Server
from tests.integration.portal.conftest import DESKTOP
from tests.support.institutions import LAB_PW, csrf_of, make_lab, signed_in_lab
from tests.unit.cloud.portal.support import Clinic


def program_user(clinic: Clinic, username: str, role: str) -> str:
    user_id = new_id()
    clinic.pc.push(clinic.pc.mutation("user", user_id, {
        "username": username, "display_name": username.title(), "role": role,
        "active": True, "merged_into": None,
        "password_hash": PasswordHasher(time_cost=1, memory_cost=1024).hash("pw")}))
    return user_id


def institution(clinic: Clinic, method: str, path: str, user_id: str, expect: int = 200,
                **body: Any) -> Any:
    http, headers = clinic.pc.http, clinic.pc.headers
    if method == "GET":
        r = http.get("/api/v1/institution" + path, params={"user_id": user_id},
                     headers=headers)
    else:
        r = http.request(method, "/api/v1/institution" + path,
                         json={"user_id": user_id, **body}, headers=headers)
    assert r.status_code == expect, r.text
    return r.json()


def lab_sign_in(page: Any, url: str, code: str, user: str = "boss") -> None:
    page.goto(url + "/lab/")
    page.fill("#code", code)
    page.fill("#user", user)
    page.fill("#password", LAB_PW)
    page.click("#go")
    page.wait_for_url("**/lab/connections")


def test_lab_requests_clinic_admin_approves_and_automatic_review(
        chromium: Any, portal_server: Server, portal_db: str, live_clinic: Clinic,
        shots: Path) -> None:
    clinic = live_clinic
    admin = program_user(clinic, "owner", "admin")
    member = program_user(clinic, "nurse", "member")
    mine = institution(clinic, "GET", "", admin)
    assert mine["type"] == "clinic" and mine["requests"] == []
    assert mine["auto_review"] is False
    lab_code = make_lab(portal_db, "Bright Smile Lab", member="tech")

    page = chromium.new_context(viewport=DESKTOP).new_page()
    lab_sign_in(page, portal_server.url, lab_code)
    page.fill("#clinic", "NO-SUCH")
    page.click("#send")
    assert "No clinic has this institution code or name." in page.inner_text("#error")
    page.fill("#clinic", mine["code"].lower())  # codes are not case-sensitive
    page.click("#send")
    assert "was sent" in page.inner_text("#notice")
    assert "Waiting for the clinic" in page.inner_text("#requests")
    # A lab's pages speak of the lab's cases, not of "the clinic's data".
    assert "once the clinic has approved the connection" in page.inner_text("footer")
    assert "clinic's data" not in page.inner_text("footer")
    page.screenshot(path=str(shots / "lab-request-sent.png"), full_page=True)
    page.fill("#clinic", mine["code"])
    page.click("#send")
    assert "already waiting" in page.inner_text("#error")

    # an ordinary member of the clinic neither sees nor answers requests
    assert institution(clinic, "GET", "", member)["requests"] == []
    waiting = institution(clinic, "GET", "", admin)["requests"]
    assert [(r["lab_name"], r["state"]) for r in waiting] == [("Bright Smile Lab", "pending")]
    refused = institution(clinic, "POST", f"/requests/{waiting[0]['id']}/approve", member, 403)
    assert "Only an administrator" in refused["detail"]
    institution(clinic, "PUT", "/settings", member, 403, auto_review=True)
    done = institution(clinic, "POST", f"/requests/{waiting[0]['id']}/approve", admin)
    assert done["requests"][0]["state"] == "approved"
    assert done["requests"][0]["decided_by"] == "user:owner"
    page.reload()
    assert "Connected" in page.inner_text("#requests")
    assert [r["lab_name"] for r in institution(clinic, "GET", "", member)["requests"]] == \
        ["Bright Smile Lab"]

    # an ordinary lab member can not send a request
    other = chromium.new_context(viewport=DESKTOP).new_page()
    lab_sign_in(other, portal_server.url, lab_code, "tech")
    assert other.locator("#send").count() == 0
    assert "Connected" in other.inner_text("#requests")

    # automatic review: a second lab's request is approved on arrival, by no one
    assert institution(clinic, "PUT", "/settings", admin, auto_review=True)["auto_review"]
    second = make_lab(portal_db, "Crown Works")
    page.click("#lab-logout")
    lab_sign_in(page, portal_server.url, second)
    page.fill("#clinic", f"  {clinic_name(clinic, admin)}  ")
    page.click("#send")
    assert "The clinic approved the connection." in page.inner_text("#notice")
    assert "Connected (automatic review)" in page.inner_text("#requests")
    page.screenshot(path=str(shots / "lab-request-automatic.png"), full_page=True)
    rows = institution(clinic, "GET", "", admin)["requests"]
    newest = rows[0]
    assert (newest["lab_name"], newest["state"], newest["decided_by"]) == \
        ("Crown Works", "approved", "automatic review")


def clinic_name(clinic: Clinic, user_id: str) -> str:
    return str(institution(clinic, "GET", "", user_id)["name"])


def test_lab_sign_in_wrong_password_then_slowed(portal_server: Server, portal_db: str) -> None:
    code = make_lab(portal_db, "Guessed Lab")
    with httpx.Client(base_url=portal_server.url, timeout=30) as http:
        token = csrf_of(http.get("/lab/").text)
        said = []
        for _ in range(6):
            r = http.post("/lab/login", data={"code": code, "user": "boss",
                                              "password": "not-the-password", "csrf": token})
            said.append((r.status_code, "Too many failed attempts" in r.text))
        assert said[:5] == [(401, False)] * 5
        assert said[5] == (429, True)
        # even the right password waits now; the lab's page stays closed
        r = http.post("/lab/login", data={"code": code, "user": "boss", "password": LAB_PW,
                                          "csrf": token})
        assert r.status_code == 429
        assert http.get("/lab/connections").status_code == 303


def test_the_operator_opens_a_lab_whose_admin_signs_in(portal_server: Server,
                                                       portal_db: str) -> None:
    command = [sys.executable, "-m", "cloud.institutions", "new-lab", "--name", "Opened Lab",
               "--region", "eu", "--admin", "chief", "--data", str(portal_server.data)]
    env = {**os.environ, "DATABASE_URL": portal_db}
    weak = subprocess.run(command, input="short\n", env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert weak.returncode == 2 and "12 to 128 characters" in weak.stderr
    made = subprocess.run(command, input=LAB_PW + "\n", env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    code = made.stdout.strip()
    assert code.startswith("L") and LAB_PW not in made.stdout + made.stderr
    with httpx.Client(base_url=portal_server.url, timeout=30, follow_redirects=True) as http:
        token = csrf_of(http.get("/lab/").text)
        page = http.post("/lab/login", data={"code": code, "user": "chief",
                                             "password": LAB_PW, "csrf": token})
        assert page.status_code == 200 and "Opened Lab" in page.text
        assert 'id="send"' in page.text  # its administrator may send requests


LAB_FORMS = ["/lab/connections", "/lab/cases/x/status", "/lab/migration/code", "/lab/migration",
             "/lab/dissolution/continue", "/lab/dissolution/code", "/lab/dissolution/next",
             "/lab/dissolution/confirm", "/lab/dissolution/revoke"]


def test_every_lab_form_wants_a_signed_in_member_and_the_sessions_token(
        portal_server: Server, portal_db: str) -> None:
    code = make_lab(portal_db, "Careful Lab")
    with httpx.Client(base_url=portal_server.url, timeout=30) as stranger:
        answers = [stranger.post(path, data={"csrf": "x", "clinic": "C1"})
                   for path in LAB_FORMS]
        answers += [stranger.get(path) for path in ("/lab/connections", "/lab/cases",
                                                    "/lab/migration", "/lab/dissolution")]
        assert {(r.status_code, r.headers.get("location")) for r in answers} == {
            (303, "/lab/")}
    member = signed_in_lab(portal_server.url, code)
    try:
        token = csrf_of(member.get("/lab/connections").text)
        for path in LAB_FORMS:
            forged = member.post(path, data={"csrf": "not-the-token", "clinic": "C1",
                                             "status": "received", "receiver": "L1",
                                             "code": "ABC", "agree": "yes"})
            assert forged.status_code == 403, path
            assert "the form has expired" in forged.text, path
        # the member is still signed in, and the right token still works
        fine = member.post("/lab/dissolution/continue", data={"csrf": token, "agree": "yes"})
        assert fine.status_code == 200 and "Careful Lab" in fine.text
    finally:
        member.close()
