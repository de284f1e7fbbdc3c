"""Money at the front desk: a payment above what is owed is asked about, and the
diary's total is the sum of the payments it lists."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QDate

from app.core.money import parse_money
from app.ui.widgets.form_dialog import FormDialog
from tests.gui.patients.test_front_desk import shown


def test_a_payment_larger_than_owed_asks_first(window, qtbot, ctx) -> None:
    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Ana", "last_name": "Lima"})
    ag = ctx.store.records.add_agreement(
        ctx.viewer, p.id, {"title": "Crown", "total": Decimal(3000)}
    )
    window.open_patient(p.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.agreements.rowCount() == 1)
    page.add_payment()
    qtbot.waitUntil(lambda: shown(page, FormDialog) is not None)
    dialog = shown(page, FormDialog)
    qtbot.keyClicks(dialog.widgets["amount"], "5000")
    save = dialog.buttons.button(dialog.buttons.StandardButton.Save)
    save.click()
    qtbot.waitUntil(dialog.error.isVisible)
    assert dialog.error.text().startswith("This is 2,000.00 more than the 3,000.00 still owed")
    # The wrapped question gets its room without squashing the boxes above it.
    amount = dialog.widgets["amount"]
    assert amount.height() >= amount.minimumSizeHint().height()
    assert dialog.height() >= dialog.layout().heightForWidth(dialog.width())
    assert ctx.store.records.agreements(ctx.viewer, p.id)[0].paid == 0  # nothing taken yet
    qtbot.waitUntil(save.isEnabled)
    save.click()  # the user confirms
    qtbot.waitUntil(lambda: page.agreements.rows[0].paid == Decimal(5000))
    row = ctx.store.records.agreements(ctx.viewer, p.id)[0]
    assert (row.id, row.paid, row.remaining) == (ag, Decimal("5000.00"), Decimal("-2000.00"))


def test_a_record_paying_more_than_owed_asks_first(window, qtbot, ctx) -> None:
    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Ana", "last_name": "Lima"})
    window.open_patient(p.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "Ana Lima")
    page.add_visit()
    qtbot.waitUntil(lambda: shown(page, FormDialog) is not None)
    dialog = shown(page, FormDialog)
    qtbot.keyClicks(dialog.widgets["charge"], "200")
    qtbot.keyClicks(dialog.widgets["amount_paid"], "500")
    save = dialog.buttons.button(dialog.buttons.StandardButton.Save)
    save.click()
    qtbot.waitUntil(dialog.error.isVisible)
    assert dialog.error.text().startswith("This is 300.00 more than the 200.00 still owed")
    assert ctx.store.records.visits(ctx.viewer, p.id) == []  # nothing saved yet
    qtbot.waitUntil(save.isEnabled)
    save.click()  # the user confirms: the excess is the patient's credit
    qtbot.waitUntil(lambda: len(ctx.store.records.visits(ctx.viewer, p.id)) == 1)
    assert ctx.store.ledger.account(ctx.viewer, p.id).credit == Decimal("300.00")


def test_paying_what_is_owed_does_not_ask(ctx) -> None:
    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Rui", "last_name": "Sousa"})
    ag = ctx.store.records.add_agreement(
        ctx.viewer, p.id,
        {"title": "Braces", "total": Decimal(1000), "discount": Decimal(100), "tax": Decimal(5)},
    )
    ctx.store.records.add_payment(ctx.viewer, ag, "2026-11-24", Decimal(905))
    assert ctx.store.records.agreements(ctx.viewer, p.id)[0].remaining == 0


def test_diary_total_is_the_sum_of_the_payments_it_lists(window, qtbot, ctx) -> None:
    v = ctx.viewer
    a = ctx.store.patients.create(v, {"first_name": "Ana", "last_name": "Lima"})
    b = ctx.store.patients.create(v, {"first_name": "Rui", "last_name": "Sousa"})
    ctx.store.records.add_visit(v, a.id, {"visit_date": "2026-11-24", "amount_paid": Decimal(120)})
    ag = ctx.store.records.add_agreement(v, b.id, {"title": "Implant", "total": Decimal(3000)})
    ctx.store.records.add_payment(v, ag, "2026-11-24", Decimal(300))
    ctx.store.records.add_payment(v, ag, "2026-11-25", Decimal(450))  # another day: not counted
    window.tabs.setCurrentIndex(1)
    diary = window.diary
    diary.date.setDate(QDate(2026, 11, 24))
    qtbot.waitUntil(lambda: diary.payments.rowCount() == 1)
    assert [diary.payments.index(0, c).data() for c in range(3)] == [
        "Rui Sousa", "Implant", "300.00"
    ]
    listed = [diary.visits.index(r, 3).data() for r in range(diary.visits.rowCount())] + [
        diary.payments.index(r, 2).data() for r in range(diary.payments.rowCount())
    ]
    total = sum(parse_money(x.replace(",", "")) for x in listed)
    assert total == Decimal(420)
    assert diary.total.text() == "Total paid: 420.00"


def test_diary_leaves_out_voided_payments_and_shows_how_and_who(window, qtbot, ctx) -> None:
    from decimal import Decimal

    v = ctx.viewer
    a = ctx.store.patients.create(v, {"first_name": "Ana", "last_name": "Lima"})
    kept = ctx.store.ledger.take_payment(
        v, a.id, "2026-11-24", Decimal("55.10"), "card", allow_excess=True
    )
    gone = ctx.store.ledger.take_payment(
        v, a.id, "2026-11-24", Decimal(99), "cash", allow_excess=True
    )
    ctx.store.ledger.void_payment(v, gone, "Entered twice")
    window.tabs.setCurrentIndex(1)
    diary = window.diary
    diary.date.setDate(QDate(2026, 11, 24))
    qtbot.waitUntil(lambda: diary.payments.rowCount() == 1)
    assert diary.payments.rows[0].id == kept
    assert [diary.payments.index(0, c).data() for c in range(5)] == [
        "Ana Lima", "", "55.10", "Card", "Dr Admin"
    ]
    assert diary.total.text() == "Total paid: 55.10"
