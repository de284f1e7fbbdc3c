"""Program users travel through the cloud, and their password hashes stay in the device
sync API: no portal page or server answer shows them, and a program user's password
does not open the portal (server accounts are separate)."""

from __future__ import annotations

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from app.core.ids import new_id
from tests.unit.cloud.portal.support import ADMIN_PW, DAY, Clinic, doctor_login


def _add_program_user(clinic: Clinic) -> str:
    password_hash = PasswordHasher().hash("lee-desktop-pw")
    user_id = new_id()
    clinic.pc.push(
        clinic.pc.mutation("user", user_id, {
            "username": "drlee", "display_name": "Dr Lee", "role": "member",
            "active": True, "password_hash": password_hash, "merged_into": None}),
        clinic.pc.mutation("patient", clinic.patients["Ann"], {"responsible_user_id": user_id}),
    )
    return password_hash


def test_password_hashes_reach_the_pcs_only(clinic: Clinic, client: TestClient) -> None:
    password_hash = _add_program_user(clinic)
    salt = password_hash.split("$")[4]
    # The clinic's other PCs get the user, hash included: that is how they sign him in.
    synced = [c for c in clinic.pc.pull_all() if c["entity"] == "user"]
    assert [c["fields"]["password_hash"]["value"] for c in synced] == [password_hash]

    assert doctor_login(client, clinic.iid, "admin", ADMIN_PW).status_code == 303
    answers = [
        client.get("/doctor/patients"),
        client.get("/doctor/patients", params={"q": "a"}),
        client.get("/doctor/diary", params={"date": DAY}),
        client.get(f"/doctor/patients/{clinic.patients['Ann']}"),
        client.get("/portal/api/patients"),
        client.get(f"/portal/api/patients/{clinic.patients['Ann']}"),
    ]
    assert all(r.status_code == 200 for r in answers)
    assert "Ann-allergy" in answers[3].text  # the pages do show the patient ...
    for r in answers:  # ... and never the program user's secret
        assert "$argon2id$" not in r.text and salt not in r.text
    for path in ("/settings", "/accounts"):
        r = clinic.pc.http.get("/api/v1/server" + path, headers=clinic.pc.headers)
        assert r.status_code == 200 and salt not in r.text


def test_a_program_users_password_does_not_open_the_portal(clinic: Clinic,
                                                            client: TestClient) -> None:
    _add_program_user(clinic)
    assert doctor_login(client, clinic.iid, "drlee", "lee-desktop-pw").status_code != 303


def test_changes_of_program_users_are_audited_without_secrets(clinic: Clinic,
                                                              client: TestClient) -> None:
    from sqlalchemy import select

    from cloud.portal.models import AuditEntry

    password_hash = _add_program_user(clinic)
    user_id = next(c["entity_id"] for c in clinic.pc.pull_all() if c["entity"] == "user")
    disable = clinic.pc.mutation("user", user_id, {"active": False})
    clinic.pc.push(disable)
    clinic.pc.push(disable)  # a replay is not a change of its own
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        rows = list(s.scalars(select(AuditEntry).where(
            AuditEntry.action == "program_user_changed").order_by(AuditEntry.id)))
    assert [(r.target, r.detail, r.actor) for r in rows] == [
        (user_id, "username=drlee; display_name=Dr Lee; role=member; active=True; "
                  "merged_into=None; password changed", f"device:{clinic.pc.device_id}"),
        (user_id, "active=False", f"device:{clinic.pc.device_id}"),
    ]
    assert all(password_hash.split("$")[4] not in r.detail for r in rows)
