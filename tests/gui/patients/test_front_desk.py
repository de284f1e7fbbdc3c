"""The front desk as a user works it: real widgets, keyboard and mouse, offscreen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QPlainTextEdit, QTableView

from app.ui.patients.patient_dialog import PatientDialog
from app.ui.widgets.form_dialog import FormDialog


def visible_names(window) -> list[str]:
    model = window.patient_list.model
    return [model.index(r, 0).data() for r in range(model.rowCount())]


def shown(parent, kind):
    found = [d for d in parent.findChildren(kind) if d.isVisible()]
    return found[0] if found else None


def activate(window, qtbot) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)


def open_new_patient(window, qtbot) -> PatientDialog:
    activate(window, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: shown(window, PatientDialog) is not None)
    return shown(window, PatientDialog)


def fill(dialog, qtbot, **values: str) -> None:
    for name, value in values.items():
        widget = dialog.inputs[name]
        if isinstance(widget, QComboBox):
            widget.setCurrentIndex(widget.findData(value))
        elif isinstance(widget, QPlainTextEdit):
            widget.setPlainText(value)
        else:
            assert isinstance(widget, QLineEdit)
            widget.clear()
            qtbot.keyClicks(widget, value)


def add_patient(window, qtbot, **values: str) -> None:
    dialog = open_new_patient(window, qtbot)
    fill(dialog, qtbot, **values)
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: shown(window, PatientDialog) is None)
    name = f"{values['first_name']} {values['last_name']}"
    qtbot.waitUntil(lambda: window.patient_page.title.text() == name)


def type_search(window, qtbot, text: str) -> None:
    activate(window, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    search = window.patient_list.search
    assert search.hasFocus() or QApplication.focusWidget() is search
    search.clear()
    qtbot.keyClicks(search, text)


def test_add_a_patient_and_find_him_by_part_of_his_phone(window, qtbot) -> None:
    qtbot.waitUntil(lambda: "No patients yet" in window.patient_list.empty.text())
    add_patient(
        window,
        qtbot,
        first_name="Karim",
        last_name="Haddad",
        gender="male",
        mobile="+961 3 123 456",
        birth_date="1980-04-02",
        email="karim@example.com",
    )
    assert window.patient_page.title.text() == "Karim Haddad"
    assert window.patient_page.basic_labels["mobile"].text() == "+961 3 123 456"
    add_patient(window, qtbot, first_name="Lina", last_name="Saad", mobile="0044 7700 900111")
    type_search(window, qtbot, "3 123")
    qtbot.waitUntil(lambda: visible_names(window) == ["Karim Haddad"])
    qtbot.waitUntil(lambda: window.patient_list.count.text() == "1 patient")
    type_search(window, qtbot, "nobody")
    qtbot.waitUntil(lambda: visible_names(window) == [])
    assert "No patient matches" in window.patient_list.empty.text()


def test_validation_errors_are_shown_and_nothing_typed_is_lost(window, qtbot) -> None:
    dialog = open_new_patient(window, qtbot)
    fill(dialog, qtbot, first_name="Ana", birth_date="2999-01-01", email="ana@")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: dialog.banner.isVisible())
    assert dialog.errors["last_name"].text() == "Last name is required."
    assert "future" in dialog.errors["birth_date"].text()
    assert "Email" in dialog.errors["email"].text()
    assert dialog.isVisible() and dialog.inputs["first_name"].text() == "Ana"
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: dialog.question is not None and dialog.question.isVisible())
    discard = next(b for b in dialog.question.buttons() if b.text() == "Discard")
    qtbot.mouseClick(discard, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(window, PatientDialog) is None)
    assert (
        window.ctx.store.patients.count(
            window.ctx.viewer,
            __import__("app.store.dto", fromlist=["PatientFilter"]).PatientFilter(),
        )
        == 0
    )


def test_filter_by_gender_and_visit_dates_then_reset(window, qtbot, ctx) -> None:
    v = ctx.viewer
    ana = ctx.store.patients.create(
        v, {"first_name": "Ana", "last_name": "Lima", "gender": "female"}
    )
    ctx.store.patients.create(v, {"first_name": "Bruno", "last_name": "Costa", "gender": "male"})
    zoe = ctx.store.patients.create(
        v, {"first_name": "Zoe", "last_name": "Reis", "gender": "female"}
    )
    ctx.store.records.add_visit(v, ana.id, {"visit_date": "2026-03-05"})
    ctx.store.records.add_visit(v, zoe.id, {"visit_date": "2025-01-05"})
    lst = window.patient_list
    lst.reload()
    qtbot.waitUntil(lambda: len(visible_names(window)) == 3)
    lst.gender.setCurrentIndex(lst.gender.findData("female"))
    qtbot.waitUntil(lambda: visible_names(window) == ["Ana Lima", "Zoe Reis"])
    lst.visit_from.setDate(QDate(2026, 1, 1))
    lst.visit_to.setDate(QDate(2026, 12, 31))
    qtbot.mouseClick(lst.visits_on, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: visible_names(window) == ["Ana Lima"])
    qtbot.mouseClick(lst.reset, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(visible_names(window)) == 3)
    assert lst.gender.currentIndex() == 0 and not lst.visits_on.isChecked()


def test_sort_by_name_descending_from_the_header(window, qtbot, ctx) -> None:
    for first, last in [("Ana", "Abreu"), ("Bia", "Borges"), ("Caio", "Castro")]:
        ctx.store.patients.create(ctx.viewer, {"first_name": first, "last_name": last})
    window.patient_list.reload()
    qtbot.waitUntil(lambda: visible_names(window) == ["Ana Abreu", "Bia Borges", "Caio Castro"])
    window.patient_list.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: visible_names(window) == ["Caio Castro", "Bia Borges", "Ana Abreu"])


def test_edit_a_patient_and_see_the_change(window, qtbot, ctx) -> None:
    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Omar", "last_name": "Nasser"})
    window.patient_list.reload()
    qtbot.waitUntil(lambda: visible_names(window) == ["Omar Nasser"])
    window.patient_list.table.selectRow(0)
    qtbot.keyClick(window.patient_list.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.patient_page.title.text() == "Omar Nasser")
    qtbot.mouseClick(window.patient_page.edit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(window, PatientDialog) is not None)
    dialog = shown(window, PatientDialog)
    fill(dialog, qtbot, last_name="Nasser-Khoury", allergies="Penicillin")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: window.patient_page.title.text() == "Omar Nasser-Khoury")
    assert window.patient_page.clinical_labels["allergies"].text() == "Penicillin"
    assert ctx.store.patients.get(ctx.viewer, p.id).get("allergies") == "Penicillin"
    activate(window, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: visible_names(window) == ["Omar Nasser-Khoury"])


def test_add_a_visit_and_see_it_on_top(window, qtbot, ctx) -> None:
    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Maya", "last_name": "Aziz"})
    ctx.store.records.add_visit(ctx.viewer, p.id, {"visit_date": "2026-01-10", "name": "Old"})
    window.open_patient(p.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.visits.rowCount() == 1)
    page.tabs.setCurrentIndex(2)
    page.add_visit()
    qtbot.waitUntil(lambda: shown(page, FormDialog) is not None)
    dialog = shown(page, FormDialog)
    dialog.widgets["visit_date"].setDate(QDate(2026, 11, 20))
    qtbot.keyClicks(dialog.widgets["name"], "Cleaning")
    qtbot.keyClicks(dialog.widgets["amount_paid"], "abc")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert "amount" in dialog.error.text().lower()
    dialog.widgets["amount_paid"].clear()
    qtbot.keyClicks(dialog.widgets["amount_paid"], "75.50")
    qtbot.keyClicks(dialog.widgets["charge"], "120")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    qtbot.waitUntil(lambda: page.visits.rowCount() == 2)
    top = page.visits.rows[0]
    assert (top.visit_date, top.name) == ("2026-11-20", "Cleaning")
    assert (top.amount_paid, top.charge) == (Decimal("75.50"), Decimal("120.00"))
    assert page.visits.index(0, 3).data() == "75.50"
    # The fee is charged on the account; what was paid with the visit counts against it.
    account = ctx.store.ledger.account(ctx.viewer, p.id)
    assert (account.charged, account.balance) == (Decimal("120.00"), Decimal("44.50"))


def test_renaming_a_record_to_nothing_keeps_its_name(window, qtbot, ctx, monkeypatch) -> None:
    from PySide6.QtWidgets import QInputDialog

    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Maya", "last_name": "Aziz"})
    ctx.store.records.add_visit(ctx.viewer, p.id, {"visit_date": "2026-01-10", "name": "Filling"})
    window.open_patient(p.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.visits.rowCount() == 1)
    page.tabs.setCurrentIndex(2)
    page.visit_table.setCurrentIndex(page.visits.index(0, 0))
    renamed: list[str] = []
    real = ctx.store.records.rename_visit
    monkeypatch.setattr(ctx.store.records, "rename_visit",
                        lambda v, vid, name: (renamed.append(name), real(v, vid, name))[1])
    for typed in ("   ", "Crown"):
        monkeypatch.setattr(QInputDialog, "getText", lambda *_a, t=typed, **_k: (t, True))
        page.rename_visit()
    qtbot.waitUntil(lambda: page.visits.rows[0].name == "Crown")
    assert renamed == ["Crown"]  # the blank name was never written


def test_diary_totals_for_a_day(window, qtbot, ctx) -> None:
    v = ctx.viewer
    a = ctx.store.patients.create(v, {"first_name": "Ana", "last_name": "Lima"})
    b = ctx.store.patients.create(v, {"first_name": "Rui", "last_name": "Sousa"})
    ctx.store.records.add_visit(v, a.id, {"visit_date": "2026-11-24", "amount_paid": Decimal(120)})
    ctx.store.records.add_visit(
        v, b.id, {"visit_date": "2026-11-24", "amount_paid": Decimal("30.50")},
    )
    ctx.store.records.add_visit(
        v, b.id, {"visit_date": "2026-11-23", "amount_paid": Decimal("9.99")},
    )
    ctx.store.records.add_appointment(v, a.id, dt.datetime(2026, 11, 24, 10, 0), 30, "Check")
    window.tabs.setCurrentIndex(1)
    window.diary.date.setDate(QDate(2026, 11, 24))
    qtbot.waitUntil(lambda: window.diary.total.text() == "Total paid: 150.50")
    assert window.diary.patients.text() == "2 patients"
    assert window.diary.visits.rowCount() == 2
    assert window.diary.appointments.index(0, 1).data() == "Ana Lima"
    window.diary.date.setDate(QDate(2026, 11, 22))
    qtbot.waitUntil(lambda: window.diary.total.text() == "Total paid: 0.00")
    assert window.diary.empty.isVisible()


def test_a_long_procedure_never_hides_what_was_paid_in_the_diary(window, qtbot, ctx) -> None:
    v = ctx.viewer
    a = ctx.store.patients.create(v, {"first_name": "Ana", "last_name": "Lima"})
    ctx.store.records.add_visit(v, a.id, {
        "visit_date": "2026-11-24", "amount_paid": Decimal(500),
        "procedure": "Root canal treatment on 36, temporary filling, " * 6})
    window.resize(1100, 700)
    window.tabs.setCurrentIndex(1)
    window.diary.date.setDate(QDate(2026, 11, 24))
    qtbot.waitUntil(lambda: window.diary.total.text() == "Total paid: 500.00")
    table = window.diary.findChild(QTableView, "diaryVisits")
    paid = 3
    qtbot.waitUntil(lambda: table.columnWidth(paid) > 0)
    # The whole Paid column is in sight, without scrolling sideways.
    assert table.columnViewportPosition(paid) >= 0
    assert table.columnViewportPosition(paid) + table.columnWidth(paid) \
        <= table.viewport().width()
    assert table.model().index(0, paid).data() == "500.00"


def test_agreement_remaining_and_expired_mark(window, qtbot, ctx) -> None:
    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Ana", "last_name": "Lima"})
    ag = ctx.store.records.add_agreement(
        ctx.viewer,
        p.id,
        {
            "title": "Implant",
            "total": Decimal(2000),
            "discount": Decimal(100),
            "tax": Decimal(50),
            "expires_on": "2020-01-01",
        },
    )
    ctx.store.records.add_payment(ctx.viewer, ag, "2019-12-01", Decimal(500))
    window.open_patient(p.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.agreements.rowCount() == 1)
    assert page.agreements.index(0, 5).data() == "1,450.00"
    assert "EXPIRED" in page.agreements.index(0, 6).data()


def test_window_remembers_its_size(ctx, qtbot) -> None:
    from app.ui.shell.main_window import MainWindow

    first = MainWindow(ctx)
    qtbot.addWidget(first)
    first.show()
    width = min(max(first.minimumSizeHint().width(), 600), 790)
    first.resize(width, 480)
    qtbot.waitUntil(lambda: first.size().toTuple() == (width, 480))
    first.close()
    second = MainWindow(ctx)
    qtbot.addWidget(second)
    second.show()
    assert second.size().toTuple() == (width, 480)
    second.close()
