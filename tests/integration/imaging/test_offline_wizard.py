"""A dentist's laptop works offline, then the sync wizard sends its images — for real:
the desktop window, the sync agent and the cloud on loopback, with a fault proxy
between agent and cloud that refuses one procedure's upload twice."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton
from sqlalchemy import select

from app.imaging import sealed
from app.imaging.recovery import RecoveryFolder
from app.store.images.images_repo import ImagesRepo
from app.store.models import Patient, RecordImage, Visit
from app.store.settings_repo import SettingsRepo
from app.store.sync.agent_repo import AgentRepo
from app.ui.images.offline_images_prompt import OfflineImagesPrompt
from app.ui.images.offline_sync_wizard import OfflineSyncWizard
from app.ui.images.recovered_images_dialog import RecoveredImagesDialog
from app.ui.patients.patient_dialog import PatientDialog
from app.ui.shell.context import AppContext
from app.ui.shell.main_window import MainWindow
from app.ui.shell.ops import OpRunner
from tests.integration.agent.conftest import PC
from tests.support.cloud_blobs import stored_plain_sha
from tests.support.fault_proxy import Fault, FaultProxy
from tests.unit.imaging import samples

JANE = {"first_name": "Jane", "last_name": "Roe", "birth_date": "1990-05-06"}
TOM = {"first_name": "Tom", "last_name": "Newman", "birth_date": "2001-02-03"}


def refuse_bitewing() -> Fault:
    """The server refuses to take the bitewing X-ray (its tus creation), once."""
    name = base64.b64encode(b"bitewing.dcm")
    return Fault("status", method="POST", path="/files/", head=name, status=413)


@pytest.fixture
def proxy(cloud) -> Iterator[FaultProxy]:
    p = FaultProxy(int(cloud.url.rsplit(":", 1)[1]), socket_timeout_s=20,
                   lifetime_s=300).start()
    yield p
    assert p.stop() == []


class AgentThread:
    """The laptop's sync agent, in a thread of this process (its loop as in the real
    program: requests, push, uploads, pull)."""

    def __init__(self, pc: PC) -> None:
        self.pc = pc
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.pc.agent.stop_event.clear()
        self.thread = threading.Thread(target=self.pc.agent.run, name="agent-laptop",
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread is not None:
            self.pc.agent.stop()
            self.thread.join(30)
            assert not self.thread.is_alive()


def create_offline_patient(window, qtbot, values: dict[str, str],
                           warned_about: str | None = None) -> str:
    window.new_patient()
    dialog = next(d for d in window.findChildren(PatientDialog) if d.isVisible())
    qtbot.waitUntil(dialog.offline_note.isVisible)  # the dentist is told he is offline
    for name, value in values.items():
        qtbot.keyClicks(dialog.inputs[name], value)
    with qtbot.waitSignal(dialog.saved, timeout=10000) as saved:
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
        if warned_about:
            # He is told the patient may be on file, and saves anyway: the wizard
            # asks again once the connection is back.
            qtbot.waitUntil(lambda: dialog.question is not None)
            assert warned_about in dialog.question.text()
            save = next(b for b in dialog.question.buttons() if b.text().startswith("Save"))
            qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    patient = saved.args[0]
    assert patient.provisional
    qtbot.waitUntil(lambda: "(offline, provisional)" in window.patient_page.title.text())
    return patient.id


def label(w, name: str) -> str:
    if isinstance(w, OfflineSyncWizard) and name.startswith("proc"):
        w = w.sync_step.sync_rows  # this patient's procedures
    return w.findChild(QLabel, name).text()


def button(w, name: str) -> QPushButton:
    if isinstance(w, OfflineSyncWizard) and name.startswith(("syncAgain", "hideProcedure")):
        w = w.sync_step.sync_rows
    return w.findChild(QPushButton, name)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_offline_images_are_matched_synced_hidden_and_recovered(
        clinic, cloud, proxy, qtbot, tmp_path) -> None:
    laptop, desk = clinic(2)
    # The front desk already knows Jane; the laptop has her from the cloud.
    known = desk.store.patients.create(desk.admin.viewer(), {**JANE, "gender": "female"})
    desk.sync()
    laptop.sync()
    SettingsRepo(laptop.store.db).set("server_url", proxy.url)
    # Then the laptop goes where there is no network: its agent says so.
    AgentRepo(laptop.store.db).publish(online=False, last_error="the server cannot be reached")

    ops = OpRunner()
    ctx = AppContext(laptop.store, laptop.admin, ops)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    agent = AgentThread(laptop)
    try:
        # Offline (no agent reaches the server): two patients made at the chair.
        jane_offline = create_offline_patient(window, qtbot, JANE, warned_about="Jane")
        tom = create_offline_patient(window, qtbot, TOM)
        v = laptop.admin.viewer()
        images = ImagesRepo(laptop.store.db)
        pano = laptop.store.records.add_visit(v, jane_offline, {"visit_date": "2026-11-20",
                                                                 "name": "Panoramic"})
        photos = [samples.photo(tmp_path / "left.jpg", seed=1),
                  samples.photo(tmp_path / "right.jpg", seed=2)]
        xray = samples.dicom_xray(tmp_path / "bitewing.dcm", name="ROE^JANE", birth="19900506")
        assert not images.add_files(v, jane_offline, photos, visit_id=pano.id).failed
        assert not images.add_files(v, jane_offline, [xray]).failed  # in no record
        tom_files = [samples.photo(tmp_path / "tom.jpg", seed=3),
                     *samples.ct_series(tmp_path / "ct", n=3, name="NEWMAN^TOM",
                                        birth="20010203")]
        assert not images.add_files(v, tom, tom_files, new_record="First visit").failed

        # The connection returns: the agent starts and reaches the server.
        proxy.inject(refuse_bitewing())
        agent.start()
        qtbot.waitUntil(lambda: getattr(window, "offline_prompt", None) is not None,
                        timeout=20000)
        prompt: OfflineImagesPrompt = window.offline_prompt
        assert "2 patients" in label(prompt, "promptText")
        qtbot.mouseClick(button(prompt, "synchronizeNow"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.offline_wizard is not None)
        wizard: OfflineSyncWizard = window.offline_wizard

        # Step 1: the patients with offline images, in the patient list's order.
        qtbot.waitUntil(lambda: wizard.patient_list.count() == 2)
        rows = [wizard.patient_list.item(i).text() for i in range(2)]
        assert rows == ["Tom Newman, born 2001-02-03 — 2 images in 1 procedure",
                        "Jane Roe, born 1990-05-06 — 3 images in 2 procedures"]
        wizard.patient_list.setCurrentRow(1)
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        # Step 2: the front desk's Jane is the potential match.
        qtbot.waitUntil(lambda: "Jane Roe, born 1990-05-06" in label(wizard, "potentialMatch"))
        assert "same first name, last name and date of birth" in label(wizard, "potentialMatch")
        assert wizard.match_step.match is not None and wizard.match_step.match.id == known.id
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        # Step 3: two procedures; options chosen once and applied to both.
        qtbot.waitUntil(lambda: wizard.options_step.procedure_list.count() == 2)
        wizard.options_step.apply_charges.setChecked(True)
        wizard.options_step.fee.clear()
        qtbot.keyClicks(wizard.options_step.fee, "45.00")
        wizard.options_step.bill_insurance.setChecked(True)
        provider = wizard.options_step.provider
        provider.setCurrentIndex(provider.findData(laptop.admin.id))
        qtbot.mouseClick(wizard.options_step.apply_all, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)

        # Step 4: the panoramic goes; the bitewing is refused by the server.
        qtbot.waitUntil(lambda: label(wizard, "procMark0") == "✔", timeout=30000)
        qtbot.waitUntil(lambda: label(wizard, "procMark1") == "✖", timeout=30000)
        assert "injected fault" in label(wizard, "procState1")
        assert button(wizard, "syncAgain1").isVisible()
        assert not button(wizard, "hideProcedure1").isVisible()  # not after one failure
        proxy.inject(refuse_bitewing())
        qtbot.mouseClick(button(wizard, "syncAgain1"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: button(wizard, "hideProcedure1").isVisible(), timeout=30000)
        assert label(wizard, "procMark1") == "✖"
        qtbot.mouseClick(button(wizard, "hideProcedure1"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: label(wizard, "procState1").startswith("Hidden"))
        assert "1 of 2 procedures synchronized" in label(wizard, "syncSummary")
        assert "1 hidden to the recovery folder" in label(wizard, "syncSummary")
        # On disk: sealed, and the folder is named by the record, not by Jane.
        [kept] = [d for d in RecoveryFolder().root.iterdir() if not d.name.startswith(".")]
        assert "Jane" not in kept.name and "Roe" not in kept.name
        assert all(sealed.is_sealed(f) for f in kept.iterdir())

        # Sync another patient: Tom is new to the practice.
        qtbot.waitUntil(button(wizard, "syncAnother").isEnabled)
        qtbot.mouseClick(button(wizard, "syncAnother"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: wizard.patient_list.count() == 1)
        assert wizard.patient_list.item(0).text().startswith("Tom Newman")
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "No patient with the same" in label(wizard, "potentialMatch"))
        assert not wizard.next_button.isEnabled()  # a choice must be made
        wizard.match_step.new_box.setChecked(True)
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: wizard.options_step.procedure_list.count() == 1)
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: label(wizard, "procMark0") == "✔", timeout=30000)
        qtbot.mouseClick(button(wizard, "finish"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.offline_wizard is None)

        # The hidden bitewing waits in the recovery folder; it goes onto Jane's record.
        window.open_patient(known.id)
        qtbot.waitUntil(lambda: window.patient_page.title.text() == "Jane Roe")
        # Her records now include the laptop's, with the charges the wizard posted.
        visits = window.patient_page.visits
        qtbot.waitUntil(lambda: any(r.id == pano.id for r in visits.rows))
        row = next(i for i, r in enumerate(visits.rows) if r.id == pano.id)
        charged = next(c for c in range(visits.columnCount())
                       if visits.headerData(c, Qt.Orientation.Horizontal) == "Charged")
        assert visits.index(row, charged).data() == "45.00 (insurance)"
        window.recovered_images()
        dialog = next(d for d in window.findChildren(RecoveredImagesDialog) if d.isVisible())
        qtbot.waitUntil(lambda: dialog.sets.count() == 1)
        assert "bitewing.dcm" in dialog.files.text()
        assert dialog.sets.item(0).text().startswith("Jane Roe")  # read from the sealed note
        dialog.record.setCurrentIndex(dialog.record.findData(pano.id))
        qtbot.mouseClick(dialog.attach_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.status.text().startswith("Attached 1 image"),
                        timeout=20000)
        qtbot.waitUntil(lambda: dialog.empty.isVisible())
        dialog.close()

        # Everything goes up (the agent keeps running in the background).
        def all_sent() -> bool:
            from app.store.sync.uploads_repo import UploadsRepo
            c = UploadsRepo(laptop.store.db).counts()
            return c.files == 0 and c.failed == 0 and laptop.repo.outbox_counts() == (0, 0)

        qtbot.waitUntil(all_sent, timeout=60000)
    finally:
        agent.stop()
        window.close()
        ops.wait_idle()
        ops.shutdown()

    # On the server, every file with the clinic's SHA-256 ...
    for path in [*photos, xray, *tom_files]:
        digest = sha(path)
        assert stored_plain_sha(cloud.data, digest)[0] == digest, path.name
    # ... and under the right patient, as another PC of the clinic sees it.
    desk.sync()
    with desk.store.db.read() as s:
        assert s.get(Patient, jane_offline).merged_into == known.id
        filed = {(i.filename, i.patient_id, i.visit_id) for i in s.scalars(
            select(RecordImage).where(RecordImage.deleted.is_(False)))}
        rec = s.get(Visit, pano.id)
        assert (rec.patient_id, rec.charge, rec.bill_insurance, rec.doctor_id) == (
            known.id, "45.00", True, laptop.admin.id)
        assert not s.get(Patient, tom).provisional and s.get(Patient, tom).merged_into is None
    assert {("left.jpg", known.id, pano.id), ("right.jpg", known.id, pano.id),
            ("bitewing.dcm", known.id, pano.id)} <= filed
    assert {f for f in filed if f[1] == tom} and all(
        f[1] in (known.id, tom) for f in filed)
