"""A lab dissolved from its portal pages against the real cloud process: the notice
agreed to, the code mailed to its administrator, a wrong code refused; during the 72
hours its connections and cases are refused with the reason; the revoke restores them;
with the clock advanced the job removes its connections, and its members still sign in."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud.db import make_engine
from cloud.institutions.dissolution_models import Dissolution, DissolutionCode, LabContact
from cloud.institutions.models import Institution, LabMember
from cloud.jobs.models import Job
from tests.integration.agent.test_dissolution import mailed_code
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.support.institutions import LAB_PW, csrf_of, lab_requests, make_lab
from tests.support.waiting import wait_until
from tests.unit.cloud.support import register_pc, register_practice


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "data", {"CHAIRSIDE_CLOUD_JOB_POLL_S": "0.05"})
    yield srv
    stop_server(srv)


def _signed_in(url: str, code: str) -> tuple[httpx.Client, str]:
    http = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
    page = http.post("/lab/login", data={"code": code, "user": "boss", "password": LAB_PW,
                                         "csrf": csrf_of(http.get("/lab/").text)})
    assert page.status_code == 200, page.text
    return http, csrf_of(page.text)


def _dissolve(lab: httpx.Client, csrf: str, mail_dir: Path) -> httpx.Response:
    notice = lab.get("/lab/dissolution")
    assert "Institutional Dissolution Notice" in notice.text
    assert "Data migration" in notice.text  # moving the data first is offered
    unticked = lab.post("/lab/dissolution/continue", data={"csrf": csrf})
    assert "tick that you agree" in unticked.text
    accounts = lab.post("/lab/dissolution/continue", data={"csrf": csrf, "agree": "yes"})
    found = re.search(r'<option value="([^"]+)">boss — b\*\*\*@lab\.example</option>',
                      accounts.text)
    assert found, accounts.text
    sent = lab.post("/lab/dissolution/code", data={"csrf": csrf, "account": found.group(1)})
    assert "A code was sent to b***@lab.example" in sent.text
    code_id = re.search(r'name="code_id" value="([^"]+)"', sent.text)
    assert code_id
    code = mailed_code(mail_dir)
    wrong = "000000" if code != "000000" else "111111"
    asked = lab.post("/lab/dissolution/next", data={"csrf": csrf, "code_id": code_id.group(1),
                                                    "code": wrong})
    assert "Dissolve Bright Smile Lab?" in asked.text
    refused = lab.post("/lab/dissolution/confirm", data={
        "csrf": csrf, "code_id": code_id.group(1), "code": wrong})
    assert refused.status_code == 422 and "The code is not right" in refused.text
    assert 'id="code"' in refused.text  # typed again on the same page
    return lab.post("/lab/dissolution/confirm", data={
        "csrf": csrf, "code_id": code_id.group(1), "code": code})


def test_a_lab_dissolves_from_the_portal(cloud: Server) -> None:
    engine = make_engine(f"sqlite:///{(cloud.data / 'cloud.sqlite3').as_posix()}")
    lab_code = make_lab(str(engine.url), "Bright Smile Lab")
    with Session(engine) as s:
        boss = s.scalar(select(LabMember).join(Institution).where(Institution.code == lab_code))
        assert boss is not None
        s.add(LabContact(member_id=boss.id, email="boss@lab.example", mobile=""))
        s.commit()
    with httpx.Client(base_url=cloud.url, timeout=30) as http:
        pc = register_pc(http, *register_practice(http, cloud.mail_dir))
        admin = new_id()
        pc.push(pc.mutation("user", admin, {"username": "doc", "role": "admin",
                                            "active": True}))
        clinic = http.get("/api/v1/institution", params={"user_id": admin},
                          headers=pc.headers).json()
        http.put("/api/v1/institution/settings", headers=pc.headers,
                 json={"user_id": admin, "auto_review": True})
    assert lab_requests(cloud.url, lab_code, clinic["code"]) == \
        "The clinic approved the connection."

    lab, csrf = _signed_in(cloud.url, lab_code)
    done = _dissolve(lab, csrf, cloud.mail_dir)
    assert "This lab will be dissolved on 20" in done.text and 'id="revoke"' in done.text
    cases = lab.get("/lab/cases")
    assert cases.status_code == 423 and "is being dissolved" in cases.text
    again = lab.post("/lab/connections", data={"clinic": clinic["code"], "csrf": csrf})
    assert again.status_code == 423 and "is being dissolved" in again.text

    revoked = lab.post("/lab/dissolution/revoke", data={"csrf": csrf})
    assert "The dissolution was revoked" in revoked.text
    assert lab.get("/lab/cases").status_code == 200

    with Session(engine) as s:  # a code a minute per account: the minute has passed
        s.execute(update(DissolutionCode).values(
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)))
        s.commit()
    assert "will be dissolved on" in _dissolve(lab, csrf, cloud.mail_dir).text
    with Session(engine) as s:
        s.execute(update(Dissolution).values(
            dissolve_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        s.execute(update(Job).where(Job.kind == "institutions.dissolve",
                                    Job.status == "queued")
                  .values(run_at=dt.datetime.now(dt.UTC)))
        s.commit()

    def dissolved() -> bool:
        with Session(engine) as s:
            return s.scalar(select(Dissolution.state)) == "done"

    wait_until(dissolved, timeout=60)
    lab.close()
    lab, _csrf = _signed_in(cloud.url, lab_code)  # the account still signs in
    connections = lab.get("/lab/connections")
    assert "No connection requests yet." in connections.text
    gone = lab.get("/lab/cases")
    assert gone.status_code == 423 and "was dissolved on" in gone.text
    assert "This lab was dissolved on" in lab.get("/lab/dissolution").text
    lab.close()
    engine.dispose()
