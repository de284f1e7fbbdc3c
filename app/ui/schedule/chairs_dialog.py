"""The practice's chairs (Practice ▸ Chairs…, for administrators): the columns of the
appointment book, synced to every PC. A chair taken out of the book keeps its
appointments; they show in the "No chair" column."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.store.schedule.dto import ChairRow
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp, user_message


class ChairsDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("chairsDialog")
        self.setWindowTitle("Chairs")
        self.list = QListWidget(objectName="chairList")
        self.name = QLineEdit(objectName="chairName")
        self.name.setPlaceholderText("New name, e.g. Chair 3 or Hygiene")
        add = QPushButton("Add", objectName="addChair")
        add.clicked.connect(self.add)
        add.setDefault(True)  # Enter in the name adds the chair (once)
        rename = QPushButton("Rename", objectName="renameChair")
        rename.clicked.connect(self.rename)
        self.toggle = QPushButton("Take out of the book", objectName="toggleChair")
        self.toggle.clicked.connect(self.toggle_active)
        for b in (rename, self.toggle):
            b.setAutoDefault(False)
        self.error = QLabel("", objectName="chairsError")
        self.error.setStyleSheet("color: #b00020;")
        row = QHBoxLayout()
        for w in (self.name, add, rename, self.toggle):
            row.addWidget(w)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAutoDefault(False)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.list.currentItemChanged.connect(lambda *_: self._selected())
        self.name.setFocus()  # typing a name and Enter adds a chair, as the box says
        self.reload()

    def reload(self) -> None:
        ReadOp(lambda: self.ctx.store.book.chairs(active_only=False)).success(self._show).run(
            self.ctx.ops
        )

    def _show(self, chairs: list[ChairRow]) -> None:
        self.list.clear()
        for c in chairs:
            item = QListWidgetItem(c.name if c.active else f"{c.name} (not in the book)")
            item.setData(Qt.ItemDataRole.UserRole, c)
            self.list.addItem(item)

    def _current(self) -> ChairRow | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _selected(self) -> None:
        c = self._current()
        if c is not None:
            self.toggle.setText("Take out of the book" if c.active else "Put back in the book")

    def _write(self, fn: Callable[[], object]) -> None:
        op = WriteOp(fn, {"chairs"}, "changing the chairs")
        op.success(self._written)
        op.failure(lambda exc: self.error.setText(user_message(exc))).run(self.ctx.ops)

    def _written(self, _result: object) -> None:
        self.error.setText("")
        self.reload()

    def add(self) -> None:
        name, v = self.name.text(), self.ctx.viewer
        self._write(lambda: self.ctx.store.book.add_chair(v, name))
        self.name.clear()

    def rename(self) -> None:
        c, name, v = self._current(), self.name.text(), self.ctx.viewer
        if c is not None:
            self._write(lambda: self.ctx.store.book.update_chair(v, c.id, name=name))

    def toggle_active(self) -> None:
        c, v = self._current(), self.ctx.viewer
        if c is not None:
            self._write(lambda: self.ctx.store.book.update_chair(v, c.id, active=not c.active))
