"""Server accounts, setup links, patient passwords and the hash-chained audit log."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from cloud import audit
from cloud.portal.models import AuditEntry
from tests.unit.cloud.portal.conftest import Clock
from tests.unit.cloud.portal.support import (
    ADMIN_PW,
    DOCTOR_PW,
    GENERAL_PW,
    Clinic,
    csrf_of,
    doctor_login,
    patient_login,
)


def _audit_rows(client: TestClient, action: str) -> list[AuditEntry]:
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)))


def test_account_without_password_is_set_up_through_a_single_use_link(
        clinic: Clinic, client: TestClient, fake_clock: Clock) -> None:
    acc = clinic.account("newdoc", password=None, whole=True)
    assert clinic.api("GET", "/accounts")[0]["has_password"] is False
    assert doctor_login(client, clinic.iid, "newdoc", "").status_code in (401, 422)
    link = clinic.api("POST", f"/accounts/{acc}/setup-link", json={})["link"]
    path = link[link.index("/account/"):]
    page = client.get(path)
    form = {"token": path.split("token=")[1], "password": DOCTOR_PW, "repeat": DOCTOR_PW,
            "csrf": csrf_of(page.text)}
    assert client.post("/account/setup", data=form).status_code == 200
    form["csrf"] = csrf_of(client.get(path).text)
    assert client.post("/account/setup", data=form).status_code == 410  # used once only
    assert doctor_login(client, clinic.iid, "newdoc", DOCTOR_PW).status_code == 303
    # A link not used in time expires.
    other = clinic.account("late", password=None)
    link = clinic.api("POST", f"/accounts/{other}/setup-link", json={})["link"]
    fake_clock.advance(hours=73)
    page = client.get("/account/setup")
    form = {"token": link.split("token=")[1], "password": DOCTOR_PW, "repeat": DOCTOR_PW,
            "csrf": csrf_of(page.text)}
    assert client.post("/account/setup", data=form).status_code == 410


def test_setup_link_is_mailed(clinic: Clinic, client: TestClient) -> None:
    acc = clinic.account("maildoc", password=None)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    before = set(settings.mail_dir.glob("*.eml"))
    link = clinic.api("POST", f"/accounts/{acc}/setup-link",
                      json={"email": "doc@example.org"})["link"]
    mails = set(settings.mail_dir.glob("*.eml")) - before
    assert len(mails) == 1
    msg = email.message_from_bytes(mails.pop().read_bytes(), policy=email.policy.default)
    assert link in msg.get_body().get_content()  # type: ignore[union-attr]


def test_admin_api_validates_and_reports(clinic: Clinic) -> None:
    clinic.api("POST", "/accounts", 409, json={"name": "Admin"})
    clinic.api("POST", "/accounts", 422, json={"name": "short", "password": "tooshort"})
    clinic.api("PUT", "/passwords/login", 422, json={"password": "short"})
    clinic.api("PUT", "/passwords/other", 422, json={"password": "long-enough-pass"})
    clinic.account("dup")
    clinic.api("POST", "/accounts", 409, json={"name": "dup"})
    s = clinic.api("GET", "/settings")
    assert s["login_password_set"] and s["admin_password_set"] and s["general_password_set"]
    r = clinic.pc.http.get("/api/v1/server/accounts")
    assert r.status_code == 401


def test_general_password_is_audited_limited_and_can_be_switched_off(
        clinic: Clinic, client: TestClient, browser: Callable[[str], TestClient],
        fake_clock: Clock) -> None:
    assert patient_login(client, clinic.iid, clinic.cards["Ben"], GENERAL_PW).status_code \
        == 303
    uses = [e for e in _audit_rows(client, "patient_login")
            if e.detail == "general password"]
    assert [(e.target, e.installation_id) for e in uses] == [(clinic.patients["Ben"],
                                                               clinic.iid)]
    # Guesses on many cards from many addresses: the general password closes.
    for i in range(5):
        r = patient_login(browser(f"10.5.0.{i}"), clinic.iid, clinic.cards["Cat"], f"guess-{i}x")
        assert r.status_code == 401
    late = browser("10.5.1.0")
    assert patient_login(late, clinic.iid, clinic.cards["Ben"], GENERAL_PW).status_code == 401
    # A patient's own password still works meanwhile.
    assert patient_login(late, clinic.iid, clinic.cards["Ann"], "ann-own-pw").status_code == 303
    fake_clock.advance(minutes=16)
    assert patient_login(late, clinic.iid, clinic.cards["Ben"], GENERAL_PW).status_code == 303
    clinic.api("PATCH", "/settings", json={"general_password_enabled": False})
    assert patient_login(browser("10.5.2.0"), clinic.iid, clinic.cards["Ben"],
                         GENERAL_PW).status_code == 401
    # Switching patient pages off ends the patients' sessions.
    own = browser("10.5.3.0")
    assert patient_login(own, clinic.iid, clinic.cards["Ann"], "ann-own-pw").status_code == 303
    clinic.api("PATCH", "/settings", json={"patient_pages_enabled": False})
    assert own.get("/patient/me", follow_redirects=False).status_code == 303
    assert patient_login(own, clinic.iid, clinic.cards["Ann"], "ann-own-pw").status_code == 401


def test_every_login_view_note_and_admin_action_is_audited(
        clinic: Clinic, client: TestClient) -> None:
    doctor_login(client, clinic.iid, "admin", ADMIN_PW)
    ann = clinic.patients["Ann"]
    page = client.get(f"/doctor/patients/{ann}")
    client.post(f"/doctor/patients/{ann}/notes", data={"body": "hi", "csrf": csrf_of(page.text)})
    doctor_login(client, clinic.iid, "admin", "wrong-password")
    for action, target in [("login", ""), ("patient_view", ann), ("note", ann),
                           ("login_failed", ""), ("password_set", "admin"),
                           ("patient_password_set", ann)]:
        rows = [e for e in _audit_rows(client, action) if e.target == target]
        assert rows, action
        assert rows[0].address and rows[0].at is not None
    assert _audit_rows(client, "login")[0].actor == "admin:admin"


def test_audit_chain_detects_an_edited_or_removed_row(clinic: Clinic, client: TestClient) -> None:
    doctor_login(client, clinic.iid, "admin", ADMIN_PW)
    maker = client.app.state.sessionmaker  # type: ignore[attr-defined]
    with maker() as s:
        verdict = audit.verify(s)
        assert verdict.ok and verdict.rows >= 5
        ids = list(s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
        s.execute(update(AuditEntry).where(AuditEntry.id == ids[2]).values(actor="someone"))
        s.commit()
        assert audit.verify(s).broken_at == ids[2]
    assert clinic.api("GET", "/audit/verify")["ok"] is False
    with maker() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == ids[2])
                  .values(actor=f"device:{clinic.pc.device_id}"))
        s.commit()
        assert audit.verify(s).ok
        s.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": ids[3]})
        s.commit()
        assert audit.verify(s).broken_at == ids[4]
