"""Data migration from one lab to another on the lab pages of the portal, against the
real cloud process: the receiving lab's administrator generates a code (shown once),
the sending lab's administrator enters it; a clinic is refused, and so is a lab in
another region. Once Succeeded, the cases the clinic sent are the receiving lab's, it
is connected to the clinic, and the clinic's PC shows the new lab on its case."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.orm import Session

from app.platform.secrets import SecretStore
from cloud.db import make_engine
from cloud.institutions import service
from sync_agent.institution_service import Institutions
from tests.conftest import _KEYRING
from tests.integration.agent.test_lab_cases import connect_labs, signed_in_lab
from tests.support.institutions import LAB_PW, csrf_of, make_lab


def _lab_abroad(db_url: str) -> str:
    engine = make_engine(db_url)
    with Session(engine, expire_on_commit=False) as session:
        lab, _admin = service.create_lab(session, name="Far Lab", region="US",
                                         admin_name="boss", admin_password=LAB_PW)
    engine.dispose()
    return lab.code


def _said(page: httpx.Response, what: str) -> str:
    found = re.search(rf'id="{what}">([^<]+)<', page.text)
    assert found, page.text
    return found.group(1)


def _send(lab: httpx.Client, receiver: str, code: str) -> httpx.Response:
    form = lab.get("/lab/migration")
    return lab.post("/lab/migration", data={"receiver": receiver, "code": code,
                                            "csrf": csrf_of(form.text)})


def test_a_lab_moves_its_cases_to_another_lab(clinic, cloud, qtbot) -> None:
    [pc] = clinic(1)
    v = pc.admin.viewer()
    [old_code] = connect_labs(pc, cloud, "Bright Smile Lab")
    nadia = pc.store.patients.create(v, {"first_name": "Nadia", "last_name": "Khoury"})
    case = pc.store.cases.create(v, nadia.id, {"lab_code": old_code,
                                               "lab_name": "Bright Smile Lab",
                                               "case_type": "Crown"})
    pc.store.cases.send(v, case.id)
    pc.sync()
    db_url = f"sqlite:///{(cloud.data / 'cloud.sqlite3').as_posix()}"
    new_code = make_lab(db_url, "Harbour Lab")
    abroad = _lab_abroad(db_url)

    receiving = signed_in_lab(cloud.url, new_code)
    page = receiving.get("/lab/migration")
    assert "No data migration yet" in page.text and 'id="code"' not in page.text
    shown = receiving.post("/lab/migration/code", data={"csrf": csrf_of(page.text)})
    code = _said(shown, "code")
    assert re.fullmatch(r"[2-9A-Z]{5}-[2-9A-Z]{5}", code)
    assert 'id="code"' not in receiving.get("/lab/migration").text  # shown only once

    sending = signed_in_lab(cloud.url, old_code)
    assert "Data migration" in sending.get("/lab/connections").text
    far = _send(sending, abroad, code)
    assert far.status_code == 422 and "another region" in _said(far, "error")
    clinic_code = Institutions(pc.store.db, SecretStore(_KEYRING), pc.admin.id).show().code
    to_clinic = _send(sending, clinic_code, code)
    assert "is a clinic" in _said(to_clinic, "error")
    wrong = _send(sending, "Harbour Lab", "22222-22222")
    assert "not right" in _said(wrong, "error")
    started = _send(sending, "Harbour Lab", code)
    assert "was started" in _said(started, "notice")
    for _ in range(300):
        page = sending.get("/lab/migration")
        if "Succeeded" in page.text or "Failed" in page.text:
            break
        qtbot.wait(100)
    assert "Succeeded — 1 case moved" in page.text, page.text
    again = _send(sending, "Harbour Lab", code)
    assert "used already" in _said(again, "error")

    assert "Nadia Khoury" in receiving.get("/lab/cases").text
    assert receiving.get(f"/lab/cases/{case.id}").status_code == 200
    assert "Nadia" not in sending.get("/lab/cases").text
    assert sending.get(f"/lab/cases/{case.id}").status_code == 404
    pc.sync()
    [moved] = pc.store.cases.for_patient(v, nadia.id)
    assert (moved.lab_code, moved.lab_name) == (new_code, "Harbour Lab")
    receiving.close()
    sending.close()
