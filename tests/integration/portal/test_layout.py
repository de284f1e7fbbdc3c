"""Every portal page on a phone (390×844, touch) and a desktop (1280×800) in Chromium:
nothing wider than the screen, every tap target at least 44×44 px, and axe-core finds
no serious or critical accessibility problem. A patient with a long name, email and
address and 120 visits is the hard case."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.core.ids import new_id
from tests.integration.cloud.conftest import Server
from tests.integration.portal.conftest import DESKTOP, PHONE
from tests.integration.portal.test_browser import _doctor_login
from tests.integration.portal.test_lab_connections import institution, lab_sign_in, program_user
from tests.support.institutions import lab_requests, make_lab
from tests.unit.cloud.portal.support import DAY, DOCTOR_PW, Clinic, file_image, picture

HERE = Path(__file__).resolve().parent
LONG = "Bartholomew-Maximilian-Alexandros-Konstantinopoulos"

OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
SMALL_TARGETS = """() => [...document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary')]
  .filter(e => e.getClientRects().length)
  .map(e => [e, e.getBoundingClientRect()])
  .filter(([e, r]) => r.width < 44 || r.height < 44)
  .map(([e, r]) => `${e.tagName} #${e.id} "${e.textContent.trim().slice(0, 30)}" `
                   + `${Math.round(r.width)}x${Math.round(r.height)}`)"""
AXE = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)"""


def _axe_script() -> str:
    """axe-core from the npm registry, installed once into the cache (as tus-js-client)."""
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        pytest.skip("node and npm are needed for axe-core")
    spec = (HERE / "axe" / "package.json").read_bytes()
    target = (Path.home() / ".cache" / "chairside-tests"
              / f"axe-{hashlib.sha256(spec).hexdigest()[:12]}")
    script = target / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / "axe" / "package.json", target / "package.json")
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=target,
                       check=True, timeout=300, capture_output=True)
    return script.read_text()


def _hard_patient(clinic: Clinic) -> str:
    pid = new_id()
    muts = [clinic.pc.mutation("patient", pid, {
        "first_name": LONG, "last_name": LONG, "gender": "male", "birth_date": "1980-01-01",
        "mobile": "0509999999", "card_number": "C-999",
        "email": f"{LONG.lower()}@{LONG.lower()}.example.com",
        "address": f"{LONG}strasse 123456789, {LONG}", "allergies": LONG * 2})]
    for i in range(120):
        muts.append(clinic.pc.mutation("visit", new_id(), {
            "patient_id": pid, "visit_date": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "procedure": f"Procedure {i} {LONG}", "amount_paid": f"{i}.00",
            "notes": LONG}))
    agreement = new_id()
    muts.append(clinic.pc.mutation("agreement", agreement, {
        "patient_id": pid, "title": LONG, "total": "1234567.89", "discount": "12345.67",
        "tax": "76543.21"}))
    muts.append(clinic.pc.mutation("payment", new_id(), {
        "agreement_id": agreement, "paid_on": DAY, "amount": "987654.32"}))
    clinic.pc.push(*muts)
    clinic.patients["Hard"] = pid
    return pid


def _check(page: Any, axe: str, where: str, problems: list[str]) -> None:
    page.wait_for_load_state("load")
    wide = page.evaluate(OVERFLOW)
    if wide > 0:
        problems.append(f"{where}: {wide} px wider than the screen")
    problems += [f"{where}: small target {t}" for t in page.evaluate(SMALL_TARGETS)]
    page.add_script_tag(content=axe)
    problems += [f"{where}: axe {v}" for v in page.evaluate(AXE)]


