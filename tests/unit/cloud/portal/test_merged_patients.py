"""A patient merged on a desktop: the portal shows the kept patient with the records
that still name the merged profile (written by a PC that had not heard of the merge),
and the merged profile no more; an undone merge gives them back."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from app.core.ids import new_id
from tests.unit.cloud.portal.support import DAY, DOCTOR_PW, doctor_login, seed
from tests.unit.cloud.support import PC


def test_the_kept_patient_shows_the_merged_profiles_records(
        pc: PC, client: TestClient, browser: Callable[[str], TestClient]) -> None:
    clinic = seed(pc)
    ann = clinic.patients["Ann"]
    twin = new_id()
    pc.push(pc.mutation("patient", twin, {"first_name": "Anne", "last_name": "Lee"}))
    pc.push(pc.mutation("patient", twin, {"merged_into": ann}))
    # After the merge, a PC still offline files a record on the merged profile.
    pc.push(pc.mutation("visit", new_id(), {"patient_id": twin, "visit_date": DAY,
                                            "procedure": "Twin-extraction"}))
    clinic.account("manager", whole=True)
    http = browser("10.9.0.2")
    assert doctor_login(http, clinic.iid, "manager", DOCTOR_PW).status_code == 303

    page = http.get(f"/portal/api/patients/{ann}")
    assert page.status_code == 200
    assert "Twin-extraction" in page.text and "Ann-filling" in page.text
    assert http.get(f"/portal/api/patients/{twin}").status_code == 404
    assert twin not in http.get("/portal/api/patients").text

    pc.push(pc.mutation("patient", twin, {"merged_into": None}))
    assert "Twin-extraction" not in http.get(f"/portal/api/patients/{ann}").text
    assert "Twin-extraction" in http.get(f"/portal/api/patients/{twin}").text
