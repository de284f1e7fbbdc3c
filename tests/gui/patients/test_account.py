"""The patient's account as the front desk uses it: take a payment, void one with a
reason (it stays, struck through), correct one by a new entry; the balance and the
patient's credit follow."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QPlainTextEdit

from app.ui.widgets.form_dialog import FormDialog
from tests.gui.patients.test_front_desk import shown


def _open_account(window, qtbot, ctx, charge: Decimal = Decimal("450")):
    v = ctx.viewer
    p = ctx.store.patients.create(v, {"first_name": "Ana", "last_name": "Lima"})
    ctx.store.records.add_visit(v, p.id, {"visit_date": "2026-11-20", "name": "Crown",
                                          "charge": charge})
    window.open_patient(p.id)
    page = window.patient_page
    page.tabs.setCurrentWidget(page.account)
    tab = page.account
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1)
    return p, tab


def _dialog(tab, qtbot) -> FormDialog:
    qtbot.waitUntil(lambda: shown(tab, FormDialog) is not None)
    return shown(tab, FormDialog)


def _fill(dialog, qtbot, **values) -> None:
    for name, value in values.items():
        w = dialog.widgets[name]
        if isinstance(w, QComboBox):
            w.setCurrentIndex(w.findText(value))
        elif isinstance(w, QPlainTextEdit):
            qtbot.keyClicks(w, value)
        elif isinstance(w, QLineEdit):
            w.clear()
            qtbot.keyClicks(w, value)
        else:
            w.setDate(value)


def _save(dialog, qtbot) -> None:
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()


def _row_text(tab, row: int) -> list[str]:
    return [tab.model.index(row, c).data() or "" for c in range(tab.model.columnCount())]


def _select(tab, qtbot, payment_text: str) -> None:
    for r in range(tab.model.rowCount()):
        if _row_text(tab, r)[5] == payment_text and not tab.model.rows[r].voided:
            tab.table.selectRow(r)
            qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton,
                             pos=tab.table.visualRect(tab.model.index(r, 0)).center())
            return
    raise AssertionError(f"no payment of {payment_text}")


def test_take_void_and_correct_a_payment(window, qtbot, ctx) -> None:
    p, tab = _open_account(window, qtbot, ctx)
    assert tab.summary.text() == "Charged 450.00 · Paid 0.00 · Owes 450.00"
    assert not tab.void.isEnabled()  # nothing chosen yet

    qtbot.mouseClick(tab.take, Qt.MouseButton.LeftButton)
    dialog = _dialog(tab, qtbot)
    _fill(dialog, qtbot, paid_on=QDate(2026, 11, 20), amount="120.50", method="Card")
    _save(dialog, qtbot)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2)
    qtbot.waitUntil(lambda: "Owes 329.50" in tab.summary.text())
    assert _row_text(tab, 0)[1:6] == ["Payment", "Card", "Dr Admin", "", "120.50"]

    # Voided: kept on the account, struck through, with its reason.
    _select(tab, qtbot, "120.50")
    qtbot.waitUntil(tab.void.isEnabled)
    qtbot.mouseClick(tab.void, Qt.MouseButton.LeftButton)
    dialog = _dialog(tab, qtbot)
    _save(dialog, qtbot)  # no reason: refused in words
    qtbot.waitUntil(dialog.error.isVisible)
    assert dialog.error.text() == "Say why this payment is voided."
    qtbot.waitUntil(dialog.buttons.isEnabled)
    _fill(dialog, qtbot, reason="Card declined")
    _save(dialog, qtbot)
    qtbot.waitUntil(lambda: "Owes 450.00" in tab.summary.text())
    voided = next(r for r in range(tab.model.rowCount()) if tab.model.rows[r].voided)
    assert _row_text(tab, voided)[6] == "Voided: Card declined"
    assert tab.model.index(voided, 5).data(Qt.ItemDataRole.FontRole).strikeOut()
    assert tab.model.rowCount() == 2

    # A wrong amount is corrected by a new entry; the old one stays, voided.
    qtbot.mouseClick(tab.take, Qt.MouseButton.LeftButton)
    dialog = _dialog(tab, qtbot)
    _fill(dialog, qtbot, paid_on=QDate(2026, 11, 21), amount="40", method="Cash")
    _save(dialog, qtbot)
    qtbot.waitUntil(lambda: "Owes 410.00" in tab.summary.text())
    _select(tab, qtbot, "40.00")
    qtbot.waitUntil(tab.correct.isEnabled)
    qtbot.mouseClick(tab.correct, Qt.MouseButton.LeftButton)
    dialog = _dialog(tab, qtbot)
    assert dialog.widgets["amount"].text() == "40.00"
    _fill(dialog, qtbot, amount="400", reason="Typed a zero short")
    _save(dialog, qtbot)
    qtbot.waitUntil(lambda: "Owes 50.00" in tab.summary.text())
    rows = [_row_text(tab, r) for r in range(tab.model.rowCount())]
    assert ["400.00", "Corrects an earlier entry"] in [r[5:] for r in rows]
    assert ["40.00", "Voided: Corrected: Typed a zero short"] in [r[5:] for r in rows]
    acc = ctx.store.ledger.account(ctx.viewer, p.id)
    assert acc.balance == Decimal(50) and len(acc.entries) == 4


def test_paying_more_than_owed_asks_and_shows_credit(window, qtbot, ctx) -> None:
    _, tab = _open_account(window, qtbot, ctx, charge=Decimal("100"))
    qtbot.mouseClick(tab.take, Qt.MouseButton.LeftButton)
    dialog = _dialog(tab, qtbot)
    _fill(dialog, qtbot, amount="150")
    _save(dialog, qtbot)
    qtbot.waitUntil(dialog.error.isVisible)
    assert dialog.error.text().startswith("This is 50.00 more than the 100.00 still owed")
    assert "credit" in dialog.error.text()
    assert tab.model.rowCount() == 1  # nothing taken yet
    qtbot.waitUntil(dialog.buttons.isEnabled)
    _save(dialog, qtbot)  # the user confirms
    qtbot.waitUntil(lambda: tab.summary.text() == "Charged 100.00 · Paid 150.00 · Credit 50.00")