def test_every_page_fits_a_phone_and_a_desktop(chromium: Any, portal_server: Server,
                                               live_clinic: Clinic, shots: Path) -> None:
    axe = _axe_script()
    clinic = live_clinic
    hard = _hard_patient(clinic)
    photo = file_image(clinic, "Hard", picture("teal", (3000, 2000)), filename=f"{LONG}.png")
    clinic.account("manager", whole=True)
    account = clinic.account("newcomer", password=None, whole=True)
    link = clinic.api("POST", f"/accounts/{account}/setup-link", json={})["link"]
    url = portal_server.url
    problems: list[str] = []
    for size, label, touch in ((PHONE, "phone", True), (DESKTOP, "desktop", False)):
        # axe is injected as a script: the portal's CSP would rightly refuse it
        context = chromium.new_context(viewport=size, is_mobile=touch, has_touch=touch,
                                       bypass_csp=True)
        page = context.new_page()
        for name, address in (("doctor-login", "/doctor/"), ("patient-login", "/patient/"),
                              ("setup", link.split(url, 1)[-1])):
            page.goto(url + address)
            _check(page, axe, f"{label} {name}", problems)
        _doctor_login(page, url, clinic, "manager", DOCTOR_PW)
        for name, address in (("patients", "/doctor/patients"),
                              ("search", "/doctor/patients?q=zzz"),
                              ("search-hit", "/doctor/patients?q=bart"),
                              ("diary", f"/doctor/diary?date={DAY}"),
                              ("patient", f"/doctor/patients/{hard}"),
                              ("image", f"/doctor/patients/{hard}/images/{photo}"),
                              ("unknown-patient", f"/doctor/patients/{new_id()}")):
            page.goto(url + address)
            _check(page, axe, f"{label} {name}", problems)
            page.screenshot(path=str(shots / f"{label}-{name}.png"), full_page=True)
        page.goto(url + "/doctor/patients")
        page.click("#logout")
        page.wait_for_url("**/doctor/")
        page.goto(f"{url}/patient/?installation={clinic.iid}")
        page.fill("#card", clinic.cards["Ann"])
        page.fill("#password", "ann-own-pw")
        page.click("#go")
        page.wait_for_url("**/patient/me")
        _check(page, axe, f"{label} own-page", problems)
        context.close()
    assert problems == []


def test_every_lab_page_fits_a_phone_and_a_desktop(chromium: Any, portal_server: Server,
                                                   portal_db: str, live_clinic: Clinic,
                                                   shots: Path) -> None:
    """The lab's pages by the same measures: sign-in, connections (with a clinic whose
    name is long), the cases received, a case with its files, data migration."""
    axe = _axe_script()
    clinic = live_clinic
    admin = program_user(clinic, "owner", "admin")
    institution(clinic, "PUT", "/settings", admin, auto_review=True, region="PT")
    mine = institution(clinic, "GET", "", admin)
    lab = make_lab(portal_db, f"Lab {LONG}")
    assert "approved" in lab_requests(portal_server.url, lab, mine["code"])
    photo = file_image(clinic, "Ann", picture("teal", (300, 200)), filename=f"{LONG}.png")
    case = new_id()
    clinic.pc.push(clinic.pc.mutation("lab_case", case, {
        "patient_id": clinic.patients["Ann"], "lab_code": lab, "lab_name": "Lab",
        "case_type": LONG, "due_date": DAY, "instructions": LONG * 3, "image_ids": photo,
        "status": "sent", "sent_at": f"{DAY}T09:30:00+00:00"}))
    url = portal_server.url
    problems: list[str] = []
    for size, label, touch in ((PHONE, "phone", True), (DESKTOP, "desktop", False)):
        context = chromium.new_context(viewport=size, is_mobile=touch, has_touch=touch,
                                       bypass_csp=True)
        page = context.new_page()
        page.goto(url + "/lab/")
        _check(page, axe, f"{label} lab-login", problems)
        lab_sign_in(page, url, lab)
        for name, address in (("lab-connections", "/lab/connections"),
                              ("lab-cases", "/lab/cases"),
                              ("lab-case", f"/lab/cases/{case}"),
                              ("lab-migration", "/lab/migration"),
                              ("lab-dissolution", "/lab/dissolution")):
            page.goto(url + address)
            _check(page, axe, f"{label} {name}", problems)
            page.screenshot(path=str(shots / f"{label}-{name}.png"), full_page=True)
            assert "clinic's data" not in page.inner_text("footer")
        assert LONG in page.goto(f"{url}/lab/cases/{case}").text()
        context.close()
    assert problems == []
