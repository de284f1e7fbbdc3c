"""Finding 6: what a patient may read is decided once (cloud.policy) and the JSON API
gives him no more than his HTML page: never the doctors' notes."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from app.core.ids import new_id
from tests.unit.cloud.portal.support import ADMIN_PW, Clinic, doctor_login, patient_login

NOTE = "Suspect she skips the night guard"


def test_a_patient_never_gets_the_doctors_notes_in_json(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    ann = clinic.patients["Ann"]
    clinic.pc.push(clinic.pc.mutation("note", new_id(), {
        "patient_id": ann, "body": NOTE, "author": "Dr Admin",
        "created_at": "2026-03-14T10:00:00+00:00"}))
    clinic.api("PATCH", "/settings", json={"patient_pages_enabled": True})
    doctor = browser("10.2.0.1")
    assert doctor_login(doctor, clinic.iid, "admin", ADMIN_PW).status_code == 303
    seen = doctor.get(f"/portal/api/patients/{ann}").json()
    assert [n["body"] for n in seen["notes"]] == [NOTE]

    patient = browser("10.2.0.2")
    assert patient_login(patient, clinic.iid, clinic.cards["Ann"], "ann-own-pw").status_code \
        == 303
    own = patient.get(f"/portal/api/patients/{ann}")
    assert own.status_code == 200
    assert own.json()["name"].startswith("Ann")
    assert NOTE not in own.text and "notes" not in own.json()
    assert NOTE not in patient.get("/patient/me").text
