"""The table model every list screen uses, tested without a view: what each column
shows, and what a reset or an append tells the views."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.ui.widgets.table_model import Column, RowRole, RowTableModel


@dataclass(frozen=True)
class Payment:
    taken: dt.date
    amount: Decimal
    note: str


def _model() -> RowTableModel[Payment]:
    return RowTableModel([
        Column("Date", lambda p: p.taken.strftime("%d/%m/%Y")),
        Column("Amount", lambda p: f"{p.amount:.2f}", align_right=True),
        Column("Note", lambda p: p.note, tooltip=lambda p: p.note),
    ])


MARCH = Payment(dt.date(2026, 3, 2), Decimal("90.00"), "Crown")
JANUARY = Payment(dt.date(2026, 1, 15), Decimal("1200.50"), "<b>Implant</b>")


def test_each_column_shows_its_text_and_hands_out_the_row(qtmodeltester: ModelTester) -> None:
    model = _model()
    model.set_rows([MARCH, JANUARY])
    qtmodeltester.check(model)  # Qt's own consistency checks of an item model
    assert (model.rowCount(), model.columnCount()) == (2, 3)
    headers = [model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
               for c in range(3)]
    assert headers == ["Date", "Amount", "Note"]
    texts = [model.data(model.index(1, c)) for c in range(3)]
    assert texts == ["15/01/2026", "1200.50", "<b>Implant</b>"]
    assert model.data(model.index(1, 2), RowRole) is JANUARY
    align = model.data(model.index(0, 1), Qt.ItemDataRole.TextAlignmentRole)
    assert align & Qt.AlignmentFlag.AlignRight
    assert model.data(model.index(0, 0), Qt.ItemDataRole.TextAlignmentRole) is None


def test_a_tooltip_shows_remote_text_literally() -> None:
    model = _model()
    model.set_rows([JANUARY])
    tip = model.data(model.index(0, 2), Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;Implant&lt;/b&gt;" in tip and "<b>" not in tip


def test_set_rows_resets_and_append_rows_inserts_at_the_end(qtbot: QtBot) -> None:
    model = _model()
    model.set_rows([MARCH])
    with qtbot.waitSignal(model.modelReset):
        model.set_rows([JANUARY])
    assert [model.row_at(r) for r in range(model.rowCount())] == [JANUARY]
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    model.append_rows([MARCH, MARCH])
    model.append_rows([])  # nothing to insert: no signal
    assert inserted == [(1, 2)]
    assert model.rowCount() == 3
    assert model.rowCount(model.index(0, 0)) == 0  # a table: no row has children
    assert model.data(QModelIndex()) is None
