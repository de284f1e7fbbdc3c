"""The health checking report, made from a patient's page: select the data (CBCT is not
offered, the jaws are picked), the settings, and the PDF a dentist hands over."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import zxingcpp
from PIL import Image
from pypdf import PdfReader
from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtWidgets import QFileDialog, QLabel

from app.core import health_report as hr
from app.store.images.images_repo import ImagesRepo
from app.ui.patients import report_dialog
from tests.unit.imaging import samples


def _items(dialog) -> dict[str, object]:
    lst = dialog.data_list
    return {lst.item(i).text().split(":", 1)[1].split("(")[0].strip(): lst.item(i)
            for i in range(lst.count())}


def test_report_from_an_intraoral_scan_and_a_photo(window, qtbot, ctx, tmp_path,
                                                   monkeypatch) -> None:
    v = ctx.viewer
    ctx.store.settings.set("practice_name", "Smile Street Dental")
    p = ctx.store.patients.create(v, {"first_name": "Zoë", "last_name": "Ångström",
                                      "birth_date": "1980-01-02",
                                      "allergies": "Penicillin"})
    repo = ImagesRepo(ctx.store.db)
    repo.add_files(v, p.id, [samples.stl_arch(tmp_path / "upper_jaw.stl"),
                             samples.stl_arch(tmp_path / "lower_jaw.stl", teeth=12),
                             samples.stl_arch(tmp_path / "bite.stl", teeth=6),
                             samples.photo(tmp_path / "front.jpg", seed=3)],
                   new_record="Check-up")
    repo.add_files(v, p.id, samples.ct_series(tmp_path / "ct"))
    window.open_patient(p.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "Zoë Ångström")
    qtbot.mouseClick(page.make_report, Qt.MouseButton.LeftButton)
    dialog = page.report_dialog
    qtbot.waitUntil(lambda: dialog.data_list.count() == 5)
    items = _items(dialog)
    # The upper and lower jaw are picked among three scans; the photo is left to pick.
    assert items["upper_jaw.stl"].checkState() == Qt.CheckState.Checked
    assert items["lower_jaw.stl"].checkState() == Qt.CheckState.Checked
    assert items["bite.stl"].checkState() == Qt.CheckState.Unchecked
    assert items["front.jpg"].checkState() == Qt.CheckState.Unchecked
    cbct = next(i for i in items.values() if i.text().startswith("CBCT"))
    assert not cbct.flags() & Qt.ItemFlag.ItemIsEnabled
    assert hr.NO_CBCT in cbct.text()
    items["front.jpg"].setCheckState(Qt.CheckState.Checked)
    # Without an intraoral scan there is no report.
    for name in ("upper_jaw.stl", "lower_jaw.stl"):
        items[name].setCheckState(Qt.CheckState.Unchecked)
    assert not dialog.confirm.isEnabled()
    assert dialog.select_note.text() == hr.NEEDS_SCAN
    items["upper_jaw.stl"].setCheckState(Qt.CheckState.Checked)
    assert dialog.confirm.isEnabled()
    # The temporary preview of the models runs out (as if the dentist had left the
    # settings open for long): Start offers Regenerate first.
    monkeypatch.setattr(report_dialog, "PREVIEW_TTL_S", 0.0)
    qtbot.mouseClick(dialog.confirm, Qt.MouseButton.LeftButton)
    assert dialog.pages.currentIndex() == 1
    qtbot.waitUntil(dialog.start.isEnabled, timeout=10000)
    assert len(dialog.findChildren(QLabel, "reportPreview")) == 2  # two sides of one model
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    assert dialog.status.text().startswith("The temporary preview file has been expired")
    assert dialog.regenerate.isVisible()
    monkeypatch.setattr(report_dialog, "PREVIEW_TTL_S", 1800.0)
    qtbot.mouseClick(dialog.regenerate, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.start.isEnabled() and not dialog.regenerate.isVisible(),
                    timeout=10000)
    dialog.title_edit.setText("Annual check")
    qtbot.keyClicks(dialog.findings, "Early caries on 36; gums healthy.")
    target = tmp_path / "report.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PDF"))
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Report saved to"), timeout=20000)
    reader = PdfReader(target)
    text = re.sub(r"\s+", " ", " ".join(pg.extract_text() for pg in reader.pages))
    for said in ("Smile Street Dental", "Annual check", "Zoë Ångström", "Penicillin",
                 "Early caries on 36; gums healthy.", "upper_jaw.stl — front", "front.jpg",
                 "Dr Admin"):
        assert said in text, said
    assert "lower_jaw.stl" not in text
    # Two views of the model and the photo are in the file as pictures.
    pictures = [im for pg in reader.pages for im in pg.images]
    assert len(pictures) == 3
    assert min(im.image.size[0] for im in pictures) >= 300

    # Listed under the patient's reports, filed in the record of the scan as a document
    # that uploads like any file, with a QR code that leads to it on the portal.
    qtbot.waitUntil(lambda: page.reports.model.rowCount() == 1, timeout=10000)
    entry = page.reports.model.rows[0]
    assert (entry.title, entry.made_by, entry.made_on) == (
        "Annual check", "Dr Admin", dt.date.today().isoformat())
    filed = repo.get(v, entry.image_id)
    assert filed.kind == "document"
    assert filed.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    ctx.store.settings.set("server_url", "https://cloud.example.org/")
    page.tabs.setCurrentWidget(page.reports)
    page.reports.table.selectRow(0)
    qtbot.mouseClick(page.reports.details, Qt.MouseButton.LeftButton)
    details = page.reports.details_dialog
    qtbot.waitUntil(details.isVisible)
    shot = Image.open(io.BytesIO(_png(details.qr.pixmap())))
    codes = [c.text for c in zxingcpp.read_barcodes(shot)]
    assert codes == [f"https://cloud.example.org/reports/{entry.image_id}"]


def _png(pixmap) -> bytes:
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    pixmap.save(buf, "PNG")
    return bytes(buf.data())


def test_enter_goes_on_and_escape_cancels(window, qtbot, ctx, tmp_path) -> None:
    v = ctx.viewer
    p = ctx.store.patients.create(v, {"first_name": "Ivo", "last_name": "Keys"})
    ImagesRepo(ctx.store.db).add_files(
        v, p.id, [samples.stl_arch(tmp_path / "upper_jaw.stl")], new_record="Check-up")
    window.open_patient(p.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "Ivo Keys")
    qtbot.mouseClick(page.make_report, Qt.MouseButton.LeftButton)
    dialog = page.report_dialog
    qtbot.waitUntil(dialog.confirm.isEnabled)
    # Enter on the list of data goes on to the settings; it does not cancel.
    qtbot.keyClick(dialog.data_list, Qt.Key.Key_Return)
    assert dialog.isVisible() and dialog.pages.currentIndex() == 1
    assert dialog.start.isDefault() and not dialog.confirm.isDefault()
    dialog.to_select()
    assert dialog.confirm.isDefault() and not dialog.start.isDefault()
    qtbot.keyClick(dialog.data_list, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
