"""Finding 7: every credential change ends the sessions it opened, and a session ends
ABSOLUTE after its login however busy it is."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from cloud import sessions
from tests.unit.cloud.portal.conftest import Clock
from tests.unit.cloud.portal.support import (
    ADMIN_PW,
    DOCTOR_PW,
    GENERAL_PW,
    Clinic,
    doctor_login,
    patient_login,
)

NEW_PW = "quiet lantern tofu orbit"


def _open(http: TestClient, path: str) -> bool:
    return http.get(path, follow_redirects=False).status_code == 200


def _patients(clinic: Clinic, browser: Callable[[str], TestClient]) -> tuple[TestClient, ...]:
    clinic.api("PATCH", "/settings", json={"patient_pages_enabled": True,
                                           "general_password_enabled": True})
    ann, ben = browser("10.3.0.1"), browser("10.3.0.2")
    assert patient_login(ann, clinic.iid, clinic.cards["Ann"], "ann-own-pw").status_code == 303
    assert patient_login(ben, clinic.iid, clinic.cards["Ben"], GENERAL_PW).status_code == 303
    assert _open(ann, "/patient/me") and _open(ben, "/patient/me")
    return ann, ben


def test_a_patients_password_reset_or_removed_ends_his_sessions(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    ann, ben = _patients(clinic, browser)
    clinic.api("PUT", f"/patients/{clinic.patients['Ann']}/password", 204,
               json={"password": "another-own-pw"})
    assert not _open(ann, "/patient/me")
    assert _open(ben, "/patient/me"), "other patients stay signed in"
    assert patient_login(ann, clinic.iid, clinic.cards["Ann"], "another-own-pw"
                         ).status_code == 303
    clinic.api("PUT", f"/patients/{clinic.patients['Ann']}/password", 204,
               json={"password": None})
    assert not _open(ann, "/patient/me")


def test_changing_or_switching_off_the_general_password_ends_what_it_opened(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    ann, ben = _patients(clinic, browser)
    clinic.api("PUT", "/passwords/general", 204, json={"password": NEW_PW})
    assert not _open(ben, "/patient/me")
    assert _open(ann, "/patient/me"), "Ann signed in with her own password"
    assert patient_login(ben, clinic.iid, clinic.cards["Ben"], NEW_PW).status_code == 303
    clinic.api("PATCH", "/settings", json={"general_password_enabled": False})
    assert not _open(ben, "/patient/me")
    assert _open(ann, "/patient/me")


def test_changing_the_login_password_ends_every_doctors_session(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    clinic.account("colleague", whole=True)
    admin, colleague = browser("10.4.0.1"), browser("10.4.0.2")
    assert doctor_login(admin, clinic.iid, "admin", ADMIN_PW).status_code == 303
    assert doctor_login(colleague, clinic.iid, "colleague", DOCTOR_PW).status_code == 303
    clinic.api("PUT", "/passwords/login", 204, json={"password": NEW_PW})
    assert not _open(admin, "/doctor/patients")
    assert not _open(colleague, "/doctor/patients")


def test_a_busy_session_still_ends_after_its_absolute_lifetime(
        clinic: Clinic, client: TestClient, fake_clock: Clock) -> None:
    assert doctor_login(client, clinic.iid, "admin", ADMIN_PW).status_code == 303
    steps = int(sessions.ABSOLUTE / (sessions.IDLE / 2))
    for _ in range(steps - 1):
        fake_clock.advance(seconds=(sessions.IDLE / 2).total_seconds())
        assert _open(client, "/doctor/patients")
    fake_clock.advance(seconds=(sessions.IDLE / 2).total_seconds() + 1)
    assert not _open(client, "/doctor/patients")
