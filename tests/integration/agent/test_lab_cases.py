"""Lab cases against the real cloud: a case written on a PC for a connected lab, with an
STL and a photo attached, is sent; the lab finds it on its portal pages, downloads the
files with the right SHA-256 and moves it on; the PC shows the lab's status. Another
lab, connected to the same clinic, sees nothing of it."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest

from app.platform.secrets import SecretStore
from app.store.images.images_repo import ImagesRepo
from app.store.patients.records_repo import InvalidRecordError
from sync_agent.institution_service import Institutions
from tests.conftest import _KEYRING
from tests.support.institutions import LAB_PW, csrf_of, lab_requests, make_lab
from tests.unit.imaging import samples


def signed_in_lab(url: str, code: str) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
    form = http.get("/lab/")
    page = http.post("/lab/login", data={"code": code, "user": "boss", "password": LAB_PW,
                                         "csrf": csrf_of(form.text)})
    assert page.status_code == 200, page.text
    return http


def test_case_sent_to_a_connected_lab_and_its_status_back(clinic, cloud, tmp_path) -> None:
    [a] = clinic(1)
    va = a.admin.viewer()
    db_url = f"sqlite:///{(cloud.data / 'cloud.sqlite3').as_posix()}"
    inst = Institutions(a.store.db, SecretStore(_KEYRING), a.admin.id)
    mine = inst.show()
    lab_code = make_lab(db_url, "Bright Smile Lab")
    other_code = make_lab(db_url, "Other Lab")
    for code in (lab_code, other_code):
        assert "was sent" in lab_requests(cloud.url, code, mine.code)
    for req in inst.show().requests:
        inst.answer(req.id, True)

    nadia = a.store.patients.create(va, {"first_name": "Nadia", "last_name": "Khoury"})
    stl = tmp_path / "upper.stl"
    stl.write_bytes(b"solid upper\nendsolid upper\n" * 50)
    photo = samples.photo(tmp_path / "smile.jpg", size=(320, 240))
    report = ImagesRepo(a.store.db).add_files(va, nadia.id, [stl, photo], new_record="Scan")
    assert report.failed == []
    with pytest.raises(InvalidRecordError):
        a.store.cases.create(va, nadia.id, {"case_type": "Crown"})  # no lab chosen
    case = a.store.cases.create(va, nadia.id, {
        "lab_code": lab_code, "lab_name": "Bright Smile Lab", "case_type": "Crown",
        "due_date": "2026-12-15", "instructions": "Zirconia, shade A2",
        "image_ids": [i.id for i in report.added]})
    a.sync()
    lab = signed_in_lab(cloud.url, lab_code)
    assert "No cases yet" in lab.get("/lab/cases").text  # a draft is not the lab's yet
    a.store.cases.send(va, case.id)
    a.sync()

    listed = lab.get("/lab/cases").text
    assert "Nadia Khoury" in listed and "Crown" in listed and "2026-12-15" in listed
    detail = lab.get(f"/lab/cases/{case.id}")
    assert "Zirconia, shade A2" in detail.text
    links = re.findall(r'href="(/lab/cases/[^"]+/files/[^"]+)"', detail.text)
    assert len(links) == 2
    wanted = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (stl, photo)}
    got = {hashlib.sha256(lab.get(link).content).hexdigest() for link in links}
    assert got == wanted

    other = signed_in_lab(cloud.url, other_code)
    assert "Nadia" not in other.get("/lab/cases").text
    assert other.get(f"/lab/cases/{case.id}").status_code == 404
    assert other.get(links[0]).status_code == 404

    csrf = csrf_of(detail.text)
    moved = lab.post(f"/lab/cases/{case.id}/status",
                     data={"status": "in_progress", "note": "Milling tomorrow", "csrf": csrf})
    assert moved.status_code == 200 and "in progress" in moved.text
    a.sync()
    [back] = a.store.cases.for_patient(va, nadia.id)
    assert (back.status, back.status_note) == ("in_progress", "Milling tomorrow")
    assert a.repo.outbox_counts() == (0, 0)
    lab.close()
    other.close()
