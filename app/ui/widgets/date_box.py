"""Date and time boxes that take what is typed in full ("2027-11-30", "13:00"), the
date boxes with a calendar beside.

Qt's date and time edits type into one part at a time: typing a whole date over the
selected text kept this year and silently gave another date, and "18" typed into a
time gave 08:08. Here the text is read as a whole; while it is not a value yet the box
says so and keeps its last value; leaving it puts that value back. Up and Down step a
day (PageUp/PageDown a month); in a time box, a quarter of an hour.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDate, QDateTime, QEvent, QObject, Qt, QTime, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import (
    QCalendarWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

DATE_FORMAT = "yyyy-MM-dd"
DATETIME_FORMAT = "yyyy-MM-dd HH:mm"
# Other ways people type a date, read the same (day before month, as on a form).
_ALSO = ("yyyy-M-d", "yyyyMMdd", "d/M/yyyy", "d.M.yyyy", "yyyy/M/d")
_INVALID = "QLineEdit { border: 1px solid #b00020; }"


def parse_date(text: str, strict: bool = False) -> QDate:
    """The date typed, or an invalid QDate; `strict`: only the box's own format (while
    typing, "2027-11-3" is on its way to "2027-11-30", not a date of its own)."""
    text = text.strip()
    for fmt in (DATE_FORMAT,) if strict else (DATE_FORMAT, *_ALSO):
        d = QDate.fromString(text, fmt)
        if d.isValid():
            return d
    return QDate()


_TIMES = ("HH:mm", "H:mm", "HH.mm", "H.mm", "HHmm", "Hmm", "H", "HH")


def parse_time(text: str, strict: bool = False) -> QTime:
    """The time typed ("13:00", "9:30", "1300", "13"), or an invalid QTime; `strict`:
    only the box's own format, as while typing "1" is on its way to "13:00"."""
    text = text.strip()
    for fmt in ("HH:mm",) if strict else _TIMES:
        time = QTime.fromString(text, fmt)
        if time.isValid():
            return time
    return QTime()


def parse_datetime(text: str, strict: bool = False) -> QDateTime:
    parts = text.split()
    if len(parts) != 2:
        return QDateTime()
    day, time = parse_date(parts[0], strict), parse_time(parts[1], strict)
    return QDateTime(day, time) if day.isValid() and time.isValid() else QDateTime()


class _TypedBox(QWidget):
    """A line to type in and a calendar button; the value changes only to a valid one."""

    def __init__(self, fmt: str, parent: QWidget | None, object_name: str) -> None:
        super().__init__(parent)
        if object_name:
            self.setObjectName(object_name)
        self.fmt = fmt
        self.line = QLineEdit(placeholderText=fmt.upper())
        self.line.setObjectName(f"{object_name or 'date'}Text")
        self.line.textEdited.connect(self._typed)
        self.line.editingFinished.connect(self._finished)
        self.line.installEventFilter(self)
        self.line.setMaxLength(len(fmt) + 6)
        width = self.line.fontMetrics().horizontalAdvance("0000-00-00 00:00" if " " in fmt
                                                          else "0000-00-00")
        self.line.setMinimumWidth(width + 8)
        self.calendar_button = QToolButton(text="▾", objectName="openCalendar")
        self.calendar_button.setToolTip("Choose on a calendar")
        self.calendar_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.calendar_button.clicked.connect(self.open_calendar)
        self.calendar: QCalendarWidget | None = None
        self.weekday = QLabel("", objectName="weekday")
        self.weekday.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.weekday)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.calendar_button)
        self.setFocusProxy(self.line)

    # To be given by the subclasses ----------------------------------------------------
    def _value(self) -> Any:
        raise NotImplementedError

    def _parse(self, text: str, strict: bool = False) -> Any:
        raise NotImplementedError

    def _set(self, value: Any) -> None:
        raise NotImplementedError

    def _day(self) -> QDate:
        raise NotImplementedError

    def _with_day(self, day: QDate) -> Any:
        raise NotImplementedError

    # Behaviour ------------------------------------------------------------------------
    def text(self) -> str:
        return self.line.text()

    def show_weekday(self, on: bool = True) -> None:
        self.weekday.setVisible(on)
        self._show_value()

    def _typed(self, text: str) -> None:
        value = self._parse(text, strict=True)
        self.line.setStyleSheet("" if value.isValid() else _INVALID)
        if value.isValid():
            self._set(value)

    def _finished(self) -> None:
        """Enter or leaving the box: a date typed another way counts too; text that is
        no date gives way to the box's date."""
        value = self._parse(self.line.text())
        if value.isValid():
            self._set(value)
        self._show_value()

    def _show_value(self) -> None:
        self.line.setStyleSheet("")
        text = self._value().toString(self.fmt)
        if self.line.text() != text:
            self.line.setText(text)
        self.weekday.setText(self._day().toString("dddd"))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.line and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            steps = {Qt.Key.Key_Up: (1, 0), Qt.Key.Key_Down: (-1, 0),
                     Qt.Key.Key_PageUp: (0, 1), Qt.Key.Key_PageDown: (0, -1)}
            step = steps.get(Qt.Key(event.key()))
            if step is not None:
                days, months = step
                self._set(self._with_day(self._day().addDays(days).addMonths(months)))
                self._show_value()
                return True
        return super().eventFilter(watched, event)

    def open_calendar(self) -> None:
        calendar = QCalendarWidget(self, objectName="calendar")
        calendar.setWindowFlags(Qt.WindowType.Popup)
        calendar.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        calendar.setSelectedDate(self._day())
        calendar.clicked.connect(self._picked)
        calendar.activated.connect(self._picked)
        calendar.move(self.mapToGlobal(self.rect().bottomLeft()))
        self.calendar = calendar
        calendar.show()

    def _picked(self, day: QDate) -> None:
        self._set(self._with_day(day))
        self._show_value()
        if self.calendar is not None:
            self.calendar.close()
            self.calendar = None
        self.line.setFocus()


