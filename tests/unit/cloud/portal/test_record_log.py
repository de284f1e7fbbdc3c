"""Every writer of the cloud (a pushed change, a note from the portal) writes a record
and its change-log row through one function: the log replayed gives every record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.unit.cloud.portal.support import DOCTOR_PW, Clinic, csrf_of, doctor_login


def replay(changes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for c in changes:
        row = out.setdefault(c["entity_id"], {"entity": c["entity"], "seq": 0, "fields": {}})
        row["fields"].update(c["fields"])
        row["seq"] = c["seq"]
    return out


def test_pushed_changes_and_portal_notes_are_logged_alike(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    pc = clinic.pc
    ann = clinic.patients["Ann"]
    clinic.account("colleague", patients=("Ann",))
    doctor = browser("10.4.0.1")
    assert doctor_login(doctor, clinic.iid, "colleague", DOCTOR_PW).status_code == 303
    token = csrf_of(doctor.get(f"/doctor/patients/{ann}").text)
    r = doctor.post(f"/doctor/patients/{ann}/notes", data={"body": "Call back", "csrf": token},
                    follow_redirects=False)
    assert r.status_code == 303
    pc.wall += 1000
    pc.push(pc.mutation("patient", ann, {"note": "Prefers mornings"}))

    changes = pc.pull_all()
    seqs = [c["seq"] for c in changes]
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, whoever wrote
    notes = [c for c in changes if c["entity"] == "note"]
    assert len(notes) == 1 and notes[0]["fields"]["body"]["value"] == "Call back"
    for entity_id, row in replay(changes).items():
        stored = pc.http.get(f"/api/v1/records/{entity_id}", headers=pc.headers).json()
        assert (stored["entity"], stored["seq"], stored["fields"]) == (
            row["entity"], row["seq"], row["fields"]), entity_id
