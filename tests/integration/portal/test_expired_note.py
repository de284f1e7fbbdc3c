"""A doctor types a note, his session runs out, he presses Save: he is told the session
expired, signs in again, is back on the same patient with the note in the box, and
saving it sends it to the clinic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from cloud.portal.models import PortalSession
from cloud.sessions import ABSOLUTE
from tests.integration.cloud.conftest import Server
from tests.integration.portal.conftest import PHONE
from tests.integration.portal.test_browser import _doctor_login
from tests.unit.cloud.portal.support import DOCTOR_PW, LOGIN_PW, Clinic

NOTE = "Crown on 36 feels high — please book 15 min to adjust.\nCall after 4 pm."


def _run_out(db_url: str) -> None:
    """Every portal session started longer ago than a session may last."""
    past = dt.datetime.now(dt.UTC) - ABSOLUTE - dt.timedelta(hours=1)
    engine = create_engine(db_url)
    with Session(engine) as s, s.begin():
        s.execute(update(PortalSession).values(created_at=past, last_seen_at=past))
    engine.dispose()


def test_a_note_typed_when_the_session_ran_out_is_saved_after_signing_in_again(
        chromium: Any, portal_server: Server, portal_db: str, live_clinic: Clinic,
        shots: Path) -> None:
    clinic = live_clinic
    clinic.account("colleague", patients=("Ann", "Ben"))
    ann = clinic.patients["Ann"]
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    _doctor_login(page, portal_server.url, clinic, "colleague", DOCTOR_PW)
    page.goto(f"{portal_server.url}/doctor/patients/{ann}")
    page.fill("#note-body", NOTE)
    _run_out(portal_db)
    page.click("#note-save")
    page.wait_for_selector("#expired")
    assert "session expired" in page.inner_text("#expired").lower()
    page.screenshot(path=str(shots / "expired.png"), full_page=True)
    page.fill("#installation_id", clinic.iid)
    page.fill("#login_password", LOGIN_PW)
    page.fill("#user", "colleague")
    page.fill("#password", "not-the-password")
    page.click("#go")
    page.wait_for_selector("#error")  # a mistyped password loses nothing either
    page.fill("#login_password", LOGIN_PW)
    page.fill("#password", DOCTOR_PW)
    page.click("#go")
    page.wait_for_selector("#note-kept")
    assert page.inner_text("#patient-name") == "Ann Lee"
    assert page.input_value("#note-body") == NOTE
    assert not [c for c in clinic.pc.pull_all() if c["entity"] == "note"]  # not yet sent
    page.screenshot(path=str(shots / "note-kept.png"), full_page=True)
    page.click("#note-save")
    page.wait_for_url(f"**/doctor/patients/{ann}?sent=1#notes")
    assert page.locator("#note-sent").is_visible()
    top = page.evaluate("document.querySelector('#note-sent').getBoundingClientRect().top")
    assert 0 <= top < PHONE["height"]  # the confirmation is on screen, not below the visits
    notes = [c for c in clinic.pc.pull_all() if c["entity"] == "note"]
    assert [(n["fields"]["patient_id"]["value"], n["fields"]["body"]["value"],
             n["fields"]["author"]["value"]) for n in notes] == [(ann, NOTE, "colleague")]

    # Opening a patient's page after the session ran out comes back to that patient
    _run_out(portal_db)
    ben = clinic.patients["Ben"]
    page.goto(f"{portal_server.url}/doctor/patients/{ben}")
    page.wait_for_selector("#expired")
    page.fill("#installation_id", clinic.iid)
    page.fill("#login_password", LOGIN_PW)
    page.fill("#user", "colleague")
    page.fill("#password", DOCTOR_PW)
    page.click("#go")
    page.wait_for_url(f"**/doctor/patients/{ben}")
    assert page.inner_text("#patient-name") == "Ben Ray"
    context.close()
