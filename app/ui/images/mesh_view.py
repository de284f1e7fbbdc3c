"""A rotatable preview of a 3D model, drawn with QPainter (no OpenGL needed).

The projection and shading come from app.imaging.mesh; this widget only paints the
triangles it is given and turns the model as the mouse drags.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.imaging import mesh

PREVIEW_FACES = 6000  # enough to read the shape, few enough to turn smoothly


class MeshView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("meshView")
        self.mesh: mesh.Mesh | None = None
        self.yaw, self.pitch = 0.5, -0.4
        self._drag: QPointF | None = None
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def set_mesh(self, m: mesh.Mesh) -> None:
        self.mesh = mesh.sample(m, PREVIEW_FACES)
        self.update()

    def rotate(self, d_yaw: float, d_pitch: float) -> None:
        self.yaw += d_yaw
        self.pitch = float(np.clip(self.pitch + d_pitch, -1.55, 1.55))
        self.update()

    def mousePressEvent(self, event: Any) -> None:
        self._drag = event.position()
        self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: Any) -> None:
        if self._drag is None:
            return
        delta = event.position() - self._drag
        self._drag = event.position()
        self.rotate(delta.x() * 0.01, delta.y() * 0.01)

    def mouseReleaseEvent(self, _event: Any) -> None:
        self._drag = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def paintEvent(self, _event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(236, 238, 242))
        if self.mesh is None:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        proj = mesh.project(self.mesh, self.yaw, self.pitch, self.width(), self.height())
        p.setPen(QPen(Qt.PenStyle.NoPen))
        for poly, shade in zip(proj.polygons.tolist(), proj.shade.tolist(), strict=True):
            p.setBrush(QBrush(QColor(int(222 * shade), int(205 * shade), int(180 * shade))))
            p.drawPolygon(QPolygonF([QPointF(x, y) for x, y in poly]))
        p.end()