class DateBox(_TypedBox):
    dateChanged = Signal(QDate)

    def __init__(self, value: QDate | None = None, parent: QWidget | None = None,
                 objectName: str = "") -> None:
        super().__init__(DATE_FORMAT, parent, objectName)
        self._date = value if value is not None and value.isValid() else QDate.currentDate()
        self._show_value()

    def date(self) -> QDate:
        return QDate(self._date)

    def python_date(self) -> dt.date:
        # Built by hand: PySide6's stubs type QDate.toPython() as returning `object`.
        return dt.date(self._date.year(), self._date.month(), self._date.day())

    def setDate(self, value: QDate) -> None:
        self._set(value)
        self._show_value()

    def _value(self) -> QDate:
        return self._date

    def _parse(self, text: str, strict: bool = False) -> QDate:
        return parse_date(text, strict)

    def _set(self, value: QDate) -> None:
        if value.isValid() and value != self._date:
            self._date = QDate(value)
            self.weekday.setText(value.toString("dddd"))
            self.dateChanged.emit(QDate(value))

    def _day(self) -> QDate:
        return self._date

    def _with_day(self, day: QDate) -> QDate:
        return day


class DateTimeBox(_TypedBox):
    dateTimeChanged = Signal(QDateTime)

    def __init__(self, value: QDateTime | None = None, parent: QWidget | None = None,
                 objectName: str = "") -> None:
        super().__init__(DATETIME_FORMAT, parent, objectName)
        start = value if value is not None and value.isValid() else QDateTime.currentDateTime()
        self._when = QDateTime(start.date(), QTime(start.time().hour(), start.time().minute()))
        self._show_value()

    def dateTime(self) -> QDateTime:
        return QDateTime(self._when)

    def python_datetime(self) -> dt.datetime:
        """The value in the computer's local time, naive (as QDateTime.toPython() gives
        it, which PySide6's stubs type as returning `object`)."""
        d, t = self._when.date(), self._when.time()
        return dt.datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), t.second(),
                           t.msec() * 1000)

    def setDateTime(self, value: QDateTime) -> None:
        self._set(value)
        self._show_value()

    def _value(self) -> QDateTime:
        return self._when

    def _parse(self, text: str, strict: bool = False) -> QDateTime:
        return parse_datetime(text, strict)

    def _set(self, value: QDateTime) -> None:
        if value.isValid() and value != self._when:
            self._when = QDateTime(value)
            self.dateTimeChanged.emit(QDateTime(value))

    def _day(self) -> QDate:
        return self._when.date()

    def _with_day(self, day: QDate) -> QDateTime:
        return QDateTime(day, self._when.time())


class TimeBox(QLineEdit):
    """A time of day typed in full; the value changes only to a valid one."""

    timeChanged = Signal(QTime)
    STEP_MINUTES = 15

    def __init__(self, value: QTime | None = None, parent: QWidget | None = None,
                 objectName: str = "") -> None:
        super().__init__(parent)
        if objectName:
            self.setObjectName(objectName)
        self._time = QTime(value) if value is not None and value.isValid() else QTime(8, 0)
        self.setPlaceholderText("HH:MM")
        self.setMaxLength(8)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("00:00") + 16)
        self.textEdited.connect(self._typed)
        self.editingFinished.connect(self._finished)
        self._show_value()

    def time(self) -> QTime:
        return QTime(self._time)

    def setTime(self, value: QTime) -> None:
        self._set(value)
        self._show_value()

    def _set(self, value: QTime) -> None:
        value = QTime(value.hour(), value.minute()) if value.isValid() else value
        if value.isValid() and value != self._time:
            self._time = value
            self.timeChanged.emit(QTime(value))

    def _typed(self, text: str) -> None:
        value = parse_time(text, strict=True)
        self.setStyleSheet("" if value.isValid() else _INVALID)
        self._set(value)

    def _finished(self) -> None:
        self._set(parse_time(self.text()))
        self._show_value()

    def _show_value(self) -> None:
        self.setStyleSheet("")
        text = self._time.toString("HH:mm")
        if self.text() != text:
            self.setText(text)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.selectAll()  # typing replaces the time, as in the other boxes of a form

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = {Qt.Key.Key_Up: 1, Qt.Key.Key_Down: -1}.get(Qt.Key(event.key()))
        if step is None:
            super().keyPressEvent(event)
            return
        minutes = self._time.hour() * 60 + self._time.minute() + step * self.STEP_MINUTES
        self._set(QTime(0, 0).addSecs(60 * (minutes % (24 * 60))))
        self._show_value()
