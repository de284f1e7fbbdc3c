"""A small form dialog: declared fields, one save callback that may refuse with a reason.

The save callback runs as a write op; an exception's message is shown in the dialog in
the user's words and nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.ui.shell.context import AppContext
from app.ui.shell.ops import WriteOp
from app.ui.widgets.date_box import DateBox, DateTimeBox
from app.ui.widgets.save_keys import with_save_keys


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "line"  # line, text, date, datetime, minutes, choice
    default: Any = None
    placeholder: str = ""
    choices: tuple[tuple[Any, str], ...] = ()  # (value, label) of a "choice"


class FormDialog(QDialog):
    def __init__(
        self,
        ctx: AppContext,
        title: str,
        fields: list[Field],
        on_save: Callable[[dict[str, Any]], Any],
        changes: set[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(420)
        self.on_save = on_save
        self.changes = changes
        self.widgets: dict[str, QWidget] = {}
        self.result_value: Any = None
        form = QFormLayout()
        for f in fields:
            w = self._widget(f)
            w.setObjectName(f.name)
            self.widgets[f.name] = w
            form.addRow(f.label, w)
        self.error = QLabel("", objectName="formError")
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = with_save_keys(QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        ))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    @staticmethod
    def _widget(f: Field) -> QWidget:
        if f.kind == "text":
            w = QPlainTextEdit()
            w.setTabChangesFocus(True)
            w.setFixedHeight(70)
            w.setPlainText(f.default or "")
            return w
        if f.kind == "date":
            return DateBox(f.default or QDate.currentDate())
        if f.kind == "datetime":
            return DateTimeBox(f.default or QDateTime(QDate.currentDate(), QTime(9, 0)))
        if f.kind == "choice":
            box = QComboBox()
            for value, label in f.choices:
                box.addItem(label, value)
            box.setCurrentIndex(max(box.findData(f.default), 0))
            return box
        if f.kind == "minutes":
            s = QSpinBox()
            s.setRange(0, 12 * 60)
            s.setSingleStep(5)
            s.setSuffix(" min")
            s.setValue(f.default or 0)
            return s
        line = QLineEdit(placeholderText=f.placeholder)
        line.setText(f.default or "")
        return line

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, w in self.widgets.items():
            if isinstance(w, QPlainTextEdit):
                out[name] = w.toPlainText()
            elif isinstance(w, DateTimeBox):
                out[name] = w.python_datetime()
            elif isinstance(w, DateBox):
                out[name] = w.date().toString("yyyy-MM-dd")
            elif isinstance(w, QComboBox):
                out[name] = w.currentData()
            elif isinstance(w, QSpinBox):
                out[name] = w.value()
            elif isinstance(w, QLineEdit):
                out[name] = w.text()
        return out

    def save(self) -> None:
        self.error.hide()
        data = self.values()
        self.buttons.setEnabled(False)
        WriteOp(lambda: self.on_save(data), self.changes).success(self._saved).failure(
            self._failed
        ).run(self.ctx.ops)

    def _saved(self, value: Any) -> None:
        self.buttons.setEnabled(True)
        self.result_value = value
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(str(exc) or "This could not be saved.")
        self.error.show()
        # A wrapped message's height depends on the width, which a top-level window's
        # minimum size ignores: without this the fields above it are squashed.
        layout = self.layout()
        assert layout is not None, "the fields are laid out in __init__"
        layout.activate()
        need = layout.heightForWidth(self.width())
        if need > self.height():
            self.resize(self.width(), need)
