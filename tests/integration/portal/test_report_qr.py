"""A health checking report made on the clinic's PC goes up with the agent; its QR code,
read by a QR decoder off the desktop's screen, opens it in a browser on the real cloud
for the doctor and, after his sign-in, for the patient: the very PDF the PC made."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtWidgets import QFileDialog

from app.platform.secrets import SecretStore
from app.store.images.images_repo import ImagesRepo
from app.ui.shell.context import AppContext
from app.ui.shell.main_window import MainWindow
from app.ui.shell.ops import OpRunner
from sync_agent import connection
from tests.conftest import _KEYRING
from tests.integration.agent.conftest import PC, clinic, cloud  # noqa: F401 - fixtures
from tests.integration.cloud.conftest import Server
from tests.integration.portal.conftest import PHONE
from tests.unit.imaging import samples

LOGIN_PW = "login-Password-88"
ADMIN_PW = "admin-Password-88"


def _decoded(pixmap: Any) -> list[str]:
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    pixmap.save(buf, "PNG")
    return [c.text for c in zxingcpp.read_barcodes(Image.open(io.BytesIO(bytes(buf.data()))))]


def _make_report(pc: PC, patient_id: str, qtbot: Any, monkeypatch: Any,
                 target: Path) -> str:
    """The report made through the desktop's window; the QR code's text."""
    ops = OpRunner()
    window = MainWindow(AppContext(pc.store, pc.admin, ops))
    qtbot.addWidget(window)
    window.show()
    try:
        window.open_patient(patient_id)
        page = window.patient_page
        qtbot.waitUntil(lambda: page.title.text() == "Ann Lee", timeout=10_000)
        qtbot.mouseClick(page.make_report, Qt.MouseButton.LeftButton)
        dialog = page.report_dialog
        qtbot.waitUntil(dialog.confirm.isEnabled, timeout=10_000)
        qtbot.mouseClick(dialog.confirm, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(dialog.start.isEnabled, timeout=20_000)
        dialog.title_edit.setText("Six-month check")
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            lambda *a, **k: (str(target), "PDF"))
        qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
        try:
            qtbot.waitUntil(lambda: "saved" in dialog.status.text(), timeout=20_000)
        except Exception:
            raise AssertionError(dialog.status.text()) from None
        assert "listed under" in dialog.status.text(), dialog.status.text()
        qtbot.waitUntil(lambda: page.reports.model.rowCount() == 1, timeout=20_000)
        dialog.close()
        page.reports.table.selectRow(0)
        qtbot.mouseClick(page.reports.details, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.reports.details_dialog is not None
                        and page.reports.details_dialog.isVisible())
        [text] = _decoded(page.reports.details_dialog.qr.pixmap())
        page.reports.details_dialog.close()
        return text
    finally:
        window.close()
        ops.wait_idle()
        ops.shutdown()


def test_the_report_qr_opens_the_report_in_a_browser(
        clinic: Callable[[int], list[PC]], cloud: Server, chromium: Any, qtbot: Any,  # noqa: F811
        monkeypatch: Any, tmp_path: Path, shots: Path) -> None:
    (pc,) = clinic(1)
    v = pc.admin.viewer()
    ann = pc.store.patients.create(v, {"first_name": "Ann", "last_name": "Lee",
                                       "gender": "female", "card_number": "C-77"})
    ImagesRepo(pc.store.db).add_files(v, ann.id, [samples.stl_arch(tmp_path / "upper.stl")],
                                      new_record="Check-up")
    target = tmp_path / "report.pdf"
    url = _make_report(pc, ann.id, qtbot, monkeypatch, target)
    assert url.startswith(f"{cloud.url}/reports/")
    pc.sync()  # the report goes up like any file
    conn = connection.load(pc.store.db, SecretStore(_KEYRING))
    assert conn is not None
    client = conn.client()
    client.set_portal_password("login", LOGIN_PW)
    client.set_portal_password("admin", ADMIN_PW)
    client.set_patient_password(ann.id, "ann-Password-88")
    client.set_server_switches(patient_images_enabled=True)

    # The doctor scans the code: asked to sign in, then shown the report.
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(url)
    assert page.locator("#report-signin").is_visible()
    assert "Ann" not in page.content()
    page.click("#doctor-signin")
    page.fill("#installation_id", conn.installation_id)
    page.fill("#login_password", LOGIN_PW)
    page.fill("#user", "admin")
    page.fill("#password", ADMIN_PW)
    page.click("#go")
    page.wait_for_url(f"**/doctor/patients/{ann.id}/images/*")
    assert "Six-month check (by Admin 0).pdf" in page.inner_text("#document-name")
    page.screenshot(path=str(shots / "report-doctor.png"))
    href = page.get_attribute("#download", "href")
    got = context.request.get(cloud.url + str(href))
    assert got.ok and got.body() == target.read_bytes()
    context.close()

    # The patient scans it, signs in, and sees his own page of the report.
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(url)
    page.click("#patient-signin")
    page.fill("#installation_id", conn.installation_id)
    page.fill("#card", "C-77")
    page.fill("#password", "ann-Password-88")
    page.click("#go")
    page.wait_for_url("**/patient/me/images/*")  # back to the report he scanned
    assert "Six-month check" in page.inner_text("#document-name")
    got = context.request.get(cloud.url + str(page.get_attribute("#download", "href")))
    assert got.body() == target.read_bytes()
    context.close()
