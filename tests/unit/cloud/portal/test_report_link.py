"""The address in a health checking report's QR code: nothing before signing in; then
the doctor and the patient each reach the report, and download the very PDF the
desktop made; other patients and other practices find nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from pypdf import PdfReader

from app.core import health_report as hr
from tests.unit.cloud.portal.support import (
    ADMIN_PW,
    LOGIN_PW,
    Clinic,
    csrf_of,
    doctor_login,
    file_image,
    patient_login,
    seed,
)
from tests.unit.cloud.support import PC


def _report_pdf(tmp_path: Path) -> bytes:
    from app.ui.patients.report_job import write_report

    page = hr.ReportPage(practice="Smile Street Dental", title="Annual check",
                         patient="Ann Example", made_on="2026-03-14", made_by="Dr Admin",
                         sections=hr.SECTIONS, findings="Gums healthy.")
    return write_report(page, [], [], tmp_path / "r.pdf").read_bytes()


def test_the_qr_address_leads_the_doctor_and_the_patient_to_the_report(
        qapp, tmp_path: Path, clinic: Clinic, stranger: PC,
        browser: Callable[[str], TestClient]) -> None:
    pdf = _report_pdf(tmp_path)
    report = file_image(clinic, "Ann", pdf, kind="document",
                        filename=hr.filed_name("Annual check", "Dr Admin"))
    url = hr.portal_url("http://testserver/", report)
    assert url == f"http://testserver/reports/{report}"
    path = url.removeprefix("http://testserver")

    nobody = browser("10.9.0.1")
    page = nobody.get(path)
    assert page.status_code == 200 and "Sign in to see this report" in page.text
    assert "Annual check" not in page.text and "Ann" not in page.text
    # The doctor signs in from there and comes back to the report.
    doctor = browser("10.9.0.2")
    form = doctor.get(f"/doctor/?next={path}")
    signed = doctor.post("/doctor/login", data={
        "installation_id": clinic.iid, "login_password": LOGIN_PW, "user": "admin",
        "password": ADMIN_PW, "csrf": csrf_of(form.text), "next": path},
        follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == path
    shown = doctor.get(path)
    assert shown.url.path == f"/doctor/patients/{clinic.patients['Ann']}/images/{report}"
    assert "Annual check (by Dr Admin).pdf" in shown.text and 'id="full-image"' not in shown.text
    got = tmp_path / "downloaded.pdf"
    got.write_bytes(doctor.get(f"{shown.url.path}/original").content)
    assert got.read_bytes() == pdf
    assert "Ann Example" in " ".join(PdfReader(got).pages[0].extract_text().split())

    assert clinic.api("PATCH", "/settings", json={"patient_images_enabled": True})[
        "patient_images_enabled"] is True
    ann = browser("10.9.0.3")
    form = ann.get(f"/patient/?next={path}")
    signed = ann.post("/patient/login", data={
        "installation_id": clinic.iid, "card": clinic.cards["Ann"], "password": "ann-own-pw",
        "csrf": csrf_of(form.text), "next": path}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == path
    # Any other address after signing in is his page, never another site.
    fresh = browser("10.9.0.6")
    other = fresh.post("/patient/login", data={
        "installation_id": clinic.iid, "card": clinic.cards["Ann"], "password": "ann-own-pw",
        "csrf": csrf_of(fresh.get("/patient/?next=https://evil.example/").text),
        "next": "https://evil.example/"}, follow_redirects=False)
    assert other.headers["location"] == "/patient/me"
    mine = ann.get(path)
    assert mine.url.path == f"/patient/me/images/{report}" and "Annual check" in mine.text
    assert ann.get(f"/patient/me/images/{report}/original").content == pdf

    clinic.api("PUT", f"/patients/{clinic.patients['Ben']}/password", 204,
               json={"password": "ben-own-pw"})
    ben = browser("10.9.0.4")
    assert patient_login(ben, clinic.iid, clinic.cards["Ben"], "ben-own-pw").status_code == 303
    assert ben.get(path).status_code == 404

    other = seed(stranger)
    thief = browser("10.9.0.5")
    assert doctor_login(thief, other.iid, "admin", ADMIN_PW).status_code == 303
    refused = thief.get(path)
    assert refused.status_code == 404 and "Annual check" not in refused.text
