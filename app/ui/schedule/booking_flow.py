"""What happens when an appointment is booked or changed, wherever it is asked for
(the book's grid, its dialog, a patient's file): a clash — same chair or same provider
at once — is warned about first, and written only when the user confirms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.hours import WEEKDAY_NAMES, WEEKDAYS, span_text
from app.store.dto import UserRow
from app.store.schedule.dto import BookEntry, Booking, ChairRow, ProviderWeek
from app.ui.schedule.booking_dialog import BookingDialog
from app.ui.schedule.day_grid import SlotPick
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp, user_message

CHANGES = {"appointments"}


class BookingFlow:
    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        self.ctx = ctx
        self.parent = parent
        self.question: QMessageBox | None = None  # the clash warning open now

    def write(
        self,
        b: Booking,
        entry_id: str | None,
        d: BookingDialog | None,
        chairs: list[ChairRow],
        providers: list[UserRow],
        declined: Callable[[], None] | None = None,
    ) -> None:
        """Warn of a clash first; write when there is none or the user confirms."""
        ctx = self.ctx

        def write() -> None:
            if entry_id is None:
                op = WriteOp(lambda: ctx.store.book.book(ctx.viewer, b), CHANGES, "booking")
            else:
                op = WriteOp(lambda: ctx.store.book.change(ctx.viewer, entry_id, b), CHANGES,
                             "changing the appointment")
            if d is not None:
                op.success(lambda _e: d.accept()).failure(lambda exc: d.failed(user_message(exc)))
            op.run(ctx.ops)

        def no() -> None:
            if d is not None:
                d.failed("")
            if declined is not None:
                declined()  # e.g. a dragged appointment goes back where it was

        def check() -> tuple[list[BookEntry], ProviderWeek | None]:
            return ctx.store.book.clashes(ctx.viewer, b, entry_id), ctx.store.book.outside_hours(b)

        ReadOp(check).success(
            lambda found: self._confirm(found[0], found[1], b, chairs, providers, write, no)
        ).run(ctx.ops)

    def _confirm(
        self,
        found: list[BookEntry],
        off: ProviderWeek | None,
        b: Booking,
        chairs: list[ChairRow],
        providers: list[UserRow],
        go: Callable[[], None],
        declined: Callable[[], None],
    ) -> None:
        if not found and off is None:
            go()
            return
        names = {c.id: c.name for c in chairs}
        people = {u.id: u.display_name for u in providers}
        lines = []
        for e in found:
            local = e.starts_at.astimezone()
            ends = e.ends_at.astimezone()
            why = []
            if b.chair_id and e.chair_id == b.chair_id:
                why.append(names.get(e.chair_id, "the chair"))
            if b.doctor_id and e.doctor_id == b.doctor_id:
                why.append(people.get(e.doctor_id, "the provider"))
            lines.append(f"• {local:%H:%M}–{ends:%H:%M} {e.patient_name} ({' and '.join(why)})")
        said = []
        if lines:
            said.append("This time is already taken:\n" + "\n".join(lines))
        if off is not None:
            day = b.starts_at.astimezone()
            span = off.by_key()[WEEKDAYS[day.weekday()]]
            who = people.get(off.user_id, "The provider")
            said.append(f"{who} does not work then ({WEEKDAY_NAMES[day.weekday()]}: "
                        f"{span_text(span)}).")
        then = ("Both appointments stay, marked as clashing." if lines else "")
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Clash" if lines else "Outside working hours",
            "\n\n".join(said) + f"\n\nBook it anyway? {then}".rstrip(),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self.parent,
        )
        box.setObjectName("clashQuestion")
        box.button(QMessageBox.StandardButton.Yes).setText("Book anyway")
        box.setDefaultButton(QMessageBox.StandardButton.No)

        def answered(result: int) -> None:
            self.question = None
            if result == QMessageBox.StandardButton.Yes:
                go()
            else:
                declined()

        box.finished.connect(answered)
        self.question = box
        box.open()


def book_for_patient(
    ctx: AppContext, parent: QWidget, patient_id: str, patient_name: str
) -> BookingFlow:
    """A patient's file's "New appointment": the book's dialog with the patient chosen,
    the same chairs, providers and clash warning. Returns the flow (its question)."""
    flow = BookingFlow(ctx, parent)
    minutes = int(ctx.store.settings.get("default_appointment_minutes"))

    def show(answer: tuple[list[ChairRow], list[UserRow]]) -> None:
        chairs, providers = answer
        now = dt.datetime.now().astimezone()
        start = (now + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        if start.time() < dt.time(7) or start.time() >= dt.time(20):
            # Out of hours: tomorrow morning.
            start = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(9)).astimezone()
        slot = SlotPick(start.date(), chairs[0].id if chairs else None, start, minutes)
        d = BookingDialog(ctx, chairs, providers, slot=slot, parent=parent)
        d.set_patient(patient_id, patient_name)
        d.submitted.connect(lambda b: flow.write(b, None, d, chairs, providers))
        d.setObjectName("patientBookingDialog")
        d.open()

    ReadOp(
        lambda: (ctx.store.book.chairs(), ctx.store.users.list(active_only=True))
    ).success(show).run(ctx.ops)
    return flow
