"""Providers' working hours (Practice ▸ Working hours…, for administrators): per weekday
a start and an end, or a day off. The book shades the rest and warns before a booking
outside them; synced to every PC like the chairs."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.core.hours import WEEKDAY_NAMES, WEEKDAYS
from app.store.dto import UserRow
from app.store.schedule.dto import ProviderWeek
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp, user_message
from app.ui.widgets.date_box import TimeBox
from app.ui.widgets.save_keys import with_save_keys

DEFAULT = (8 * 60, 17 * 60)  # what a new provider's working day is offered as


def _time(minutes: int) -> QTime:
    return QTime(min(minutes // 60, 23), minutes % 60 if minutes < 24 * 60 else 59)


def _minutes(t: QTime) -> int:
    return t.hour() * 60 + t.minute()


class HoursDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("hoursDialog")
        self.setWindowTitle("Working hours")
        self.hours: dict[str, ProviderWeek] = {}
        self.provider = QComboBox(objectName="hoursProvider")
        self.provider.currentIndexChanged.connect(lambda *_: self._fill())
        grid = QGridLayout()
        self.works: dict[str, QCheckBox] = {}
        self.starts: dict[str, TimeBox] = {}
        self.ends: dict[str, TimeBox] = {}
        for row, (key, name) in enumerate(zip(WEEKDAYS, WEEKDAY_NAMES, strict=True)):
            works = QCheckBox(name, objectName=f"works_{key}")
            start = TimeBox(objectName=f"start_{key}")
            end = TimeBox(objectName=f"end_{key}")
            works.toggled.connect(start.setEnabled)
            works.toggled.connect(end.setEnabled)
            grid.addWidget(works, row, 0)
            grid.addWidget(start, row, 1)
            grid.addWidget(QLabel("to"), row, 2)
            grid.addWidget(end, row, 3)
            self.works[key], self.starts[key], self.ends[key] = works, start, end
        self.error = QLabel("", objectName="hoursError")
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        self.buttons = with_save_keys(QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        ))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Provider"))
        layout.addWidget(self.provider)
        layout.addLayout(grid)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.reload()

    def reload(self) -> None:
        ctx = self.ctx

        def read() -> tuple[list[UserRow], dict[str, ProviderWeek]]:
            return ctx.store.users.list(active_only=True), ctx.store.book.hours.all()

        ReadOp(read).success(self._show).run(ctx.ops)

    def _show(self, answer: tuple[list[UserRow], dict[str, ProviderWeek]]) -> None:
        users, self.hours = answer
        chosen = self.provider.currentData()
        self.provider.blockSignals(True)
        self.provider.clear()
        for u in users:
            self.provider.addItem(u.display_name, u.id)
        self.provider.setCurrentIndex(max(0, self.provider.findData(chosen)))
        self.provider.blockSignals(False)
        self._fill()

    def _fill(self) -> None:
        week = self.hours.get(self.provider.currentData())
        for i, key in enumerate(WEEKDAYS):
            # Nothing set yet: a working week of Monday to Friday is offered.
            span = week.days[i] if week else (DEFAULT if i < 5 else None)
            self.works[key].setChecked(span is not None)
            self.starts[key].setEnabled(span is not None)
            self.ends[key].setEnabled(span is not None)
            self.starts[key].setTime(_time((span or DEFAULT)[0]))
            self.ends[key].setTime(_time((span or DEFAULT)[1]))

    def days(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for key in WEEKDAYS:
            if not self.works[key].isChecked():
                out[key] = None
                continue
            start, end = _minutes(self.starts[key].time()), _minutes(self.ends[key].time())
            # An end before the start is refused by the store with the reason.
            out[key] = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
        return out

    def save(self) -> None:
        user_id = self.provider.currentData()
        if user_id is None:
            return
        days, v, ctx = self.days(), self.ctx.viewer, self.ctx
        op = WriteOp(lambda: ctx.store.book.hours.set_hours(v, user_id, days), {"chairs"},
                     "saving the working hours")
        name = self.provider.currentText()
        op.success(lambda _w: self._said(f"{name}'s working hours are saved.", ok=True))
        op.failure(lambda exc: self._said(user_message(exc), ok=False)).run(ctx.ops)

    def _said(self, text: str, ok: bool) -> None:
        if not shiboken6.isValid(self):  # closed before the save finished (Enter, then Esc)
            return
        # Saving leaves the window open for the next provider: say that it was kept.
        self.error.setStyleSheet("" if ok else "color: #b00020;")
        self.error.setText(text)
        if ok:
            self.reload()
