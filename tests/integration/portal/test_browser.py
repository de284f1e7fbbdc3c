"""The portal in real Chromium against the real cloud process: a doctor finds a shared
patient, reads the diary and sends a note; a patient opens his own page. Screenshots
at phone and desktop widths go to test-artifacts/portal/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.cloud.conftest import Server
from tests.integration.portal.conftest import DESKTOP, PHONE
from tests.unit.cloud.portal.support import DAY, DOCTOR_PW, LOGIN_PW, Clinic


def _doctor_login(page: Any, url: str, clinic: Clinic, user: str, password: str) -> None:
    page.goto(url + "/doctor/")
    page.fill("#installation_id", clinic.iid)
    page.fill("#login_password", LOGIN_PW)
    page.fill("#user", user)
    page.fill("#password", password)
    page.click("#go")
    page.wait_for_url("**/doctor/patients")


def test_doctor_finds_a_shared_patient_reads_the_diary_and_sends_a_note(
        chromium: Any, portal_server: Server, live_clinic: Clinic, shots: Path) -> None:
    clinic = live_clinic
    clinic.account("colleague", patients=("Ann", "Ben"))
    ann = clinic.patients["Ann"]
    for size, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = chromium.new_context(viewport=size)
        page = context.new_page()
        _doctor_login(page, portal_server.url, clinic, "colleague", DOCTOR_PW)
        names = page.locator("#patients .name").all_inner_texts()
        assert names == ["Ann Lee", "Ben Ray"]  # Cat is not shared
        page.screenshot(path=str(shots / f"{label}-patients.png"), full_page=True)
        page.fill("#q", "ann")
        page.click("#search")
        page.wait_for_url("**/doctor/patients?q=ann")
        assert page.locator("#patients .name").all_inner_texts() == ["Ann Lee"]
        page.click(f'a[data-id="{ann}"]')
        page.wait_for_url(f"**/doctor/patients/{ann}")
        assert page.inner_text("#patient-name") == "Ann Lee"
        assert page.get_attribute("#call", "href") == "tel:0501111111"
        assert "Ann-allergy" in page.inner_text("#health")
        assert page.inner_text("#remaining") == "260.00"  # 500 - 50 + 10 - 200
        page.screenshot(path=str(shots / f"{label}-patient.png"), full_page=True)
        page.click("#nav-diary")
        page.fill("#date", DAY)
        page.click("#show-day")
        page.wait_for_url(f"**/doctor/diary?date={DAY}")
        assert page.inner_text("#total-paid") == "30.00"  # Ann 10 + Ben 20; Cat not shared
        assert page.inner_text("#patient-count") == "2"  # Ann and Ben, each once
        page.screenshot(path=str(shots / f"{label}-diary.png"), full_page=True)
        context.close()

    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    _doctor_login(page, portal_server.url, clinic, "colleague", DOCTOR_PW)
    page.goto(f"{portal_server.url}/doctor/patients/{ann}")
    page.fill("#note-body", "Please call about the crown.")
    page.click("#note-save")
    page.wait_for_selector("#note-sent")
    assert "Please call about the crown." in page.inner_text("#note-list")
    page.screenshot(path=str(shots / "phone-note-sent.png"), full_page=True)
    context.close()
    notes = [c for c in clinic.pc.pull_all() if c["entity"] == "note"]
    assert [(n["fields"]["patient_id"]["value"], n["fields"]["body"]["value"],
             n["fields"]["author"]["value"]) for n in notes] == [
        (ann, "Please call about the crown.", "colleague")]


def test_patient_opens_his_own_page(chromium: Any, portal_server: Server,
                                    live_clinic: Clinic, shots: Path) -> None:
    clinic = live_clinic
    for size, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        context = chromium.new_context(viewport=size)
        page = context.new_page()
        page.goto(f"{portal_server.url}/patient/?installation={clinic.iid}")
        page.fill("#card", clinic.cards["Ann"])
        page.fill("#password", "wrong-password")
        page.click("#go")
        assert "wrong" in page.inner_text("#error")
        page.fill("#password", "ann-own-pw")
        page.click("#go")
        page.wait_for_url("**/patient/me")
        assert page.inner_text("#patient-name") == "Ann Lee"
        assert page.locator("#note-body").count() == 0  # patients send no notes
        page.screenshot(path=str(shots / f"{label}-own-page.png"), full_page=True)
        page.click("#logout")
        page.wait_for_url("**/patient/")
        page.goto(f"{portal_server.url}/patient/me")
        page.wait_for_url("**/patient/")
        context.close()


def test_a_setup_link_sets_the_password_and_stays_out_of_the_log(
        chromium: Any, portal_server: Server, live_clinic: Clinic) -> None:
    clinic = live_clinic
    account = clinic.account("newcomer", password=None, whole=True)
    link = clinic.api("POST", f"/accounts/{account}/setup-link", json={})["link"]
    token = link.split("token=")[1]
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(link)
    page.fill("#password", DOCTOR_PW)
    page.fill("#repeat", DOCTOR_PW)
    page.click("#go")
    page.wait_for_selector("#done")
    _doctor_login(page, portal_server.url, clinic, "newcomer", DOCTOR_PW)
    assert len(page.locator("#patients .name").all_inner_texts()) == 3
    context.close()
    log = next(portal_server.data.parent.glob("cloud-*.log")).read_text()
    assert "GET /account/setup?token=[hidden]" in log
    assert token not in log
