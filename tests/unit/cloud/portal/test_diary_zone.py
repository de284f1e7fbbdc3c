"""The portal diary keeps the practice's calendar: appointments fall on the day of the
practice's time zone (an installation setting), times are its wall-clock times, the
patient count counts each patient once, and dates have one format."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from app.core.ids import new_id
from tests.unit.cloud.portal.support import ADMIN_PW, DAY, Clinic, doctor_login


def _text(html: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert m, element_id
    return re.sub(r"<[^>]+>", "", m[1]).strip()


def test_the_diary_keeps_the_practices_day_and_counts_each_patient_once(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    ann, ben = clinic.patients["Ann"], clinic.patients["Ben"]
    # 23:30 UTC on the day before is 12:30 on DAY in Auckland (UTC+13 in March)
    late = clinic.pc.mutation("appointment", new_id(), {
        "patient_id": ben, "starts_at": "2026-03-13T23:30:00+00:00", "duration_minutes": 20,
        "reason": "Ben-late", "status": "booked"})
    again = clinic.pc.mutation("appointment", new_id(), {
        "patient_id": ann, "starts_at": f"{DAY}T09:00:00+00:00", "duration_minutes": 20,
        "reason": "Ann-again", "status": "booked"})
    clinic.pc.push(late, again)
    http = browser("10.7.0.1")
    assert doctor_login(http, clinic.iid, "admin", ADMIN_PW).status_code == 303

    utc = http.get("/doctor/diary", params={"date": DAY}).text
    assert _text(utc, "patient-count") == "3"  # 3 visits + 4 appointments, 3 people
    assert "Ben-late" not in utc and "Ann-again" in utc

    assert clinic.api("PATCH", "/settings", json={"time_zone": "Pacific/Auckland"})[
        "time_zone"] == "Pacific/Auckland"
    nz = http.get("/doctor/diary", params={"date": DAY}).text
    # Ann, Ben and Cat's 08:00-10:00 UTC appointments are the evening of DAY in Auckland
    assert "Ben-late" in nz and "12:30" in nz
    assert "Ann-checkup" in nz and "21:00" in nz  # 08:00 UTC
    assert "Ann-again" in nz and "22:00" in nz
    assert _text(nz, "patient-count") == "3"
    assert _text(nz, "diary-date") == DAY
    before = http.get("/doctor/diary", params={"date": "2026-03-13"}).text
    assert "Ben-late" not in before

    # one date format: YYYY-MM-DD (and HH:MM), in the practice's time zone
    page = http.get(f"/doctor/patients/{ann}").text
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", _text(page, "updated"))

    clinic.api("PATCH", "/settings", 422, json={"time_zone": "Mars/Olympus"})
