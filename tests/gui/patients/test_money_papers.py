"""The papers of the front desk: a payment's receipt and the day-end report, saved as
PDF files a user opens and reads."""

from __future__ import annotations

import re
from decimal import Decimal

from pypdf import PdfReader
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QFileDialog


def _text(path) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(path).pages))


def _save_to(monkeypatch, path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), "PDF"))


def test_receipt_of_a_payment(window, qtbot, ctx, tmp_path, monkeypatch) -> None:
    v = ctx.viewer
    ctx.store.settings.set("practice_name", "Smile Street Dental")
    p = ctx.store.patients.create(v, {"first_name": "Zoë", "last_name": "Ångström"})
    ag = ctx.store.records.add_agreement(
        v, p.id, {"title": "Braces <upper>", "total": Decimal(3000)},
    )
    ctx.store.ledger.take_payment(v, p.id, "2026-11-24", Decimal("1250.05"), "card",
                                  agreement_id=ag)
    window.open_patient(p.id)
    tab = window.patient_page.account
    window.patient_page.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1)
    assert not tab.receipt.isEnabled()
    tab.table.selectRow(0)
    qtbot.waitUntil(tab.receipt.isEnabled)
    target = tmp_path / "receipt"  # the user typed no extension
    _save_to(monkeypatch, target)
    qtbot.mouseClick(tab.receipt, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.printed.text().startswith("Receipt saved to"), timeout=10000)
    text = _text(tmp_path / "receipt.pdf")
    for said in ("Smile Street Dental", "Receipt", "Zoë Ångström", "Braces <upper>",
                 "1,250.05", "Card", "Dr Admin", "2026-11-24"):
        assert said in text, said


def test_day_end_report_by_method_and_who(window, qtbot, ctx, tmp_path, monkeypatch) -> None:
    v = ctx.viewer
    other = ctx.store.users.create("nurse", "Nurse Joy", "correct horse", "member")
    a = ctx.store.patients.create(v, {"first_name": "Ana", "last_name": "Lima"})
    ctx.store.records.add_visit(v, a.id, {"visit_date": "2026-11-24", "amount_paid": Decimal(20)})
    take = ctx.store.ledger.take_payment
    take(v, a.id, "2026-11-24", Decimal(100), "cash", allow_excess=True)
    take(v, a.id, "2026-11-24", Decimal("30.50"), "card", allow_excess=True)
    wrong = take(v, a.id, "2026-11-24", Decimal(999), "card", allow_excess=True)
    ctx.store.ledger.void_payment(v, wrong, "Wrong amount")
    take(v, a.id, "2026-11-23", Decimal(7), "cash", allow_excess=True)  # not that day
    b = ctx.store.patients.create(other.viewer(), {"first_name": "Rui", "last_name": "Sousa"})
    take(other.viewer(), b.id, "2026-11-24", Decimal("5.25"), "card", allow_excess=True)
    window.tabs.setCurrentIndex(1)
    diary = window.diary
    diary.date.setDate(QDate(2026, 11, 24))
    qtbot.waitUntil(lambda: diary.total.text() == "Total paid: 155.75")
    _save_to(monkeypatch, tmp_path / "day.pdf")
    qtbot.mouseClick(diary.report, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: diary.printed.text().startswith("Report saved to"), timeout=10000)
    text = _text(tmp_path / "day.pdf")
    assert "Day-end report, 2026-11-24" in text
    assert "Total taken: 155.75 (4 payments)" in text
    assert "Card 35.75" in text and "Cash 100.00" in text
    assert "Paid with the visit 20.00" in text
    assert "Dr Admin 130.50" in text and "Not recorded 20.00" in text
    assert "Nurse Joy 5.25" in text
    assert "999.00" not in text  # the voided payment was not taken
