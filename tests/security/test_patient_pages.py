"""Finding 2: a patient with a password of his own is opened by it alone."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.unit.cloud.portal.support import GENERAL_PW, Clinic, patient_login


def test_the_general_password_does_not_open_a_patient_with_his_own(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    clinic.api("PATCH", "/settings", json={"general_password_enabled": True,
                                           "patient_pages_enabled": True})
    r = patient_login(browser("10.1.0.1"), clinic.iid, clinic.cards["Ann"], GENERAL_PW)
    assert r.status_code == 401, "Ann has her own password: the general one must not open"
    assert "chairside" not in r.cookies
    own = browser("10.1.0.2")
    assert patient_login(own, clinic.iid, clinic.cards["Ann"], "ann-own-pw").status_code == 303
    assert "Ann" in own.get("/patient/me").text
    # Ben has no password of his own: the general one opens his page.
    ben = browser("10.1.0.3")
    assert patient_login(ben, clinic.iid, clinic.cards["Ben"], GENERAL_PW).status_code == 303
    # Once Ann's own password is removed, the general one applies to her as well.
    clinic.api("PUT", f"/patients/{clinic.patients['Ann']}/password", 204,
               json={"password": None})
    r = patient_login(browser("10.1.0.4"), clinic.iid, clinic.cards["Ann"], GENERAL_PW)
    assert r.status_code == 303
