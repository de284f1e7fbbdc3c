"""Images on the patient page as a dentist uses them: add, drop, view, acquire, cases."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from app.imaging.sealed import read_plain
from app.store.images.acquisition_repo import AcquisitionRepo
from app.ui.images.image_viewer import ImageViewer
from app.ui.images.images_model import ImageRole
from app.ui.images.unassigned_dialog import UnassignedDialog
from sync_agent.acquisition_job import AcquisitionJob
from tests.unit.imaging import samples


def add_through_dialog(page, qtbot, monkeypatch, paths: list[Path]) -> None:
    tab = page.images_tab
    before = tab.model.rowCount()
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        staticmethod(lambda *a, **k: ([str(p) for p in paths], "")))
    qtbot.mouseClick(tab.findChild(type(tab.case), "addImages"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.model.rowCount() == before + len(paths), timeout=10000)


def test_add_by_the_file_dialog_shows_thumbnails_by_record(page, qtbot, monkeypatch, files,
                                                           tmp_path) -> None:
    tab = page.images_tab
    assert tab.empty.isVisible()
    add_through_dialog(page, qtbot, monkeypatch, files)
    qtbot.waitUntil(tab.model.thumbnails_ready, timeout=10000)
    assert "Added 3 images" in tab.status.text()
    assert {r.kind for r in tab.model.rows} == {"intraoral_photo", "xray", "intraoral_scan"}
    assert all(tab.model.problem(r.sha256) is None for r in tab.model.rows)
    # A new record of today was made, and the next files go into it.
    [(group, _first)] = tab.model.groups
    assert group.visit_name and group.visit_name.startswith("Images ")
    assert tab.target.currentData() == group.visit_id
    broken = tmp_path / "broken.png"
    broken.write_bytes(files[0].read_bytes()[:10])
    add_through_dialog(page, qtbot, monkeypatch, [samples.photo(tmp_path / "b.jpg", seed=2)])
    assert len(tab.model.groups) == 1
    tab.add_paths([broken])  # kept as it came, though it cannot be drawn
    qtbot.waitUntil(lambda: tab.model.rowCount() == 5, timeout=10000)
    qtbot.waitUntil(tab.model.thumbnails_ready, timeout=10000)
    bad = next(r for r in tab.model.rows if r.filename == "broken.png")
    problem = tab.model.problem(bad.sha256) or ""
    assert problem.startswith("broken.png cannot be read"), problem
    assert read_plain(bad.path) == broken.read_bytes()  # kept as it came


def test_files_and_folders_dropped_on_the_patient_page_are_added(page, qtbot, files,
                                                                 tmp_path) -> None:
    export = tmp_path / "cbct-export"
    samples.ct_series(export / "series1", n=4)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in [*files[:2], export]])
    pos = QPointF(page.rect().center())
    enter = QDragEnterEvent(QPoint(int(pos.x()), int(pos.y())), Qt.DropAction.CopyAction,
                            mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page, drop)
    assert drop.isAccepted()
    tab = page.images_tab
    qtbot.waitUntil(lambda: tab.model.rowCount() == 3, timeout=10000)
    assert sorted(r.kind for r in tab.model.rows) == ["cbct", "intraoral_photo", "xray"]
    # Removed from the record: a tombstone that syncs, the file itself kept.
    xray = next(r for r in tab.model.rows if r.kind == "xray")
    tab.remove([xray])
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2, timeout=10000)
    assert xray.path.is_file()


def test_viewer_zoom_next_previous_download_and_esc(page, qtbot, monkeypatch, files,
                                                    tmp_path) -> None:
    tab = page.images_tab
    add_through_dialog(page, qtbot, monkeypatch, files)
    order = [r.filename for r in tab.model.rows]
    tab.open_viewer(order.index("mouth.jpg"))
    viewer: ImageViewer = tab.viewer
    qtbot.waitUntil(lambda: viewer.stack.currentWidget() is viewer.picture_view, timeout=10000)
    qtbot.waitUntil(lambda: viewer.picture.width() > 1)
    width = viewer.picture.width()
    # It opens whole in the window; zoom in and back to its actual size.
    assert width <= viewer.picture_view.viewport().width()
    qtbot.mouseClick(viewer.zoom_in, Qt.MouseButton.LeftButton)
    assert viewer.picture.width() > width
    qtbot.mouseClick(viewer.actual_button, Qt.MouseButton.LeftButton)
    assert viewer.picture.width() == viewer.image.width() == 320
    saved = tmp_path / "copy.jpg"
    viewer.save_copy(saved)
    qtbot.waitUntil(lambda: "Saved a copy" in viewer.caption.text(), timeout=10000)
    assert saved.read_bytes() == files[0].read_bytes()
    # Through the collection: buttons and arrow keys.
    start = viewer.index
    if viewer.next_button.isEnabled():
        qtbot.mouseClick(viewer.next_button, Qt.MouseButton.LeftButton)
        assert viewer.index == start + 1
        qtbot.mouseClick(viewer.prev_button, Qt.MouseButton.LeftButton)
    else:
        qtbot.mouseClick(viewer.prev_button, Qt.MouseButton.LeftButton)
        assert viewer.index == start - 1
        qtbot.mouseClick(viewer.next_button, Qt.MouseButton.LeftButton)
    assert viewer.index == start
    stl = order.index("upper.stl")
    while viewer.index != stl:
        qtbot.keyClick(viewer, Qt.Key.Key_Right if viewer.index < stl else Qt.Key.Key_Left)
    assert viewer.caption.text().startswith(f"{stl + 1} of 3")
    qtbot.waitUntil(lambda: viewer.stack.currentWidget() is viewer.mesh_view, timeout=10000)
    mesh_view = viewer.mesh_view
    yaw = mesh_view.yaw
    qtbot.mousePress(mesh_view, Qt.MouseButton.LeftButton, pos=QPoint(50, 50))
    qtbot.mouseMove(mesh_view, QPoint(120, 60))
    qtbot.mouseRelease(mesh_view, Qt.MouseButton.LeftButton, pos=QPoint(120, 60))
    assert mesh_view.yaw != yaw
    mesh_view.grab()  # paints the projected model without error
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: tab.viewer is None, timeout=5000)


def test_create_case_from_selected_images(page, qtbot, monkeypatch, files) -> None:
    tab = page.images_tab
    add_through_dialog(page, qtbot, monkeypatch, files)
    assert not tab.case.isEnabled()
    sel = tab.view.selectionModel()
    for row in (0, 2):
        sel.select(tab.model.index(row), sel.SelectionFlag.Select)
    assert tab.case.isEnabled() and tab.case.text() == "Create case (2)"
    picked = {tab.model.data(tab.model.index(row), ImageRole).id for row in (0, 2)}
    page.cases.labs = lambda: [("LAB1", "Crown Works")]  # as the server lists them
    qtbot.mouseClick(tab.case, Qt.MouseButton.LeftButton)
    # The lab case form opens with the picked images attached, and the others offered.
    dialog = page.cases.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.images.count() == tab.model.rowCount())
    items = [dialog.images.item(i) for i in range(dialog.images.count())]
    assert {i.data(Qt.ItemDataRole.UserRole) for i in items
            if i.checkState() == Qt.CheckState.Checked} == picked
    # It makes a lab case (no longer a draft kept on this PC only).
    qtbot.waitUntil(dialog.create_button.isEnabled)
    qtbot.keyClicks(dialog.case_type, "Crown 36")
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.cases.model.rowCount() == 1)
    [case] = page.ctx.store.cases.for_patient(page.ctx.viewer, page.patient.id)
    assert (case.case_type, case.lab_name, set(case.image_ids)) == ("Crown 36", "Crown Works",
                                                                     picked)


def test_a_draft_case_from_before_labs_gets_its_lab_then_goes(page, qtbot, store,
                                                             admin) -> None:
    from app.store.cases.models import LabCase

    with store.db.write() as s:  # as the upgrade turns an old draft into a case
        s.add(LabCase(patient_id=page.patient.id, case_type="Crown 36", status="draft"))
    cases = page.cases
    cases.labs = lambda: [("LAB1", "Crown Works"), ("LAB2", "Far Lab")]
    page.tabs.setCurrentWidget(cases)
    cases.load()
    qtbot.waitUntil(lambda: cases.model.rowCount() == 1)
    cases.table.selectRow(0)
    assert cases.edit.isEnabled() and not cases.send.isEnabled()
    assert "Choose the lab" in cases.send.toolTip()
    qtbot.mouseClick(cases.edit, Qt.MouseButton.LeftButton)
    dialog = cases.dialog
    assert dialog is not None and dialog.windowTitle() == "Edit case"
    assert dialog.case_type.text() == "Crown 36"
    qtbot.waitUntil(lambda: dialog.lab.count() == 2)
    dialog.lab.setCurrentIndex(dialog.lab.findData("LAB2"))
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cases.model.row_at(0).lab_code == "LAB2")
    assert cases.model.index(0, 0).data() == "Far Lab"
    cases.table.selectRow(0)
    assert cases.send.isEnabled()
    qtbot.mouseClick(cases.send, Qt.MouseButton.LeftButton)
    status = [c.header for c in cases.model.columns].index("Status")
    qtbot.waitUntil(lambda: cases.model.index(0, status).data() ==
                    "Sending — waiting for the server")


def test_acquire_then_attach_from_the_unassigned_inbox(page, qtbot, store, tmp_path) -> None:
    tab = page.images_tab
    drop = tmp_path / "drop"
    drop.mkdir()
    samples.photo(drop / "waiting.jpg")
    t = [0.0]
    job = AcquisitionJob(store.db, drop, settle_s=1, clock=lambda: t[0])
    job.run()
    t[0] += 2
    assert job.run().unassigned == 1
    tab.load()
    qtbot.waitUntil(lambda: tab.inbox_button.text() == "Unassigned images (1)…")
    qtbot.mouseClick(tab.inbox_button, Qt.MouseButton.LeftButton)
    dialog = tab.findChild(UnassignedDialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    assert "No acquisition was active" in dialog.model.rows[0].reason
    dialog.table.selectRow(0)
    qtbot.mouseClick(dialog.attach_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=10000)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0)
    dialog.close()
    # "Acquire images": the folder now files for this patient.
    qtbot.mouseClick(tab.acquire, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.acquire.text() == "Stop acquiring", timeout=5000)
    active = AcquisitionRepo(store.db).active()
    assert active is not None and active.patient_id == page.patient.id
    samples.photo(drop / "next.jpg", seed=5)
    job.run()
    t[0] += 2
    assert job.run().attached == 1
    # Filed by the agent: the open page notices the commit and shows it.
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2, timeout=10000)
    qtbot.mouseClick(tab.acquire, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.acquire.text() == "Acquire images", timeout=5000)
    assert AcquisitionRepo(store.db).active() is None


def test_a_cbct_series_is_one_item_browsed_slice_by_slice(page, qtbot, tmp_path) -> None:
    tab = page.images_tab
    tab.add_paths(samples.ct_series(tmp_path / "ct", n=5))
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=10000)
    [row] = tab.model.rows
    assert row.kind == "cbct" and row.is_series
    qtbot.waitUntil(tab.model.thumbnails_ready, timeout=10000)
    assert tab.model.problem(row.sha256) is None
    tab.open_viewer(0)
    viewer: ImageViewer = tab.viewer
    qtbot.waitUntil(viewer.slices.isVisible, timeout=10000)
    assert viewer.caption.text().endswith("slice 3 of 5")
    viewer.slices.setValue(0)
    qtbot.waitUntil(lambda: viewer.caption.text().endswith("slice 1 of 5"), timeout=10000)
    viewer.reject()


def test_images_model_groups_records_without_a_view(ctx, store, admin, qtbot, tmp_path
                                                    ) -> None:
    from app.imaging.thumbnails import ThumbnailCache
    from app.store.images.images_repo import ImagesRepo
    from app.ui.images.images_model import ImageRole, ImagesModel

    v = admin.viewer()
    patient = store.patients.create(v, {"first_name": "Ana", "gender": "female"})
    repo = ImagesRepo(store.db)
    repo.add_files(v, patient.id, [samples.photo(tmp_path / "a.jpg", seed=1)],
                   new_record="First")
    repo.add_files(v, patient.id, [samples.obj(tmp_path / "b.obj"),
                                   samples.photo(tmp_path / "c.png", fmt="PNG", seed=2)])
    model = ImagesModel(ctx.ops, ThumbnailCache(repo.files))
    model.set_groups(repo.by_record(v, patient.id))
    assert model.rowCount() == 3
    assert [(g.label.split(" · ")[-1], first) for g, first in model.groups] == [
        ("First", 0), ("Not in a record", 1)]
    assert model.index(0).data().startswith("Intraoral photo\n")
    assert model.index(1).data(ImageRole).filename in ("b.obj", "c.png")
    model.index(2).data(Qt.ItemDataRole.DecorationRole)  # asks for the thumbnails
    model.index(1).data(Qt.ItemDataRole.DecorationRole)
    model.index(0).data(Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(model.thumbnails_ready, timeout=10000)
    assert all(model.problem(r.sha256) is None for r in model.rows)


def test_status_bar_says_whose_images_are_taken_and_what_waits(window, page, qtbot, store,
                                                               admin, tmp_path) -> None:
    status = window.acquisition_status
    assert not status.isVisible()
    qtbot.mouseClick(page.images_tab.acquire, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status.text() == "Acquiring for John Doe", timeout=5000)
    drop = tmp_path / "drop"
    drop.mkdir()
    samples.dicom_xray(drop / "other.dcm", name="ROE^JANE")
    t = [0.0]
    job = AcquisitionJob(store.db, drop, settle_s=1, clock=lambda: t[0])
    job.run()
    t[0] += 2
    assert job.run().quarantined == 1
    window._changed({"acquisition"})
    qtbot.waitUntil(lambda: "1 image to assign" in status.text(), timeout=5000)
    qtbot.mouseClick(status, Qt.MouseButton.LeftButton)
    dialog = page.images_tab.findChild(UnassignedDialog)
    qtbot.waitUntil(lambda: dialog is not None and dialog.model.rowCount() == 1)
    assert dialog.model.rows[0].status == "quarantined"
    # Look before attaching.
    dialog.table.selectRow(0)
    qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    viewer = dialog.viewer
    qtbot.waitUntil(lambda: viewer.stack.currentWidget() is viewer.picture_view, timeout=10000)
    assert "other.dcm" in viewer.caption.text()
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not viewer.isVisible())
    dialog.close()


def test_acquisition_folder_is_set_per_pc_from_the_images_menu(window, qtbot, store,
                                                               tmp_path) -> None:
    from app.imaging import acquisition
    from app.ui.images.acquisition_folder_dialog import AcquisitionFolderDialog

    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Images")
    next(a for a in menu.actions() if a.text().startswith("&Acquisition folder")).trigger()
    dialog = window.findChild(AcquisitionFolderDialog)
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible())
    dialog.folder.setText(str(tmp_path / "xray-drop"))
    dialog.polling.setChecked(True)
    assert dialog.keep_days.value() == 30 and dialog.keep_days.isEnabled()  # an admin
    dialog.keep_days.setValue(0)
    assert dialog.keep_days.text() == "Keep them"
    dialog.save()
    saved = acquisition.load_settings(store.db.path)
    assert saved.folder == tmp_path / "xray-drop" and saved.polling
    assert saved.keep_days == 0 and saved.originals_days == 0
    # Saved by someone who may not change the days (the box is not theirs): kept.
    acquisition.save_settings(store.db.path, acquisition.FolderSettings(tmp_path / "other"))
    assert acquisition.load_settings(store.db.path).keep_days == 0
    assert (Path(acquisition.config_dir()) / "acquisition.json").is_file()
