"""The images of a patient as a list model: grouped by record, thumbnails on demand.

Rows are the images in display order (records newest first); `groups` keeps where
each record starts, for the labels that jump between records. Thumbnails are made in
ReadOps and cached on disk by hash; until one arrives an item shows its kind.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap

from app.imaging.thumbnails import ThumbnailCache
from app.store.images.image_rows import ImageRow, RecordImages
from app.ui.shell.ops import OpRunner, ReadOp
from app.ui.widgets import plain_text

ImageRole = Qt.ItemDataRole.UserRole + 1
THUMB = 160
Index = QModelIndex | QPersistentModelIndex


class ImagesModel(QAbstractListModel):
    def __init__(self, ops: OpRunner, cache: ThumbnailCache, parent: Any = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.cache = cache
        self.rows: list[ImageRow] = []
        self.groups: list[tuple[RecordImages, int]] = []  # (group, first row)
        self.record_of: list[str] = []
        self._icons: dict[str, QIcon] = {}
        self._problems: dict[str, str] = {}
        self._asked: set[str] = set()
        self._waiting: deque[tuple[str, str]] = deque()
        self._making = False

    def set_groups(self, groups: list[RecordImages]) -> None:
        self.beginResetModel()
        self.rows, self.groups, self.record_of = [], [], []
        for g in groups:
            self.groups.append((g, len(self.rows)))
            self.rows.extend(g.images)
            self.record_of.extend([g.label] * len(g.images))
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            from app.ui.images.image_viewer import KIND_LABELS

            return f"{KIND_LABELS.get(row.kind, row.kind)}\n{row.filename}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            problem = self._problems.get(row.sha256)
            tip = f"{row.filename}\n{self.record_of[index.row()]}\n{row.size:,} bytes"
            return plain_text.tooltip(f"{tip}\n{problem}" if problem else tip)
        if role == ImageRole:
            return row
        return None

    def _icon(self, row: ImageRow) -> QIcon:
        icon = self._icons.get(row.sha256)
        if icon is not None:
            return icon
        # An image whose file is still on the server shows the server's thumbnail,
        # when the agent has fetched it.
        if row.sha256 not in self._asked and (row.present or self.cache.has(row.sha256)):
            self._asked.add(row.sha256)
            self._waiting.append((row.sha256, row.filename))
            self._next()
        pix = QPixmap(QSize(THUMB, THUMB))
        pix.fill(QColor(225, 229, 236) if row.present else QColor(245, 230, 200))
        return QIcon(pix)

    def _next(self) -> None:
        """One thumbnail at a time: the reader pool is shared with the searches and
        lists the front desk is waiting for, so a patient with hundreds of images
        must not fill it. Views ask only for the items they show."""
        if self._making or not self._waiting:
            return
        sha, name = self._waiting.popleft()
        self._making = True
        cache = self.cache

        def make() -> QImage:
            return QImage.fromData(cache.png(sha, name=name))

        ReadOp(make).success(lambda img: self._arrived(sha, img)).failure(
            lambda exc: self._failed(sha, exc)
        ).run(self.ops)

    def _arrived(self, sha: str, image: QImage) -> None:
        self._making = False
        self._icons[sha] = QIcon(_square(image))
        self._changed(sha)
        self._next()

    def _failed(self, sha: str, exc: BaseException) -> None:
        self._making = False
        # Never a blank tile: it says there is no preview; the tooltip says why.
        pix = QPixmap(QSize(THUMB, THUMB))
        pix.fill(QColor(240, 200, 200))
        painter = QPainter(pix)
        painter.setPen(QColor(110, 40, 40))
        painter.drawText(pix.rect().adjusted(8, 8, -8, -8),
                         int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                         "No preview\n(see why in the tooltip)")
        painter.end()
        self._icons[sha] = QIcon(pix)
        self._problems[sha] = str(exc)
        self._changed(sha)
        self._next()

    def _changed(self, sha: str) -> None:
        for i, r in enumerate(self.rows):
            if r.sha256 == sha:
                idx = self.index(i)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def thumbnails_ready(self) -> bool:
        """Every present image has its thumbnail or its reason (for tests and waits)."""
        return all(r.sha256 in self._icons for r in self.rows
                   if r.present or self.cache.has(r.sha256))

    def problem(self, sha: str) -> str | None:
        return self._problems.get(sha)


def _square(image: QImage) -> QPixmap:
    """The thumbnail centred on a THUMB × THUMB square: every tile keeps the size of the
    placeholder it replaces, so its caption stays where it was drawn (a tile that
    changed height left its old caption painted below the new one)."""
    scaled = image.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                          Qt.TransformationMode.SmoothTransformation)
    pix = QPixmap(QSize(THUMB, THUMB))
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.drawImage((THUMB - scaled.width()) // 2, (THUMB - scaled.height()) // 2, scaled)
    painter.end()
    return pix
