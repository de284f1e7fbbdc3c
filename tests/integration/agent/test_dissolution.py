"""Dissolving a clinic against the real cloud process, its PC syncing through the agent
and a connected lab on the portal: the code mailed to the practice's administrator;
during the 72 hours every operation but the revoke is refused with the reason (the
PC's changes wait in its outbox); the revoke lets everything flow again; with the clock
advanced past the 72 hours the job purges the clinic on the cloud and on the PC, which
says why, and the accounts still sign in."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.imaging.cas import ImageStore
from app.platform.secrets import SecretStore
from app.store.images.images_repo import ImagesRepo
from app.store.models import Patient, RecordImage
from app.store.sync import purge_repo
from cloud.db import make_engine
from cloud.institutions.dissolution_models import Dissolution, DissolutionCode
from cloud.jobs.models import Job
from cloud.models import Change, Image, Record
from cloud.portal.models import AuditEntry
from sync_agent.dissolution_service import Dissolutions
from sync_agent.institution_service import InstitutionRefused
from tests.conftest import _KEYRING
from tests.integration.agent.test_lab_cases import connect_labs, signed_in_lab
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.support.institutions import LAB_PW, csrf_of, make_lab
from tests.support.waiting import wait_until
from tests.unit.cloud.portal.support import ADMIN_PW, LOGIN_PW, doctor_login
from tests.unit.cloud.support import read_password, register_pc

BEING = "is being dissolved"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("cloud") / "data",
                       {"CHAIRSIDE_CLOUD_JOB_POLL_S": "0.05"})
    yield srv
    stop_server(srv)


def mailed_code(mail_dir: Path) -> str:
    for path in sorted(mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns,
                       reverse=True):
        found = re.search(r"Subject: Chairside dissolution code: (\d{6})", path.read_text())
        if found:
            return found.group(1)
    raise AssertionError("no code was mailed")


def dissolve(service: Dissolutions, cloud: Server, engine: object) -> None:
    """The wizard's steps through the service: the account, its code, a wrong code
    refused, the right one confirmed."""
    [account] = service.accounts()
    assert (account.key, account.name) == ("admin", "Practice administrator")
    assert account.sent_to.endswith("***@example.com")  # the registered email, masked
    with Session(engine) as s:  # a code a minute per account: the minute has passed
        s.execute(update(DissolutionCode).values(
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)))
        s.commit()
    sent = service.send_code(account.key)
    code = mailed_code(cloud.mail_dir)
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(InstitutionRefused, match="The code is not right"):
        service.confirm(sent.code_id, wrong)
    view = service.confirm(sent.code_id, code)
    assert view.dissolution == "pending"
    at = dt.datetime.fromisoformat(view.dissolve_at)
    assert dt.timedelta(hours=71, minutes=59) < at - dt.datetime.now(dt.UTC) <= \
        dt.timedelta(hours=72)


def test_dissolution_refuses_revokes_and_purges(clinic, cloud, tmp_path) -> None:
    [a] = clinic(1)
    va = a.admin.viewer()
    secrets = SecretStore(_KEYRING)
    iid = str(a.store.settings.get("installation_id"))
    engine = make_engine(f"sqlite:///{(cloud.data / 'cloud.sqlite3').as_posix()}")
    http = httpx.Client(base_url=cloud.url, timeout=30)
    raw = register_pc(http, iid, read_password(cloud.mail_dir, iid), "Reception")
    for kind, pw in (("login", LOGIN_PW), ("admin", ADMIN_PW)):
        assert http.put(f"/api/v1/server/passwords/{kind}", headers=raw.headers,
                        json={"password": pw}).status_code == 204

    [lab_code] = connect_labs(a, cloud, "Bright Smile Lab")
    nadia = a.store.patients.create(va, {"first_name": "Nadia", "last_name": "Khoury"})
    stl = tmp_path / "upper.stl"
    stl.write_bytes(b"solid upper\nendsolid upper\n" * 50)
    [image] = ImagesRepo(a.store.db).add_files(va, nadia.id, [stl], new_record="Scan").added
    case = a.store.cases.create(va, nadia.id, {
        "lab_code": lab_code, "lab_name": "Bright Smile Lab", "case_type": "Crown",
        "due_date": "2026-12-15", "image_ids": [image.id]})
    a.store.cases.send(va, case.id)
    a.sync()
    lab = signed_in_lab(cloud.url, lab_code)
    assert "Nadia Khoury" in lab.get("/lab/cases").text
    assert list((cloud.data / "blobs").rglob(image.sha256))  # the file reached the cloud
    local_file = ImageStore.of(a.store.db).path_of(image.sha256)
    assert local_file.is_file()

    service = Dissolutions(a.store.db, secrets, a.admin.id)
    dissolve(service, cloud, engine)

    # During the 72 hours: patient management from the PC waits, with the reason shown.
    omar = a.store.patients.create(va, {"first_name": "Omar", "last_name": "Haddad"})
    a.agent.sync_once(forced=True)
    assert a.agent.last_error is not None and BEING in a.agent.last_error
    assert a.repo.outbox_counts() == (1, 0)  # kept, not failed
    # ... connections, settings and answers to labs ...
    other_code = make_lab(str(engine.url), "Late Lab")
    with httpx.Client(base_url=cloud.url, timeout=30, follow_redirects=True) as late:
        page = late.post("/lab/login", data={"code": other_code, "user": "boss",
                                             "password": LAB_PW,
                                             "csrf": csrf_of(late.get("/lab/").text)})
        asked = late.post("/lab/connections", data={"clinic": service.show().code,
                                                   "csrf": csrf_of(page.text)})
        assert asked.status_code == 423 and BEING in asked.text, asked.text[-3000:]
    with pytest.raises(InstitutionRefused, match=BEING):
        service.set_auto_review(True)
    # ... the lab receives no case, members are not added, the portal writes nothing.
    assert "Nadia" not in lab.get("/lab/cases").text
    assert lab.get(f"/lab/cases/{case.id}").status_code == 404
    added = http.post("/api/v1/server/accounts", headers=raw.headers,
                      json={"name": "newdoc", "password": "doctor-Password-1"})
    assert added.status_code == 423 and BEING in added.json()["detail"]
    pushed = http.post("/api/v1/push", headers=raw.headers, json={"mutations": [
        raw.mutation("patient", omar.id, {"first_name": "Other"})]})
    assert pushed.status_code == 423 and BEING in pushed.json()["detail"]

    # Revoke: everything flows again, the change kept on the PC included.
    assert service.revoke().dissolution == ""
    a.sync()
    assert a.repo.outbox_counts() == (0, 0)
    with Session(engine) as s:
        assert s.get(Record, omar.id) is not None
    assert "Nadia Khoury" in lab.get("/lab/cases").text
    assert service.set_auto_review(False).auto_review is False

    # Asked again, then the 72 hours pass.
    dissolve(service, cloud, engine)
    with Session(engine) as s:
        s.execute(update(Dissolution).values(
            dissolve_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        s.execute(update(Job).where(Job.kind == "institutions.dissolve",
                                    Job.status == "queued")
                  .values(run_at=dt.datetime.now(dt.UTC)))
        s.commit()

    def done() -> bool:  # purged, then audited
        with Session(engine) as s:
            return s.scalar(select(Dissolution.state)) == "done" and s.scalar(
                select(AuditEntry.id).where(AuditEntry.action == "institution_dissolved")
            ) is not None

    wait_until(done, timeout=60)
    with Session(engine) as s:
        kept = set(s.scalars(select(Record.entity).where(Record.installation_id == iid)))
        assert kept == {"user"}
        assert set(s.scalars(select(Change.entity).where(Change.installation_id == iid))) \
            == {"user", "institution_purge"}
        assert s.scalar(select(func.count()).select_from(Image)) == 0
        actions = list(s.scalars(select(AuditEntry.action).where(
            AuditEntry.action.in_(("dissolution_asked", "dissolution_revoked",
                                   "institution_dissolved")))))
        assert actions == ["dissolution_asked", "dissolution_revoked", "dissolution_asked",
                           "institution_dissolved"]
    assert not list((cloud.data / "blobs").rglob(image.sha256))

    # Nothing of it through the API, the portal or the lab's pages; the accounts sign in.
    listed = http.get("/api/v1/changes", headers=raw.headers).json()["changes"]
    assert {c["entity"] for c in listed} == {"user", "institution_purge"}
    assert http.get(f"/api/v1/records/{nadia.id}", headers=raw.headers).status_code == 404
    with httpx.Client(base_url=cloud.url, timeout=30) as portal:
        assert doctor_login(portal, iid, "admin", ADMIN_PW).status_code == 303
        assert "Nadia" not in portal.get("/doctor/patients").text
    lab.close()
    lab = signed_in_lab(cloud.url, lab_code)  # the lab's account still signs in
    assert "Nadia" not in lab.get("/lab/cases").text
    assert lab.get(f"/lab/cases/{case.id}").status_code == 404
    lab.close()

    # The PC: its copy goes, it says why, its users still sign in.
    a.sync()
    with a.store.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 0
        assert s.scalar(select(func.count()).select_from(RecordImage)) == 0
    said = purge_repo.notice(a.store.db)
    assert "was dissolved" in said and "Bright Smile" not in said
    assert not local_file.exists()
    assert a.store.users.authenticate("admin0", "correct horse") is not None
    # What is written from now on stays on the PC: the server says why.
    a.store.patients.create(va, {"first_name": "Rami", "last_name": "Saleh"})
    a.agent.sync_once(forced=True)
    assert a.agent.last_error is not None and "was dissolved on" in a.agent.last_error
    http.close()
    engine.dispose()
