"""The patient's reports: every PDF report filed in his record (title, date, who made
it), its details, and the QR code that opens it on the portal."""

from __future__ import annotations

import io

from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core import health_report as hr
from app.store.images.image_rows import RecordImages
from app.store.images.images_repo import ImagesRepo
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp
from app.ui.widgets.table_model import Column, RowRole, RowTableModel, table_view

REPORT_COLUMNS: list[Column[hr.ReportEntry]] = [
    Column("Title", lambda r: r.title),
    Column("Date", lambda r: r.made_on),
    Column("Made by", lambda r: r.made_by or "—"),
]


def qr_png(text: str, scale: int = 6) -> bytes:
    import segno

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


class ReportDetails(QDialog):
    """A report's details and its QR code (the portal's page of the report)."""

    def __init__(self, report: hr.ReportEntry, url: str | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reportDetails")
        self.setWindowTitle(f"Report — {report.title}")
        self.url = url
        form = QFormLayout()
        form.addRow("Title:", QLabel(report.title))
        form.addRow("Date:", QLabel(report.made_on or "—"))
        form.addRow("Made by:", QLabel(report.made_by or "—"))
        form.addRow("File:", QLabel(report.filename))
        self.qr = QLabel(objectName="reportQr")
        self.link = QLabel(objectName="reportLink")
        self.link.setWordWrap(True)
        if url:
            pixmap = QPixmap()
            pixmap.loadFromData(qr_png(url), "PNG")
            self.qr.setPixmap(pixmap)
            self.link.setText(f"Scan to open the report on the portal (the patient or the "
                              f"doctor signs in first):\n{url}")
        else:
            self.link.setText("Connect this PC to a server (Sync ▸ Server…) to share the "
                              "report by QR code.")
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        v = QVBoxLayout(self)
        v.addLayout(form)
        v.addWidget(self.qr)
        v.addWidget(self.link)
        v.addWidget(close)


class ReportsTab(QWidget):
    def __init__(self, ctx: AppContext, images: ImagesRepo,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.images = ctx, images
        self.patient_id: str | None = None
        self.model = RowTableModel(REPORT_COLUMNS, self)
        self.table = table_view(self.model, "reportTable")
        self.table.doubleClicked.connect(lambda *_: self.show_details())
        self.empty = QLabel("No reports yet. Make one with “Health checking report…”.",
                            objectName="reportsEmpty")
        self.details = QPushButton("Details and QR code…", objectName="reportDetailsButton")
        self.details.clicked.connect(lambda: self.show_details())
        self.details_dialog: ReportDetails | None = None
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(self.details)
        v = QVBoxLayout(self)
        v.addLayout(bar)
        v.addWidget(self.empty)
        v.addWidget(self.table, 1)

    def set_patient(self, patient_id: str) -> None:
        self.patient_id = patient_id
        self.load()

    def load(self) -> None:
        if not self.patient_id:
            return
        ctx, pid = self.ctx, self.patient_id

        def show(groups: list[RecordImages]) -> None:
            if pid != self.patient_id:
                return
            rows = [e for g in groups for r in g.images
                    if (e := hr.entry(r.id, r.kind, r.filename, r.taken_at))]
            rows.sort(key=lambda e: (e.made_on, e.image_id), reverse=True)
            self.model.set_rows(rows)
            self.empty.setVisible(not rows)
            self.details.setEnabled(bool(rows))

        ReadOp(lambda: self.images.by_record(ctx.viewer, pid)).success(show).run(ctx.ops)

    def show_details(self, report: hr.ReportEntry | None = None) -> None:
        if report is None:
            index = self.table.currentIndex()
            if index.isValid():
                report = self.model.data(index, RowRole)
            elif self.model.rows:
                report = self.model.rows[0]
        if report is None:
            return
        server = str(self.ctx.store.settings.get("server_url") or "")
        self.details_dialog = ReportDetails(report, hr.portal_url(server, report.image_id),
                                            self)
        self.details_dialog.open()
