"""Lab cases against the real cloud: a case written on a PC for a connected lab, with an
STL and a photo attached, is sent; the lab finds it on its portal pages, downloads the
files with the right SHA-256 and moves it on; the PC shows the lab's status. Another
lab, connected to the same clinic, sees nothing of it."""

from __future__ import annotations

import hashlib
import re

import pytest
from PySide6.QtCore import Qt

from app.platform.secrets import SecretStore
from app.store.images.images_repo import ImagesRepo
from app.store.patients.records_repo import InvalidRecordError
from app.ui.shell.context import AppContext
from app.ui.shell.main_window import MainWindow
from app.ui.shell.ops import OpRunner
from sync_agent import connection
from sync_agent.institution_service import Institutions
from sync_agent.push_job import push_all
from tests.conftest import _KEYRING
from tests.support.institutions import csrf_of, lab_requests, make_lab, signed_in_lab
from tests.unit.imaging import samples


def connect_labs(pc, cloud, *names: str) -> list[str]:
    """Labs opened on the cloud, each asking to connect to the clinic, which approves."""
    db_url = f"sqlite:///{(cloud.data / 'cloud.sqlite3').as_posix()}"
    inst = Institutions(pc.store.db, SecretStore(_KEYRING), pc.admin.id)
    mine = inst.show()
    codes = [make_lab(db_url, name) for name in names]
    for code in codes:
        assert "was sent" in lab_requests(cloud.url, code, mine.code)
    for req in inst.show().requests:
        inst.answer(req.id, True)
    inst.save_settings(False, "DE")
    return codes


def test_case_sent_to_a_connected_lab_and_its_status_back(clinic, cloud, tmp_path) -> None:
    [a] = clinic(1)
    va = a.admin.viewer()
    lab_code, other_code = connect_labs(a, cloud, "Bright Smile Lab", "Other Lab")

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
    assert re.search(r"<td>Clinic \d+ \(DE\)</td>", listed)  # the clinic, and where it is
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
    assert '<option value="in_progress" selected>' in moved.text  # the form starts there
    a.sync()
    [back] = a.store.cases.for_patient(va, nadia.id)
    assert (back.status, back.status_note) == ("in_progress", "Milling tomorrow")
    assert a.repo.outbox_counts() == (0, 0)
    lab.close()
    other.close()


def test_a_sent_case_reaches_the_lab_with_all_its_images(clinic, cloud, tmp_path) -> None:
    """Send does not wait for the line: the case is marked sent at once and its images
    follow. Until every one of them is on the server the PC says how far it is and the
    lab does not see the case; then it sees it whole."""
    [a] = clinic(1)
    va = a.admin.viewer()
    lab_code, _other = connect_labs(a, cloud, "Bright Smile Lab", "Other Lab")
    nadia = a.store.patients.create(va, {"first_name": "Nadia", "last_name": "Khoury"})
    stl = tmp_path / "upper.stl"
    stl.write_bytes(b"solid upper\nendsolid upper\n" * 50)
    images = ImagesRepo(a.store.db)
    report = images.add_files(va, nadia.id, [stl, samples.photo(tmp_path / "a.jpg")],
                              new_record="Scan")
    a.sync()  # these two go up now
    [late] = images.add_files(va, nadia.id, [samples.photo(tmp_path / "b.jpg", seed=9)],
                              visit_id=report.added[0].visit_id).added
    case = a.store.cases.create(va, nadia.id, {
        "lab_code": lab_code, "lab_name": "Bright Smile Lab", "case_type": "Crown",
        "image_ids": [*(i.id for i in report.added), late.id]})
    a.store.cases.send(va, case.id)
    # The case's change goes up; the third image has not (a slow line, say).
    push_all(a.repo, connection.load(a.store.db, SecretStore(_KEYRING)).client())
    [mine] = a.store.cases.for_patient(va, nadia.id)
    assert mine.status_words == "Sending — 2 of 3 images on the server"
    lab = signed_in_lab(cloud.url, lab_code)
    assert "No cases yet" in lab.get("/lab/cases").text
    assert lab.get(f"/lab/cases/{case.id}").status_code == 404

    a.sync()  # the third image goes up
    [mine] = a.store.cases.for_patient(va, nadia.id)
    assert mine.status_words == "Sent"
    assert "Nadia Khoury" in lab.get("/lab/cases").text
    detail = lab.get(f"/lab/cases/{case.id}").text
    assert len(re.findall(r'href="/lab/cases/[^"]+/files/[^"]+"', detail)) == 3
    lab.close()


def test_case_made_and_sent_from_the_patient_page(clinic, cloud, tmp_path, qtbot) -> None:
    [a] = clinic(1)
    va = a.admin.viewer()
    lab_code, _other = connect_labs(a, cloud, "Crown Works", "Far Lab")
    nadia = a.store.patients.create(va, {"first_name": "Nadia", "last_name": "Khoury"})
    stl = tmp_path / "lower.stl"
    stl.write_bytes(b"solid lower\nendsolid lower\n" * 50)
    [image] = ImagesRepo(a.store.db).add_files(va, nadia.id, [stl], new_record="Scan").added
    ops = OpRunner()
    window = MainWindow(AppContext(a.store, a.admin, ops))
    qtbot.addWidget(window)
    window.show()
    try:
        window.open_patient(nadia.id)
        page = window.patient_page
        qtbot.waitUntil(lambda: page.title.text() == "Nadia Khoury")
        page.tabs.setCurrentWidget(page.cases)
        qtbot.mouseClick(page.cases.new, Qt.MouseButton.LeftButton)
        dialog = page.cases.dialog
        assert dialog is not None
        # Only the approved labs are offered, as the server lists them.
        qtbot.waitUntil(lambda: dialog.lab.count() == 2, timeout=15000)
        assert {dialog.lab.itemText(i) for i in range(2)} == {"Crown Works", "Far Lab"}
        dialog.lab.setCurrentIndex(dialog.lab.findData(lab_code))
        qtbot.keyClicks(dialog.case_type, "Bridge")
        qtbot.keyClicks(dialog.instructions, "Three units")
        qtbot.waitUntil(lambda: dialog.images.count() == 1)
        dialog.images.item(0).setCheckState(Qt.CheckState.Checked)
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.cases.model.rowCount() == 1)
        status = page.cases.model.columnCount() - 4

        def shown() -> str:
            return str(page.cases.model.index(0, status).data())

        assert shown() == "Draft" and not page.cases.send.isEnabled()
        page.cases.table.selectRow(0)
        qtbot.mouseClick(page.cases.send, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: shown() == "Sending — 0 of 1 image on the server")
        [case] = a.store.cases.for_patient(va, nadia.id)
        assert case.image_ids == (image.id,) and case.lab_code == lab_code
        a.sync()
        page.on_changed({"external"})
        qtbot.waitUntil(lambda: shown() == "Sent")
        lab = signed_in_lab(cloud.url, lab_code)
        detail = lab.get(f"/lab/cases/{case.id}")
        assert "Three units" in detail.text and "lower.stl" in detail.text
        lab.post(f"/lab/cases/{case.id}/status", data={
            "status": "shipped", "note": "Courier 14:00", "csrf": csrf_of(detail.text)})
        lab.close()
        a.sync()
        page.on_changed({"external"})  # what the window does when the agent pulled
        qtbot.waitUntil(lambda: shown() == "Shipped")
        assert "Courier 14:00" in [str(page.cases.model.index(0, c).data())
                                   for c in range(page.cases.model.columnCount())]
    finally:
        window.close()
        ops.wait_idle()
        ops.shutdown()
