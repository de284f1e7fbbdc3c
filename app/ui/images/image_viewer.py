"""The viewer: one image of a collection at a time, zoom, previous / next, download.

Decoding runs in a ReadOp (never on the UI thread); pictures arrive as QImage, which
may be made off the UI thread. Pictures show in a PictureView (Fit fills the view;
brightness, contrast and a ruler), with the DICOM header facts a dentist reads in an
info panel beside. 3D models open in the rotatable MeshView, a CBCT series on its
middle slice with a slider through the slices. Esc closes (QDialog's reject).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.imaging import classify, dicom, mesh, sealed, series, thumbnails
from app.imaging.errors import ImagingError
from app.store.images.image_rows import ImageRow
from app.ui.images.mesh_view import MeshView
from app.ui.images.picture_view import PictureView
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp

VIEW_FIT = 4096  # long side decoded for viewing; enough for any screen at 2× zoom
KIND_LABELS = {
    "intraoral_scan": "Intraoral scan", "face_scan": "Face scan",
    "intraoral_photo": "Intraoral photo", "facial_photo": "Facial photo", "xray": "X-ray",
    "panoramic": "Panoramic X-ray", "cephalometric": "Cephalometric X-ray", "cbct": "CBCT",
    "document": "Document", "other": "Other",
}


def to_qimage(im: Any) -> QImage:
    """PIL image to QImage (copied, so it owns its pixels); safe off the UI thread."""
    if im.mode == "L":
        fmt, bpl = QImage.Format.Format_Grayscale8, im.width
    else:
        im = im.convert("RGB")
        fmt, bpl = QImage.Format.Format_RGB888, im.width * 3
    data = im.tobytes()
    return QImage(data, im.width, im.height, bpl, fmt).copy()


@dataclass(frozen=True)
class Picture:
    """A decoded picture and what the viewer shows beside it."""

    image: QImage
    info: dicom.DicomInfo | None = None
    scale: float = 1.0  # original pixels per decoded pixel


def load_for_view(row: ImageRow, slice_index: int | None = None) -> tuple[str, Any, int]:
    """("picture", Picture, slices) | ("mesh", Mesh, 0) | ("icon", message, 0)."""
    try:
        return _load(row, slice_index)
    except ImagingError as exc:
        raise thumbnails.renamed(exc, row.path, row.filename) from None


def _dicom_picture(path: Path) -> Picture:
    return Picture(to_qimage(dicom.render(path)), dicom.header(path))


def _photo(path: Path) -> Picture:
    from PIL import Image

    im = thumbnails.open_picture(path, VIEW_FIT)
    try:
        with sealed.open_read(path) as f, Image.open(f) as original:
            width = max(original.size) if original.size else im.width
    except (OSError, ValueError):
        width = max(im.size)
    return Picture(to_qimage(im), None, width / max(im.size))


def _load(row: ImageRow, slice_index: int | None) -> tuple[str, Any, int]:
    if not row.present:
        return "icon", "This image has not reached this computer yet.", 0
    path = row.path
    if series.is_manifest(path):
        manifest = series.load(path)
        pick = manifest.middle if slice_index is None else manifest.slices[slice_index]
        from app.imaging.cas import ImageStore

        slice_path = ImageStore(path.parent.parent).path_of(pick.sha256)
        return "picture", _dicom_picture(slice_path), len(manifest.slices)
    found = classify.classify_as(path, row.filename)
    if found.is_mesh:
        return "mesh", mesh.load(path, found.format), 0
    if found.format == "dicom":
        if found.dicom is not None and not found.dicom.is_image:
            what = found.dicom.sop_class or "DICOM object"
            return "icon", (f"{row.filename} is a {what}, not an image: download it to "
                            "open it in the program that made it."), 0
        return "picture", _dicom_picture(path), 0
    if found.format in classify.PHOTO_FORMATS:
        return "picture", _photo(path), 0
    return "icon", "No preview for this kind of file; download it to open it.", 0


def fetch_missing(db: Any, row: ImageRow, slice_index: int | None,
                  progress: Callable[[int, int, str], None]) -> ImageRow:
    """The row, its file fetched from the server first when it is not on this PC yet
    (a PC that joined the practice, or was restored, fetches files when opened), and
    for a series the slice to show; verified by SHA-256 and stored sealed."""
    from dataclasses import replace

    from app.imaging.cas import ImageStore

    store = ImageStore(row.path.parent.parent, getattr(db, "image_key", None))
    wanted: list[tuple[str, int]] = []
    if not row.present:
        wanted.append((row.sha256, 0 if row.series_uid else row.size))
    for sha, size in wanted:
        _fetch(db, store, sha, size, progress)
    row = replace(row, present=True) if wanted else row
    if row.series_uid and series.is_manifest(row.path):
        manifest = series.load(row.path)
        pick = manifest.middle if slice_index is None else manifest.slices[slice_index]
        if not store.has(pick.sha256):
            _fetch(db, store, pick.sha256, pick.size, progress)
    return row


def _fetch(db: Any, store: Any, sha: str, size: int,
           progress: Callable[[int, int, str], None]) -> None:
    from app.platform.secrets import SecretStore
    from sync_agent import connection
    from sync_agent.client import CloudError
    from sync_agent.download_job import NotOnServerError, fetch_file

    conn = connection.load(db, SecretStore())
    if conn is None:
        raise ImagingError("This image is on the server, and this computer is not "
                           "connected to it (Sync → Server…).")
    try:
        fetch_file(store, conn.server_url, conn.token, sha, size,
                   lambda done, total: progress(done, total, "fetching"))
    except NotOnServerError:
        raise ImagingError("This image has not reached the server yet: the computer it "
                           "was added on has not sent it.") from None
    except CloudError:
        raise ImagingError("This image could not be fetched from the server now; try "
                           "again when the server can be reached.") from None


def info_text(info: dicom.DicomInfo | None) -> str:
    """The info panel: the header facts a dentist reads, one per line."""
    if info is None:
        return ""
    lines = []
    name = ", ".join(p for p in info.patient_name.replace("=", "^").split("^") if p.strip())
    for label, value in (("Patient", name), ("Patient ID", info.patient_id),
                         ("Born", info.birth_date or info.birth_raw), *info.details,
                         ("Size", f"{info.columns} × {info.rows} px"
                          + (f", {info.frames} frames" if info.frames > 1 else ""))):
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


class ImageViewer(QDialog):
    shown_index = Signal(int)

    def __init__(self, ctx: AppContext, rows: Sequence[ImageRow], index: int,  # noqa: PLR0915
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageViewer")
        self.ctx = ctx
        self.rows = list(rows)
        self.index = index
        self.setWindowTitle("Image")
        self.caption = QLabel("", objectName="viewerCaption")
        self.prev_button = QPushButton("◀ Previous", objectName="viewerPrevious")
        self.next_button = QPushButton("Next ▶", objectName="viewerNext")
        self.zoom_in = QPushButton("Zoom in", objectName="viewerZoomIn")
        self.zoom_out = QPushButton("Zoom out", objectName="viewerZoomOut")
        self.fit_button = QPushButton("Fit", objectName="viewerFit")
        self.actual_button = QPushButton("Actual size", objectName="viewerActualSize")
        self.measure = QPushButton("Measure", objectName="viewerMeasure")
        self.measure.setCheckable(True)
        self.measure.setToolTip("Click two points on the picture to measure between them.")
        self.download = QPushButton("Download…", objectName="viewerDownload")
        close = QPushButton("Close (Esc)", objectName="viewerClose")
        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.zoom_in.clicked.connect(lambda: self.set_zoom(self.zoom * 1.25))
        self.zoom_out.clicked.connect(lambda: self.set_zoom(self.zoom / 1.25))
        self.fit_button.clicked.connect(self.fit)
        self.actual_button.clicked.connect(lambda: self.set_zoom(1.0))
        self.download.clicked.connect(self.ask_download)
        close.clicked.connect(self.reject)
        bar = QHBoxLayout()
        for w in (self.prev_button, self.next_button, self.zoom_out, self.zoom_in,
                  self.fit_button, self.actual_button, self.measure):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.download)
        bar.addWidget(close)
        self.picture_view = PictureView()
        self.picture = self.picture_view.canvas
        self.measure.toggled.connect(self.picture_view.set_measuring)
        self.brightness = QSlider(Qt.Orientation.Horizontal, objectName="viewerBrightness")
        self.contrast = QSlider(Qt.Orientation.Horizontal, objectName="viewerContrast")
        for slider in (self.brightness, self.contrast):
            slider.setRange(-100, 100)
            slider.setMaximumWidth(160)
            slider.valueChanged.connect(self._levels)
        reset = QPushButton("Reset", objectName="viewerResetLevels")
        reset.clicked.connect(self._reset_levels)
        self.levels_label = QLabel("", objectName="viewerMeasurement")
        self.picture_view.measured.connect(
            lambda text: self.levels_label.setText(f"Measured: {text}"))
        levels = QHBoxLayout()
        levels.addWidget(QLabel("Brightness"))
        levels.addWidget(self.brightness)
        levels.addWidget(QLabel("Contrast"))
        levels.addWidget(self.contrast)
        levels.addWidget(reset)
        levels.addStretch(1)
        levels.addWidget(self.levels_label)
        self.info = QLabel("", objectName="viewerInfo")
        self.info.setTextFormat(Qt.TextFormat.PlainText)  # header text comes from files
        self.info.setWordWrap(True)
        self.info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setFixedWidth(240)
        self.info.hide()
        self.mesh_view = MeshView()
        self.message = QLabel("", objectName="viewerMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.stack = QStackedWidget()
        for page in (self.picture_view, self.mesh_view, self.message):
            self.stack.addWidget(page)
        self.slices = QSlider(Qt.Orientation.Horizontal, objectName="viewerSlices")
        self.slices.hide()
        self.slices.sliderReleased.connect(lambda: self.load(self.slices.value()))
        # Keys and clicks on the groove move one step; a drag loads when released.
        self.slices.valueChanged.connect(
            lambda v: None if self.slices.isSliderDown() else self.load(v))
        body = QHBoxLayout()
        body.addWidget(self.stack, 1)
        body.addWidget(self.info)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(levels)
        layout.addWidget(self.caption)
        layout.addLayout(body, 1)
        layout.addWidget(self.slices)
        for keys, slot in ((Qt.Key.Key_Left, self.previous), (Qt.Key.Key_Right, self.next),
                           (QKeySequence.StandardKey.ZoomIn, self.zoom_in.click),
                           (QKeySequence.StandardKey.ZoomOut, self.zoom_out.click)):
            QShortcut(QKeySequence(keys), self, slot)
        self.resize(1000, 760)
        self.show_current()

    @property
    def image(self) -> QImage | None:
        return self.picture_view.original

    @property
    def zoom(self) -> float:
        return self.picture_view.zoom

    def _reset_levels(self) -> None:
        self.brightness.setValue(0)
        self.contrast.setValue(0)

    def _levels(self, *_: Any) -> None:
        self.picture_view.set_levels(self.brightness.value(), self.contrast.value())

    @property
    def current(self) -> ImageRow:
        return self.rows[self.index]

    def show_current(self) -> None:
        row = self.current
        kind = KIND_LABELS.get(row.kind, row.kind)
        self.caption.setText(f"{self.index + 1} of {len(self.rows)} · {kind} · {row.filename}")
        self.setWindowTitle(row.filename or "Image")
        self.prev_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index < len(self.rows) - 1)
        self.slices.hide()
        self.message.setText("Opening…")
        self.stack.setCurrentWidget(self.message)
        self.load(None)
        self.shown_index.emit(self.index)

    def load(self, slice_index: int | None) -> None:  # noqa: C901, PLR0915
        row, asked = self.current, self.index

        def show(result: tuple[str, Any, int]) -> None:
            if asked != self.index:
                return  # the user moved on meanwhile
            what, value, count = result
            if what == "picture":
                fresh = self.image is None or self.image.size() != value.image.size()
                info = value.info
                self.picture_view.set_image(value.image, spacing=info.spacing_mm if info else None,
                                      scale=value.scale)
                self.info.setText(info_text(info))
                self.info.setVisible(info is not None)
                if fresh:  # a new picture opens whole in the window; slices keep the zoom
                    self.fit()
                self.stack.setCurrentWidget(self.picture_view)
                if count > 1:
                    self.slices.blockSignals(True)
                    self.slices.setRange(0, count - 1)
                    if slice_index is None:
                        self.slices.setValue(count // 2)
                    self.slices.blockSignals(False)
                    self.slices.show()
                    base = self.caption.text().split(" · slice ")[0]
                    self.caption.setText(
                        f"{base} · slice {self.slices.value() + 1} of {count}")
            elif what == "mesh":
                self.picture_view.set_image(None)
                self.info.hide()
                self.mesh_view.set_mesh(value)
                self.stack.setCurrentWidget(self.mesh_view)
            else:
                self.picture_view.set_image(None)
                self.info.hide()
                self.message.setText(str(value))

        def failed(exc: BaseException) -> None:
            if asked == self.index:
                self.picture_view.set_image(None)
                self.info.hide()
                text = str(exc) if isinstance(exc, ImagingError) else f"Cannot open: {exc}"
                if row.present:
                    text += "\nThe original file is kept unchanged."
                self.message.setText(text)
                self.stack.setCurrentWidget(self.message)

        db = self.ctx.store.db

        def work(op: Any) -> tuple[str, Any, int]:
            here = fetch_missing(db, row, slice_index, op.report)
            if here is not row:
                self.rows[asked] = here  # a list item swapped whole: safe off the UI thread
            return load_for_view(here, slice_index)

        def fetching(done: int, total: int, _label: str) -> None:
            if asked == self.index:
                mb = 1024 * 1024
                self.message.setText(
                    f"Fetching from the server… {done / mb:.1f} of {total / mb:.1f} MB"
                    if total else "Fetching from the server…")
                self.stack.setCurrentWidget(self.message)

        ReadOp(work).with_progress(fetching).success(show).failure(failed).run(self.ctx.ops)

    def fit(self) -> None:
        """The whole picture, as large as the view allows."""
        self.picture_view.fit()

    def set_zoom(self, zoom: float) -> None:
        self.picture_view.set_zoom(zoom)

    def wheelEvent(self, event: Any) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.set_zoom(self.zoom * (1.25 if event.angleDelta().y() > 0 else 0.8))
        else:
            super().wheelEvent(event)

    def previous(self) -> None:
        if self.index > 0:
            self.index -= 1
            self.show_current()

    def next(self) -> None:
        if self.index < len(self.rows) - 1:
            self.index += 1
            self.show_current()

    # Download ---------------------------------------------------------------------------
    def ask_download(self) -> None:
        row = self.current
        target, _ = QFileDialog.getSaveFileName(self, "Save a copy", row.filename or "image")
        if target:
            self.save_copy(Path(target))

    def save_copy(self, target: Path) -> None:
        """Copy the stored file (a series: every slice into a folder) off the UI thread."""
        row = self.current
        ctx = self.ctx

        def copy() -> Path:
            if not row.present:
                raise ImagingError("This image has not reached this computer yet.")
            if row.is_series:
                manifest = series.load(row.path)
                target.mkdir(parents=True, exist_ok=True)
                root = row.path.parent.parent
                for s in manifest.slices:
                    sealed.export(root / s.sha256[:2] / s.sha256[2:], target / s.filename)
                return target
            sealed.export(row.path, target)
            return target

        def done(path: Path) -> None:
            self.caption.setText(f"Saved a copy to {path}")

        def failed(exc: BaseException) -> None:
            self.caption.setText(f"Could not save a copy: {exc}")

        ReadOp(copy).success(done).failure(failed).run(ctx.ops)
