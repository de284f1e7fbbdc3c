"""The appointment book: a day (or week) of chairs as a time grid, with the toolbar,
and what follows a click or a key in the grid — booking, moving, opening, statuses,
and the warning before a clash."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.store.dto import UserRow
from app.store.schedule.dto import BookEntry, Booking, BookPage, Proposal
from app.ui.schedule.booking_dialog import BookingDialog
from app.ui.schedule.booking_flow import BookingFlow
from app.ui.schedule.cancel_dialog import CancelDialog
from app.ui.schedule.day_grid import DayGrid, SlotPick
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.widgets.date_box import DateBox
from app.ui.widgets.layouts import empty_layout

CHANGES = {"appointments"}
MAX_PROPOSALS = 6  # buttons; the rest are counted


class BookView(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:  # noqa: PLR0915
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("appointmentBook")
        self.providers: list[UserRow] = []
        self.dialog: QWidget | None = None  # the dialog open now (booking, cancel)
        self.flow = BookingFlow(ctx, self)
        self._closed_dialogs: list[QWidget] = []
        self.date = DateBox(QDate.currentDate(), objectName="bookDate")
        self.date.show_weekday()
        self.date.dateChanged.connect(lambda *_: self.reload())
        prev_day = QPushButton("◀", objectName="bookPrevious")
        prev_day.clicked.connect(lambda: self._step(-1))
        today = QPushButton("Today", objectName="bookToday")
        today.clicked.connect(lambda: self.date.setDate(QDate.currentDate()))
        next_day = QPushButton("▶", objectName="bookNext")
        next_day.clicked.connect(lambda: self._step(1))
        self.week = QPushButton("Week", objectName="bookWeek")
        self.week.setCheckable(True)
        self.week.toggled.connect(lambda *_: self.reload())
        self.provider = QComboBox(objectName="bookProvider")
        self.provider.addItem("All providers", None)
        self.summary = QLabel("", objectName="bookSummary")
        bar = QHBoxLayout()
        for w in (prev_day, self.date, next_day, today, self.week, self.provider):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.summary)
        self.grid = DayGrid()
        self.grid.default_minutes = int(ctx.store.settings.get("default_appointment_minutes"))
        self.grid.bookRequested.connect(self.book_at)
        self.grid.moveRequested.connect(self.move_entry)
        self.grid.openRequested.connect(self.open_entry)
        self.grid.cancelRequested.connect(self.ask_cancel)
        self.provider.currentIndexChanged.connect(
            lambda *_: self.grid.set_provider(self.provider.currentData())
        )
        self.grid_scroll = QScrollArea(objectName="bookScroll")
        self.grid_scroll.setWidgetResizable(True)
        self.grid_scroll.setWidget(self.grid)
        # The grid paints its header where the viewport's top is: repaint, don't blit.
        self.grid_scroll.verticalScrollBar().valueChanged.connect(lambda *_: self.grid.update())
        self.hint = QLabel(
            "No chairs yet: an administrator adds them with Practice ▸ Chairs… (and sets "
            "the providers' hours with Practice ▸ Working hours…).",
            objectName="bookHint",
        )
        self.hint.setWordWrap(True)
        self.hint.hide()
        # A record's next visit on a shown day with no appointment yet: one click books it.
        self.proposals = QWidget(objectName="bookProposals")
        self.proposal_row = QHBoxLayout(self.proposals)
        self.proposal_row.setContentsMargins(0, 0, 0, 0)
        self.proposals.hide()
        self.proposal_buttons: list[QPushButton] = []
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.hint)
        layout.addWidget(self.proposals)
        layout.addWidget(self.grid_scroll, 1)
        self.reload()

    # Reading --------------------------------------------------------------------------
    def first_day(self) -> dt.date:
        day = self.date.python_date()
        return day - dt.timedelta(days=day.weekday()) if self.week.isChecked() else day

    def _step(self, sign: int) -> None:
        self.date.setDate(self.date.date().addDays(sign * (7 if self.week.isChecked() else 1)))

    def reload(self) -> None:
        ctx, first = self.ctx, self.first_day()
        days = 7 if self.week.isChecked() else 1

        def read() -> tuple[BookPage, list[UserRow]]:
            return ctx.store.book.page(ctx.viewer, first, days), ctx.store.users.list(
                active_only=True
            )

        ReadOp(read).success(self._show).run(ctx.ops)

    def _show(self, answer: tuple[BookPage, list[UserRow]]) -> None:
        page, users = answer
        if (page.first, page.days) != (self.first_day(), 7 if self.week.isChecked() else 1):
            return  # an older answer
        if [u.id for u in users] != [u.id for u in self.providers]:
            self.providers = users
            chosen = self.provider.currentData()
            self.provider.blockSignals(True)
            self.provider.clear()
            self.provider.addItem("All providers", None)
            for u in users:
                self.provider.addItem(u.display_name, u.id)
            self.provider.setCurrentIndex(max(0, self.provider.findData(chosen)))
            self.provider.blockSignals(False)
            self.grid.provider = self.provider.currentData()
        self.grid.show_page(page)
        self.hint.setVisible(not page.chairs)
        self._show_proposals(page.proposals, page.days > 1)
        live = [e for e in page.entries if e.open]
        clashes = sum(e.clash for e in live)
        text = "1 appointment" if len(live) == 1 else f"{len(live)} appointments"
        if clashes:
            text += f", {clashes} clashing"
        self.summary.setText(text)

    def on_changed(self, flags: set[str]) -> None:
        if flags & {"appointments", "patients", "chairs", "users", "visits"}:
            self.reload()

    def _show_proposals(self, proposals: list[Proposal], week: bool) -> None:
        empty_layout(self.proposal_row)
        self.proposal_buttons = []
        if not proposals:
            self.proposals.hide()
            return
        self.proposal_row.addWidget(QLabel("Next visits due:"))
        for p in proposals[:MAX_PROPOSALS]:
            when = f"{p.day:%a %d} " if week else ""
            b = QPushButton(f"Book {when}{p.patient_name} ({p.minutes} min)",
                            objectName="proposal")
            b.setToolTip("Books the next visit asked for in the patient's record, "
                         "in the first free slot of that day")
            b.clicked.connect(lambda _=False, p=p: self.book_proposal(p))
            self.proposal_row.addWidget(b)
            self.proposal_buttons.append(b)
        if len(proposals) > MAX_PROPOSALS:
            self.proposal_row.addWidget(QLabel(f"and {len(proposals) - MAX_PROPOSALS} more"))
        self.proposal_row.addStretch(1)
        self.proposals.show()

    def book_proposal(self, p: Proposal) -> None:
        """The booking dialog for the patient's next visit, at the first free slot."""
        ctx = self.ctx

        def show(found: tuple[dt.datetime, str | None]) -> None:
            starts, chair = found
            slot = SlotPick(p.day, chair, starts, p.minutes)
            chairs = self.grid.page.chairs if self.grid.page else []
            d = BookingDialog(ctx, chairs, self.providers, slot=slot, parent=self)
            d.set_patient(p.patient_id, p.patient_name)
            d.procedure.setText(p.reason or "")
            doctor = p.doctor_id or self._usual_provider()
            d.provider.setCurrentIndex(max(0, d.provider.findData(doctor)))
            d.submitted.connect(lambda b: self._checked_write(b, None, d))
            self._open(d)

        ReadOp(
            lambda: ctx.store.book.proposals.free_slot(ctx.viewer, p.day, p.minutes, p.doctor_id)
        ).success(show).run(ctx.ops)

    # Booking and changing -------------------------------------------------------------
    def book_at(self, slot: SlotPick) -> None:
        chairs = self.grid.page.chairs if self.grid.page else []
        d = BookingDialog(self.ctx, chairs, self.providers, slot=slot, parent=self)
        d.provider.setCurrentIndex(max(0, d.provider.findData(self._usual_provider())))
        d.submitted.connect(lambda b: self._checked_write(b, None, d))
        self._open(d)

    def _usual_provider(self) -> str | None:
        """Whom a new booking is for unless the desk says otherwise: the provider the book
        shows, or the practice's only one."""
        shown = self.provider.currentData()
        if shown:
            return str(shown)
        return self.providers[0].id if len(self.providers) == 1 else None

    def open_entry(self, entry: BookEntry) -> None:
        chairs = self.grid.page.chairs if self.grid.page else []
        d = BookingDialog(self.ctx, chairs, self.providers, entry=entry, parent=self)
        d.submitted.connect(lambda b: self._checked_write(b, entry.id, d))
        d.statusRequested.connect(lambda s: self._status_from(d, entry, s))
        self._open(d)

    def move_entry(self, entry: BookEntry, slot: SlotPick) -> None:
        b = Booking(entry.patient_id, slot.starts_at, slot.minutes, slot.chair_id,
                    entry.doctor_id, entry.reason, entry.note)
        self._checked_write(b, entry.id, None)

    def _checked_write(self, b: Booking, entry_id: str | None, d: BookingDialog | None) -> None:
        chairs = self.grid.page.chairs if self.grid.page else []
        self.flow.write(b, entry_id, d, chairs, self.providers, self.grid.update)

    @property
    def question(self) -> QMessageBox | None:
        """The clash warning open now."""
        return self.flow.question

    # Statuses -------------------------------------------------------------------------
    def ask_cancel(self, entry: BookEntry, then: Callable[[], None] | None = None) -> None:
        if entry.status == "cancelled":
            return
        d = CancelDialog(entry, self)
        d.confirmed.connect(lambda reason: self.set_status(entry, "cancelled", reason, then))
        self._open(d)

    def _status_from(self, d: BookingDialog, entry: BookEntry, status: str) -> None:
        if status == "cancelled":
            self.ask_cancel(entry, d.accept)
        else:
            self.set_status(entry, status, None, d.accept)

    def set_status(
        self,
        entry: BookEntry,
        status: str,
        reason: str | None = None,
        then: Callable[[], None] | None = None,
    ) -> None:
        ctx = self.ctx
        op = WriteOp(
            lambda: ctx.store.book.set_status(ctx.viewer, entry.id, status, reason),
            CHANGES,
            "changing the appointment's status",
        )
        if then is not None:
            op.success(lambda _e: then())
        op.run(ctx.ops)

    def _open(self, d: Any) -> None:
        # Closed dialogs are deleted with the next one, not at once: a write they started
        # may still answer them.
        for old in self._closed_dialogs:
            old.deleteLater()
        self._closed_dialogs = []
        self.dialog = d
        d.finished.connect(lambda *_: self._closed(d))
        d.open()

    def _closed(self, d: QWidget) -> None:
        if self.dialog is d:
            self.dialog = None
        self._closed_dialogs.append(d)
        self.grid.setFocus()
