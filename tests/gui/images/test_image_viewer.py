"""The Images tab and viewer as a dentist uses them: facts from the header, a ruler in
mm, Fit, brightness and contrast, the kind of an image, where "Add images…" opens, and
quarantined files attached knowingly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pydicom
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from app.store.dto import PatientFilter
from app.store.images.acquisition_repo import AcquisitionRepo
from app.store.images.images_repo import ImagesRepo
from app.ui.images.image_viewer import ImageViewer
from app.ui.images.unassigned_dialog import UnassignedDialog
from sync_agent.acquisition_job import AcquisitionJob, ScanReport
from tests.gui.images.test_images import add_through_dialog
from tests.unit.imaging import samples


def through_the_folder(store, tmp_path: Path, make: Callable[[Path], object]) -> ScanReport:
    """A device drops a file into the acquisition folder; the agent's job takes it."""
    drop = tmp_path / "drop"
    drop.mkdir(exist_ok=True)
    make(drop)
    t = [0.0]
    job = AcquisitionJob(store.db, drop, settle_s=1, clock=lambda: t[0])
    job.run()
    t[0] += 2
    return job.run()


def dental_xray(path: Path) -> Path:
    samples.dicom_xray(path, rows=200, cols=300)
    ds = pydicom.dcmread(path)
    ds.Modality = "IO"
    ds.BodyPartExamined = "JAW"
    ds.ImageLaterality = "L"
    ds.ViewPosition = "LL"
    ds.ImagerPixelSpacing = [0.1, 0.1]
    ds.StudyDescription = "Bitewings"
    ds.Manufacturer = "Acme Sensors"
    ds.save_as(path)
    return path


def open_first(page, qtbot) -> ImageViewer:
    tab = page.images_tab
    tab.open_viewer(0)
    viewer: ImageViewer = tab.viewer
    qtbot.waitUntil(lambda: viewer.stack.currentWidget() is viewer.picture_view, timeout=10000)
    return viewer


def test_the_viewer_shows_the_header_and_measures_in_mm(page, qtbot, monkeypatch,
                                                        tmp_path) -> None:
    add_through_dialog(page, qtbot, monkeypatch, [dental_xray(tmp_path / "bw.dcm")])
    viewer = open_first(page, qtbot)
    assert viewer.info.isVisible()
    text = viewer.info.text()
    for fact in ("Patient: DOE, JOHN", "Body part: JAW", "Laterality: L", "View: LL",
                 "Pixel size: 0.1 mm", "Study: Bitewings", "Manufacturer: Acme Sensors",
                 "Modality: IO", "Size: 300 × 200 px"):
        assert fact in text, fact
    assert viewer.current.kind == "xray"  # IO: an intraoral X-ray
    qtbot.mouseClick(viewer.actual_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(viewer.measure, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(viewer.picture, Qt.MouseButton.LeftButton, pos=QPoint(20, 50))
    qtbot.mouseClick(viewer.picture, Qt.MouseButton.LeftButton, pos=QPoint(120, 50))
    assert viewer.levels_label.text() == "Measured: 10.0 mm"  # 100 px of 0.1 mm
    viewer.reject()


def test_fit_fills_the_view_brightness_contrast_and_a_ruler_in_pixels(
        page, qtbot, monkeypatch, files) -> None:
    add_through_dialog(page, qtbot, monkeypatch, files[:1])  # a 320×240 photo
    viewer = open_first(page, qtbot)
    room = viewer.picture_view.viewport().size()
    qtbot.mouseClick(viewer.actual_button, Qt.MouseButton.LeftButton)
    assert viewer.picture.width() == 320
    qtbot.mouseClick(viewer.fit_button, Qt.MouseButton.LeftButton)
    # Enlarged until one side meets the view's edge; nothing cut off.
    w, h = viewer.picture.width(), viewer.picture.height()
    assert w <= room.width() and h <= room.height()
    assert w >= room.width() * 0.98 or h >= room.height() * 0.98
    assert not viewer.info.isVisible()  # a photo has no header to show
    before = viewer.picture_view.shown.pixelColor(5, 200).lightness()
    viewer.brightness.setValue(60)
    assert viewer.picture_view.shown.pixelColor(5, 200).lightness() > before
    viewer.brightness.setValue(0)
    viewer.contrast.setValue(-100)
    flat = viewer.picture_view.shown
    assert abs(flat.pixelColor(5, 5).lightness() - flat.pixelColor(5, 200).lightness()) < (
        abs(viewer.image.pixelColor(5, 5).lightness()
            - viewer.image.pixelColor(5, 200).lightness()))
    qtbot.mouseClick(viewer.findChild(type(viewer.fit_button), "viewerResetLevels"),
                     Qt.MouseButton.LeftButton)
    assert viewer.picture_view.shown is viewer.image
    qtbot.mouseClick(viewer.actual_button, Qt.MouseButton.LeftButton)
    viewer.measure.setChecked(True)
    qtbot.mouseClick(viewer.picture, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    qtbot.mouseClick(viewer.picture, Qt.MouseButton.LeftButton, pos=QPoint(40, 50))
    assert viewer.levels_label.text().startswith("Measured: 50 px")
    viewer.reject()


def test_the_user_changes_an_images_kind(page, qtbot, monkeypatch, store, admin,
                                         tmp_path) -> None:
    tab = page.images_tab
    add_through_dialog(page, qtbot, monkeypatch,
                       [samples.photo(tmp_path / "IMG_2041.jpg", size=(640, 320))])
    [row] = tab.model.rows
    assert row.kind == "intraoral_photo"  # a colour JPEG; in fact a panoramic
    tab.view.setCurrentIndex(tab.model.index(0))
    monkeypatch.setattr(QInputDialog, "getItem",
                        staticmethod(lambda *a, **k: ("Panoramic X-ray", True)))
    next(a for a in tab.view.actions() if a.objectName() == "changeKind").trigger()
    qtbot.waitUntil(lambda: tab.model.rows and tab.model.rows[0].kind == "panoramic",
                    timeout=5000)
    assert tab.model.index(0).data().startswith("Panoramic X-ray\n")
    assert ImagesRepo(store.db).get(admin.viewer(), row.id).kind == "panoramic"


def test_add_images_opens_in_pictures_then_in_the_last_folder(page, qtbot, monkeypatch,
                                                              tmp_path) -> None:
    from PySide6.QtCore import QStandardPaths

    tab = page.images_tab
    camera = tmp_path / "camera-card"
    camera.mkdir()
    photo = samples.photo(camera / "a.jpg")
    asked: list[str] = []

    def dialog(_parent, _title, folder, _filter):
        asked.append(folder)
        return [str(photo)], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(dialog))
    tab.ask_files()
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=10000)
    tab.ask_files()
    pictures = QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.PicturesLocation)
    assert asked[0] in (pictures, str(Path.home()))
    assert asked[1] == str(camera)


