"""Health checking report: select the data (an intraoral scan model is required, CBCT
cannot be selected), then the report's settings (title, sections, findings), then
Start writes the PDF off the UI thread (app.ui.patients.report_job)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core import health_report as hr
from app.core.patient_rules import LABELS
from app.store.dto import PatientDetail
from app.store.images.image_rows import ImageRow, RecordImages
from app.store.images.images_repo import ImagesRepo
from app.ui.patients.patient_form import BASIC, CLINICAL
from app.ui.patients.report_job import (
    ReportDataError,
    Source,
    check_uploads,
    make_report,
    render_model,
)
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp, user_message
from app.ui.widgets.layouts import empty_layout
from app.ui.widgets.pdf import ask_pdf_path
from app.ui.widgets.screen_fit import resize_to_fit

KIND_LABELS = {
    "intraoral_scan": "Intraoral scan model",
    "face_scan": "Face scan model",
    "intraoral_photo": "Intraoral photo",
    "facial_photo": "Facial photo",
    "cbct": "CBCT",
}
IdRole = Qt.ItemDataRole.UserRole
PREVIEW_TTL_S = 30 * 60.0  # then drawn again, from the scans as they are then


def file_report(ctx: AppContext, images: ImagesRepo, patient_id: str, visit_id: str | None,
                pdf: Path, filename: str) -> str:
    """The report filed in the patient's record as a PDF document (it then uploads and
    reaches the portal as every file does); its image id."""
    with tempfile.TemporaryDirectory() as tmp:
        named = Path(tmp) / filename
        shutil.copyfile(pdf, named)
        report = images.add_files(ctx.viewer, patient_id, [named], visit_id=visit_id,
                                  kind="document")
    if not report.added:
        reason = report.failed[0][1] if report.failed else "it is already in the record"
        raise ReportDataError(f"The report was saved but not filed: {reason}")
    return report.added[0].id


class ReportDialog(QDialog):
    made = Signal(str)  # the image id of the report filed in the record

    def __init__(self, ctx: AppContext, patient: PatientDetail, images: ImagesRepo,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reportDialog")
        self.setWindowTitle(f"Health checking report — {patient.display_name}")
        self.ctx, self.patient, self.images = ctx, patient, images
        self.rows: dict[str, ImageRow] = {}
        self.candidates: list[hr.Candidate] = []
        self.saved_to: Path | None = None
        self.previews: list[tuple[str, bytes]] = []
        self.preview_until = 0.0
        self.render_count = 0
        self.pages = QStackedWidget(objectName="reportPages")
        self.pages.addWidget(self._select_page())
        self.pages.addWidget(self._settings_page())
        self.confirm.setDefault(True)  # the first page shows first
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        resize_to_fit(self, QSize(640, 520))
        self.load()

    # Select data -----------------------------------------------------------------
    def _select_page(self) -> QWidget:
        page = QWidget()
        self.data_list = QListWidget(objectName="reportData")
        self.data_list.itemChanged.connect(lambda *_: self._check())
        self.select_note = QLabel(hr.NEEDS_SCAN, objectName="reportSelectNote")
        self.select_note.setWordWrap(True)
        self.confirm = QPushButton("Confirm", objectName="reportConfirm")
        self.confirm.setDefault(True)
        self.confirm.clicked.connect(self.to_settings)
        self.confirm.setEnabled(False)  # until the patient's images are listed
        cancel = QPushButton("Cancel")
        cancel.setAutoDefault(False)  # Enter goes on to the settings, Escape cancels
        cancel.clicked.connect(self.reject)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(cancel)
        bar.addWidget(self.confirm)
        v = QVBoxLayout(page)
        v.addWidget(QLabel("Select the data for the report:"))
        v.addWidget(self.data_list, 1)
        v.addWidget(self.select_note)
        v.addLayout(bar)
        return page

    def load(self) -> None:
        ctx, pid = self.ctx, self.patient.id
        ReadOp(lambda: self.images.by_record(ctx.viewer, pid)).success(self._fill).failure(
            lambda exc: self.select_note.setText(user_message(exc, "listing the images"))
        ).run(ctx.ops)

    def _fill(self, groups: list[RecordImages]) -> None:
        self.data_list.blockSignals(True)
        self.data_list.clear()
        self.rows.clear()
        self.candidates = []
        for group in groups:
            for row in group.images:
                if row.kind not in KIND_LABELS:
                    continue
                c = hr.Candidate(row.id, row.kind, row.filename)
                self.rows[row.id] = row
                self.candidates.append(c)
        chosen = hr.default_selection(self.candidates)
        for c in self.candidates:
            group_label = next(g.label for g in groups if any(r.id == c.id for r in g.images))
            item = QListWidgetItem(f"{KIND_LABELS[c.kind]}: {c.filename}  ({group_label})")
            item.setData(IdRole, c.id)
            reason = hr.why_not(c)
            if reason:
                # Shown, so the dentist sees why it is not offered.
                item.setFlags(Qt.ItemFlag.NoItemFlags)
                item.setText(f"{item.text()} — {reason}")
                item.setToolTip(reason)
            else:
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                checked = c.id in chosen
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.data_list.addItem(item)
        self.data_list.blockSignals(False)
        self._check()

    def selected(self) -> set[str]:
        out = set()
        for i in range(self.data_list.count()):
            item = self.data_list.item(i)
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable and (
                item.checkState() == Qt.CheckState.Checked
            ):
                out.add(item.data(IdRole))
        return out

    def _check(self) -> None:
        problem = hr.check_selection(self.candidates, self.selected())
        self.select_note.setText(problem or f"{len(self.selected())} selected.")
        self.confirm.setEnabled(problem is None)

    # Settings -------------------------------------------------------------------------
    def _settings_page(self) -> QWidget:
        page = QWidget()
        self.title_edit = QLineEdit("Health checking report", objectName="reportTitle")
        self.section_boxes: dict[str, QCheckBox] = {}
        sections = QVBoxLayout()
        for name in hr.SECTIONS:
            box = QCheckBox(hr.SECTION_LABELS[name], objectName=f"section_{name}")
            box.setChecked(True)
            self.section_boxes[name] = box
            sections.addWidget(box)
        self.findings = QPlainTextEdit(objectName="reportFindings")
        self.findings.setPlaceholderText("Findings and notes of the dentist")
        form = QFormLayout()
        form.addRow("Title:", self.title_edit)
        form.addRow("Sections:", sections)
        form.addRow("Findings:", self.findings)
        self.preview_row = QHBoxLayout()
        form.addRow("Preview:", self.preview_row)
        self.status = QLabel("", objectName="reportStatus")
        self.status.setWordWrap(True)
        self.regenerate = QPushButton("Regenerate", objectName="reportRegenerate")
        self.regenerate.clicked.connect(self.render_previews)
        self.regenerate.hide()
        back = QPushButton("Back")
        back.setAutoDefault(False)
        back.clicked.connect(self.to_select)
        self.start = QPushButton("Start", objectName="reportStart")
        self.start.clicked.connect(self.make)
        bar = QHBoxLayout()
        bar.addWidget(back)
        bar.addStretch(1)
        bar.addWidget(self.regenerate)
        bar.addWidget(self.start)
        v = QVBoxLayout(page)
        v.addWidget(QLabel("Settings of the health checking report", styleSheet="font-weight:600"))
        v.addLayout(form, 1)
        v.addWidget(self.status)
        v.addLayout(bar)
        return page

    def page(self) -> hr.ReportPage:
        from app.ui.patients.patient_page import field_text

        p = self.patient
        return hr.ReportPage(
            practice=str(self.ctx.store.settings.get("practice_name") or ""),
            title=self.title_edit.text().strip() or "Health checking report",
            patient=p.display_name,
            made_on=dt.date.today().isoformat(),
            made_by=self.ctx.user.display_name,
            sections=tuple(n for n, b in self.section_boxes.items() if b.isChecked()),
            basic=tuple((LABELS[n], field_text(n, p.get(n))) for n in BASIC),
            clinical=tuple((LABELS[n], field_text(n, p.get(n))) for n in CLINICAL),
            findings=self.findings.toPlainText(),
        )

    # The temporary preview ----------------------------------------------------------------
    def chosen(self) -> list[ImageRow]:
        return [self.rows[i] for i in sorted(self.selected()) if i in self.rows]

    def to_settings(self) -> None:
        self.pages.setCurrentIndex(1)
        self.start.setDefault(True)  # a dialog has one default button: the shown page's
        self.render_previews()

    def to_select(self) -> None:
        self.pages.setCurrentIndex(0)
        self.confirm.setDefault(True)

    def render_previews(self) -> None:
        """The views of the selected models, drawn once for the preview and the PDF; kept
        in memory only (a scan may be sealed at rest) and for PREVIEW_TTL_S."""
        scans = [r for r in self.chosen() if r.kind in hr.SCAN_KINDS]
        models = sorted((_source(r) for r in scans), key=lambda s: s.filename)
        db = self.ctx.store.db
        checked = [(r.id, r.filename) for r in scans if r.kind == "intraoral_scan"]
        self.previews = []
        self.regenerate.hide()
        self.start.setEnabled(False)
        self.status.setText("Drawing the models…")
        asked = self.render_count = self.render_count + 1

        def done(views: list[tuple[str, bytes]]) -> None:
            if asked != self.render_count:
                return  # the selection changed while drawing
            self.previews = views
            self.preview_until = time.monotonic() + PREVIEW_TTL_S
            self._show_previews()
            self.status.setText("")
            self.start.setEnabled(True)

        def failed(exc: BaseException) -> None:
            if asked == self.render_count:
                said = user_message(exc, "drawing the models")
                self.status.setText(said)
                # Drawing again helps a scan that was not here yet, not a refused one.
                self.regenerate.setVisible(not said.startswith(hr.NOT_PERMITTED))

        def work() -> list[tuple[str, bytes]]:
            check_uploads(db, checked)
            return [v for src in models for v in render_model(src)]

        ReadOp(work).success(done).failure(failed).run(self.ctx.ops)

    def _show_previews(self) -> None:
        empty_layout(self.preview_row)
        for caption, data in self.previews:
            pix = QPixmap()
            pix.loadFromData(data, "PNG")
            label = QLabel(objectName="reportPreview")
            label.setPixmap(pix.scaledToWidth(140, Qt.TransformationMode.SmoothTransformation))
            label.setToolTip(caption)
            self.preview_row.addWidget(label)
        self.preview_row.addStretch(1)

    def preview_expired(self) -> bool:
        return not self.previews or time.monotonic() >= self.preview_until

    def make(self) -> None:
        if self.preview_expired():
            # Seed 002: the expired preview is regenerated before a report is made.
            self.status.setText(f"{hr.EXPIRED}. Click Regenerate before creating the report.")
            self.regenerate.show()
            return
        page = self.page()
        path = ask_pdf_path(self, "Save the health checking report",
                            f"{page.title} {self.patient.display_name} {page.made_on}.pdf")
        if path is None:
            return
        chosen = self.chosen()
        views = list(self.previews)
        photos = [_source(r) for r in chosen if r.kind in hr.PHOTO_KINDS]
        visit = next((r.visit_id for r in chosen if r.kind == "intraoral_scan"), None)
        name = hr.filed_name(page.title, page.made_by)
        self.start.setEnabled(False)
        self.status.setText("Drawing the models and writing the report…")
        ReadOp(lambda: make_report(page, views, photos, path)).success(
            lambda out: self._file(out, visit, name)).failure(self._failed).run(self.ctx.ops)

    def _file(self, path: Path, visit_id: str | None, name: str) -> None:
        ctx, images, pid = self.ctx, self.images, self.patient.id
        self.saved_to = path
        WriteOp(lambda: file_report(ctx, images, pid, visit_id, path, name), {"images"}).success(
            self._done).failure(self._failed).run(ctx.ops)

    def _done(self, image_id: str) -> None:
        self.start.setEnabled(True)
        self.status.setText(f"Report saved to {self.saved_to} and listed under the "
                            "patient's reports.")
        self.made.emit(image_id)

    def _failed(self, exc: BaseException) -> None:
        self.start.setEnabled(True)
        self.status.setText(user_message(exc, "making the report"))


def _source(row: ImageRow) -> Source:
    return Source(row.path, row.filename, row.present)
