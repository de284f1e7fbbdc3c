"""Book or open an appointment: patient (searched in the dialog), procedure, start,
length, provider, chair, note; an open appointment also takes its statuses."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDateTime, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.store.dto import PatientFilter, PatientRow, UserRow
from app.store.schedule.dto import BookEntry, Booking, ChairRow
from app.ui.schedule.day_grid import LABELS, SlotPick
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp
from app.ui.widgets.date_box import DateTimeBox
from app.ui.widgets.save_keys import with_save_keys

# The status buttons of an open appointment: (status, label, object name).
STATUS_BUTTONS = (
    ("arrived", "Arrived", "markArrived"),
    ("in_chair", "In chair", "markInChair"),
    ("done", "Completed", "markCompleted"),
    ("no_show", "No-show", "markNoShow"),
    ("booked", "Booked again", "markBooked"),
)


class BookingDialog(QDialog):
    submitted = Signal(object)  # Booking
    statusRequested = Signal(str)  # a status; "cancelled" asks for the reason first

    def __init__(  # noqa: PLR0915
        self,
        ctx: AppContext,
        chairs: list[ChairRow],
        providers: list[UserRow],
        *,
        slot: SlotPick | None = None,
        entry: BookEntry | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.entry = entry
        self.setObjectName("bookingDialog")
        self.setWindowTitle("Appointment" if entry else "New appointment")
        self.patient_id: str | None = entry.patient_id if entry else None
        self.search = QLineEdit(objectName="patientSearch")
        self.search.setPlaceholderText("Name, phone or card number")
        self.matches = QListWidget(objectName="patientMatches")
        self.matches.setMaximumHeight(110)
        self.chosen = QLabel(entry.patient_name if entry else "No patient chosen",
                             objectName="chosenPatient")
        self.procedure = QLineEdit(objectName="procedure")
        self.start = DateTimeBox(objectName="startsAt")
        self.minutes = QSpinBox(objectName="duration")
        self.minutes.setRange(5, 12 * 60)
        self.minutes.setSingleStep(5)
        self.minutes.setSuffix(" min")
        self.provider = QComboBox(objectName="provider")
        self.provider.addItem("—", None)
        for u in providers:
            self.provider.addItem(u.display_name, u.id)
        self.chair = QComboBox(objectName="chair")
        for c in chairs:
            self.chair.addItem(c.name, c.id)
        self.chair.addItem("No chair", None)
        self.note = QPlainTextEdit(objectName="note")
        self.note.setMaximumHeight(70)
        self.error = QLabel("", objectName="bookingError")
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)

        if entry is not None:
            when, minutes, chair, doctor = entry.starts_at, entry.duration_minutes, \
                entry.chair_id, entry.doctor_id
            self.procedure.setText(entry.reason or "")
            self.note.setPlainText(entry.note or "")
        else:
            assert slot is not None
            when, minutes, chair, doctor = slot.starts_at, slot.minutes, slot.chair_id, None
        self.start.setDateTime(QDateTime.fromMSecsSinceEpoch(round(when.timestamp() * 1000)))
        self.minutes.setValue(minutes)
        self.chair.setCurrentIndex(max(0, self.chair.findData(chair)))
        self.provider.setCurrentIndex(max(0, self.provider.findData(doctor)))

        form = QFormLayout()
        patient = QVBoxLayout()
        patient.addWidget(self.chosen)
        patient.addWidget(self.search)
        patient.addWidget(self.matches)
        form.addRow("Patient", patient)
        form.addRow("Procedure", self.procedure)
        form.addRow("Starts", self.start)
        form.addRow("Duration", self.minutes)
        form.addRow("Provider", self.provider)
        form.addRow("Chair", self.chair)
        form.addRow("Note", self.note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        self.status_buttons: dict[str, QPushButton] = {}
        if entry is not None:
            layout.addWidget(QLabel(status_line(entry, providers), objectName="statusLine"))
            row = QHBoxLayout()
            for status, label, name in STATUS_BUTTONS:
                button = QPushButton(label, objectName=name)
                button.setEnabled(status != entry.status)
                button.clicked.connect(lambda _=False, s=status: self.statusRequested.emit(s))
                self.status_buttons[status] = button
                row.addWidget(button)
            cancel = QPushButton("Cancel appointment…", objectName="cancelAppointment")
            cancel.setEnabled(entry.status != "cancelled")
            cancel.clicked.connect(lambda: self.statusRequested.emit("cancelled"))
            self.status_buttons["cancelled"] = cancel
            row.addWidget(cancel)
            layout.addLayout(row)
        layout.addWidget(self.error)
        self.buttons = with_save_keys(QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        ))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self._find)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.matches.itemActivated.connect(self._choose)
        self.matches.itemClicked.connect(self._choose)
        # Enter in the search picks the patient; it does not save the appointment yet.
        self.search.installEventFilter(self)
        (self.procedure if entry else self.search).setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.search
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self._choose_first()
            return True
        return super().eventFilter(watched, event)

    def _find(self) -> None:
        ctx, text = self.ctx, self.search.text().strip()
        if not text:
            self.matches.clear()
            return
        ReadOp(
            lambda: ctx.store.patients.search(ctx.viewer, PatientFilter(query=text), limit=20)
        ).success(lambda rows: self._show_matches(text, rows)).run(ctx.ops)

    def _show_matches(self, text: str, rows: list[PatientRow]) -> None:
        if text != self.search.text().strip():
            return  # an older answer
        self.matches.clear()
        for r in rows:
            label = r.display_name + (f"  ·  {r.mobile}" if r.mobile else "")
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, (r.id, r.display_name))
            self.matches.addItem(item)
        if rows:
            self.matches.setCurrentRow(0)

    def _choose_first(self) -> None:
        if self.matches.count():
            self._choose(self.matches.item(max(0, self.matches.currentRow())))

    def _choose(self, item: QListWidgetItem) -> None:
        self.set_patient(*item.data(Qt.ItemDataRole.UserRole))

    def set_patient(self, patient_id: str, name: str) -> None:
        self.patient_id = patient_id
        self.chosen.setText(name)
        self.procedure.setFocus()

    def booking(self) -> Booking | None:
        if not self.patient_id:
            self.error.setText("Choose the patient first: type part of a name and pick it.")
            return None
        when = self.start.python_datetime()
        return Booking(
            self.patient_id,
            when.astimezone(),
            self.minutes.value(),
            self.chair.currentData(),
            self.provider.currentData(),
            self.procedure.text().strip() or None,
            self.note.toPlainText().strip() or None,
        )

    def save(self) -> None:
        b = self.booking()
        if b is not None:
            self.error.setText("")
            self.buttons.setEnabled(False)  # one booking per click, while it is written
            self.submitted.emit(b)

    def failed(self, message: str) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(message)


def status_line(entry: BookEntry, providers: list[UserRow]) -> str:
    label = LABELS.get(entry.status) or "Booked"
    if not entry.status_at:
        return f"Status: {label}"
    when = dt.datetime.fromisoformat(entry.status_at).astimezone()
    who = next((u.display_name for u in providers if u.id == entry.status_by), "")
    line = f"Status: {label} at {when:%Y-%m-%d %H:%M}" + (f" by {who}" if who else "")
    if entry.status == "cancelled" and entry.cancel_reason:
        line += f" — {entry.cancel_reason}"
    return line