def test_a_dropped_export_brings_its_images_and_no_empty_tiles(page, qtbot,
                                                               tmp_path) -> None:
    tab = page.images_tab
    export = tmp_path / "export"
    samples.ct_series(export / "series", n=3)
    (export / "DICOMDIR").write_bytes(
        samples.corpus("test_files/dicomdirtests/DICOMDIR").read_bytes())
    (export / "Thumbs.db").write_bytes(b"\0" * 64)
    samples.photo(export / "face.jpg")
    tab.add_paths([export])
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2, timeout=10000)
    qtbot.waitUntil(tab.model.thumbnails_ready, timeout=10000)
    assert sorted(r.kind for r in tab.model.rows) == ["cbct", "facial_photo"]
    assert all(tab.model.problem(r.sha256) is None for r in tab.model.rows)


def test_a_quarantined_file_is_attached_with_its_reason_in_front(page, qtbot, store,
                                                                 monkeypatch,
                                                                 tmp_path) -> None:
    tab = page.images_tab
    AcquisitionRepo(store.db).start(tab.ctx.viewer, page.patient.id)
    assert through_the_folder(store, tmp_path, lambda d: samples.dicom_xray(
        d / "nameless.dcm", name="", birth="")).quarantined == 1
    tab.show_inbox()
    dialog = tab.findChild(UnassignedDialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    dialog.table.selectRow(0)
    shown: list[str] = []

    def ask(_parent, _title, text, *a, **k):
        shown.append(text)
        return QMessageBox.StandardButton.No if len(shown) == 1 else (
            QMessageBox.StandardButton.Yes)

    monkeypatch.setattr(QMessageBox, "question", staticmethod(ask))
    qtbot.mouseClick(dialog.attach_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert "nameless.dcm: Cannot confirm whose file this is" in shown[0]
    assert "names nobody" in shown[0] and tab.model.rowCount() == 0  # said no
    qtbot.mouseClick(dialog.attach_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=10000)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0)
    dialog.close()


def test_from_the_main_window_a_file_is_attached_to_a_patient_found_by_name(
        window, qtbot, store, admin, monkeypatch, tmp_path) -> None:
    store.patients.create(admin.viewer(), {"first_name": "Jane", "last_name": "Roe",
                                           "gender": "female", "birth_date": "1990-05-05"})
    assert through_the_folder(store, tmp_path, lambda d: samples.dicom_xray(
        d / "jane.dcm", name="ROE^JANE", birth="19900505")).unassigned == 1
    window.unassigned_images()
    dialog = window.findChild(UnassignedDialog)
    qtbot.waitUntil(lambda: dialog is not None and dialog.model.rowCount() == 1)
    assert dialog.attach_button.text() == "Attach to a patient…"
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("roe", True)))
    offered: list[list[str]] = []

    def choose(_parent, _title, _label, items, *a, **k):
        offered.append(list(items))
        return items[0], True

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(choose))
    dialog.table.selectRow(0)
    qtbot.mouseClick(dialog.attach_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Attached 1 image to Jane Roe" in dialog.status.text(),
                    timeout=10000)
    assert offered == [["Jane Roe · born 1990-05-05 · no. 1"]]
    [jane] = [p for p in store.patients.search(admin.viewer(), PatientFilter(query="Roe"))]
    [group] = ImagesRepo(store.db).by_record(admin.viewer(), jane.id)
    assert [i.filename for i in group.images] == ["jane.dcm"]
    dialog.close()


def test_an_unassigned_file_naming_someone_else_is_questioned_before_attaching(
        page, qtbot, store, monkeypatch, tmp_path) -> None:
    tab = page.images_tab
    assert through_the_folder(store, tmp_path, lambda d: samples.dicom_xray(
        d / "jane.dcm", name="ROE^JANE", birth="19900505")).unassigned == 1
    tab.show_inbox()
    dialog = tab.findChild(UnassignedDialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    dialog.table.selectRow(0)
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda _p, _t, text, *a, **k: shown.append(text) or QMessageBox.StandardButton.No))
    qtbot.mouseClick(dialog.attach_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert "jane.dcm: The DICOM header names ROE, JANE; says born 1990-05-05" in shown[0]
    assert "John Doe" in shown[0]
    assert dialog.model.rowCount() == 1 and tab.model.rowCount() == 0
    dialog.close()
