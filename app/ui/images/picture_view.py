"""A picture in the viewer: zoom, Fit, brightness and contrast, and a ruler.

Fit fills the view with the whole picture (a small X-ray is enlarged; nothing is
cropped). Brightness and contrast are a lookup table over the decoded 8-bit picture,
never a change to the stored file. The ruler measures between two clicks: in mm when
the file gives its pixel size (DICOM PixelSpacing / ImagerPixelSpacing), else in
pixels of the original image.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QScrollArea, QWidget


def adjusted(image: QImage, brightness: int, contrast: int) -> QImage:
    """The picture with brightness and contrast (each -100..100) applied."""
    if brightness == 0 and contrast == 0:
        return image
    gain = 2.0 ** (contrast / 50.0)
    lut = np.clip((np.arange(256, dtype=np.float32) - 128.0) * gain + 128.0
                  + brightness * 1.28, 0, 255).astype(np.uint8)
    grey = image.format() == QImage.Format.Format_Grayscale8
    src = image if grey else image.convertToFormat(QImage.Format.Format_RGB888)
    channels = 1 if grey else 3
    w, h, bpl = src.width(), src.height(), src.bytesPerLine()
    raw = np.frombuffer(src.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    pixels = np.ascontiguousarray(lut[raw[:, : w * channels]])
    fmt = QImage.Format.Format_Grayscale8 if grey else QImage.Format.Format_RGB888
    return QImage(pixels.data, w, h, w * channels, fmt).copy()


class _Canvas(QWidget):
    def __init__(self, owner: PictureView) -> None:
        super().__init__()
        self.owner = owner
        self.setObjectName("viewerPicture")
        self.setMouseTracking(False)

    def paintEvent(self, _event: QPaintEvent) -> None:
        o = self.owner
        if o.pixmap is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawPixmap(self.rect(), o.pixmap)
        if o.points:
            pts = [QPointF(x * o.zoom, y * o.zoom) for x, y in o.points]
            p.setPen(QPen(QColor(255, 200, 0), 2))
            for pt in pts:
                p.drawEllipse(pt, 4, 4)
            if len(pts) == 2:
                p.drawLine(pts[0], pts[1])
                mid = (pts[0] + pts[1]) / 2
                p.setPen(QColor(255, 230, 120))
                p.drawText(QRectF(mid.x() + 6, mid.y() + 6, 200, 24), o.distance_text())
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        o = self.owner
        if not o.measuring or event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        pos = event.position()
        o.add_point(pos.x() / o.zoom, pos.y() / o.zoom)


class PictureView(QScrollArea):
    measured = Signal(str)  # the distance, in words, when a measurement is complete

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewerScroll")
        self.canvas = _Canvas(self)
        self.setWidget(self.canvas)
        self.setWidgetResizable(False)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.original: QImage | None = None
        self.shown: QImage | None = None
        self.pixmap: QPixmap | None = None
        self.zoom = 1.0
        self.brightness = 0
        self.contrast = 0
        self.spacing: tuple[float, float] | None = None  # mm per pixel: rows, columns
        self.scale = 1.0  # original pixels per decoded pixel (big photos are decoded small)
        self.measuring = False
        self.points: list[tuple[float, float]] = []

    def set_image(self, image: QImage | None, *, spacing: tuple[float, float] | None = None,
                  scale: float = 1.0) -> None:
        self.original, self.spacing, self.scale = image, spacing, scale
        self.points = []
        self._refresh()

    def set_levels(self, brightness: int, contrast: int) -> None:
        self.brightness, self.contrast = brightness, contrast
        self._refresh()

    def _refresh(self) -> None:
        if self.original is None or self.original.isNull():
            self.shown = self.pixmap = None
            self.canvas.resize(1, 1)
            self.canvas.update()
            return
        self.shown = adjusted(self.original, self.brightness, self.contrast)
        self.pixmap = QPixmap.fromImage(self.shown)
        self.set_zoom(self.zoom)

    def fit(self) -> None:
        """The whole picture as large as the view allows."""
        if self.original is None or self.original.isNull():
            return
        room = self.viewport().size()
        self.set_zoom(min(room.width() / self.original.width(),
                          room.height() / self.original.height()) * 0.995)

    def set_zoom(self, zoom: float) -> None:
        self.zoom = max(0.02, min(zoom, 32.0))
        if self.original is None:
            return
        w = max(1, round(self.original.width() * self.zoom))
        h = max(1, round(self.original.height() * self.zoom))
        self.canvas.resize(QSize(w, h))
        self.canvas.update()

    # The ruler ----------------------------------------------------------------------------
    def set_measuring(self, on: bool) -> None:
        self.measuring = on
        self.points = []
        self.canvas.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        self.canvas.update()

    def add_point(self, x: float, y: float) -> None:
        """A click, in decoded-picture pixels; the second makes a measurement."""
        if len(self.points) >= 2:
            self.points = []
        self.points.append((x, y))
        self.canvas.update()
        if len(self.points) == 2:
            self.measured.emit(self.distance_text())

    def distance(self) -> tuple[float, str]:
        """The measured length and its unit ("mm", or "px" of the original image)."""
        if len(self.points) < 2:
            return 0.0, "px"
        (x0, y0), (x1, y1) = self.points
        dx, dy = (x1 - x0) * self.scale, (y1 - y0) * self.scale
        if self.spacing:
            row_mm, col_mm = self.spacing
            return math.hypot(dx * col_mm, dy * row_mm), "mm"
        return math.hypot(dx, dy), "px"

    def distance_text(self) -> str:
        value, unit = self.distance()
        if unit == "mm":
            return f"{value:.1f} mm"
        return f"{value:.0f} px (the file gives no pixel size)"
