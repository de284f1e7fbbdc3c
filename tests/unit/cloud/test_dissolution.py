"""Dissolution on both databases, with the portal clock moved instead of waiting 72
hours and the code sender plugged in (an SMS gateway's place): refused operations with
the reason, the revoke, and the purge that leaves only the accounts and a purge change."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud.config import Settings
from cloud.export import service as export_service
from cloud.export.models import DataDownload
from cloud.institutions import dissolution_job, service
from cloud.institutions.models import Institution
from cloud.portal import clock
from cloud.portal.models import AuditEntry
from tests.support.code_sender import KeptCodes
from tests.unit.cloud.support import PC
from tests.unit.cloud.test_tus import create

SOON = "is being dissolved"


def _ask(client: TestClient, pc: PC, user_id: str, codes: KeptCodes) -> dict[str, Any]:
    h = pc.headers
    accounts = client.get("/api/v1/institution/dissolution/accounts",
                          params={"user_id": user_id}, headers=h).json()
    assert [(a["key"], a["sent_to"]) for a in accounts] == [("admin", "d***@example.com")]
    sent = client.post("/api/v1/institution/dissolution/code", headers=h,
                       json={"user_id": user_id, "account": "admin"}).json()
    assert codes.sent[-1][0] == sent["sent_to"] == "dr@example.com"  # the sender's answer
    confirmed = client.post("/api/v1/institution/dissolution/confirm", headers=h, json={
        "user_id": user_id, "code_id": sent["code_id"], "code": codes.last})
    assert confirmed.status_code == 200, confirmed.text
    return dict(confirmed.json())


def test_dissolve_refuse_revoke_and_purge(client: TestClient, pc: PC, settings: Settings,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    codes = KeptCodes()
    client.app.state.dissolution_sender = codes  # type: ignore[attr-defined]
    maker = client.app.state.sessionmaker  # type: ignore[attr-defined]
    admin, clerk, patient = new_id(), new_id(), new_id()
    pc.push(pc.mutation("user", admin, {"username": "boss", "role": "admin", "active": True}),
            pc.mutation("user", clerk, {"username": "clerk", "role": "member", "active": True}),
            pc.mutation("patient", patient, {"first_name": "Nadia", "gender": "female"}))
    h = pc.headers
    clinic_code = client.get("/api/v1/institution", params={"user_id": admin},
                             headers=h).json()["code"]
    with maker() as s:
        lab, _boss = service.create_lab(s, name="Crown Works", region="EU", admin_name="boss",
                                        admin_password="lab-admin-password-1")
        lab_id = lab.id
        service.request_connection(s, lab, clinic_code, service.Caller("lab:boss", True))

    # An ordinary user may not; an administrator confirms with the code.
    refused = client.get("/api/v1/institution/dissolution/accounts",
                         params={"user_id": clerk}, headers=h)
    assert refused.status_code == 403
    shown = _ask(client, pc, admin, codes)
    assert shown["dissolution"] == "pending"

    # Everything but the revoke is refused, with the reason.
    pushed = client.post("/api/v1/push", headers=h, json={"mutations": [
        pc.mutation("patient", patient, {"first_name": "Nadia Z"})]})
    assert pushed.status_code == 423 and SOON in pushed.json()["detail"]
    changed = client.put("/api/v1/institution/settings", headers=h,
                         json={"user_id": admin, "auto_review": True})
    assert changed.status_code == 423 and SOON in changed.json()["detail"]
    [req] = shown["requests"]
    answer = client.post(f"/api/v1/institution/requests/{req['id']}/approve", headers=h,
                         json={"user_id": admin})
    assert answer.status_code == 423
    again = client.post("/api/v1/institution/dissolution/code", headers=h,
                        json={"user_id": admin, "account": "admin"})
    assert again.status_code == 423  # no second dissolution on top of the first

    revoked = client.post("/api/v1/institution/dissolution/revoke", headers=h,
                          json={"user_id": admin}).json()
    assert revoked["dissolution"] == ""
    pc.push(pc.mutation("patient", patient, {"first_name": "Nadia Z"}))

    later = clock.now() + dt.timedelta(minutes=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    shown = _ask(client, pc, admin, codes)
    zips = export_service.folder(settings)
    zips.mkdir(parents=True, exist_ok=True)
    with maker() as s:  # a data download made before: its ZIP holds the patients
        made = DataDownload(id=new_id(), installation_id=pc.installation_id, member="admin",
                            member_name="admin", run_on=dt.date.today(), run_at=later,
                            status=export_service.READY, file_name="data.zip", size=3,
                            rows={}, error="", created_at=later)
        s.add(made)
        s.commit()
        (zips / f"{made.id}.zip").write_bytes(b"zip")
        assert not dissolution_job.dissolve(s, client.app.state.blobs, shown_id(s, pc),
                                            zips)  # too early: nothing happens
    monkeypatch.setattr(clock, "now", lambda: later + dt.timedelta(hours=72, seconds=1))
    with maker() as s:
        assert dissolution_job.dissolve(s, client.app.state.blobs, shown_id(s, pc), zips)
        assert not dissolution_job.dissolve(s, client.app.state.blobs, shown_id(s, pc), zips)
        assert s.get(DataDownload, made.id, populate_existing=True).status == "expired"
        assert not (zips / f"{made.id}.zip").exists()
        assert service.requests_of(s, s.get(Institution, lab_id),
                                   service.Caller("lab:boss", True)) == []
        actions = list(s.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("%dissol%"))))
    assert actions == ["dissolution_code_sent", "dissolution_asked", "dissolution_revoked",
                       "dissolution_code_sent", "dissolution_asked", "institution_dissolved"]
    assert {c["entity"] for c in pc.pull_all()} == {"user", "institution_purge"}
    assert client.get(f"/api/v1/records/{patient}", headers=h).status_code == 404
    done = client.get("/api/v1/institution", params={"user_id": admin}, headers=h).json()
    assert done["dissolution"] == "done" and done["requests"] == []
    gone = client.post("/api/v1/push", headers=h, json={"mutations": [
        pc.mutation("patient", new_id(), {"first_name": "Omar", "gender": "male"})]})
    assert gone.status_code == 423 and "was dissolved on" in gone.json()["detail"]
    refused = create(pc, b"a scan taken after the dissolution", expect=423)
    assert "was dissolved on" in refused.json()["detail"]


def shown_id(s: Session, pc: PC) -> str:
    inst = s.scalar(select(Institution).where(Institution.installation_id == pc.installation_id))
    assert inst is not None
    return inst.id
