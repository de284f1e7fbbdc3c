"""The patient list as a Qt model: one page at a time, more as the user scrolls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal

from app.core.phone import format_phone
from app.store.dto import PatientRow
from app.ui.widgets import formatting
from app.ui.widgets.table_model import Column, RowTableModel

COLUMNS: list[Column[PatientRow]] = [
    Column("Name", lambda r: r.display_name),
    Column("Gender", lambda r: formatting.gender(r.gender)),
    Column("Date of birth (age)", lambda r: formatting.birth_and_age(r.birth_date)),
    Column("Mobile", lambda r: format_phone(r.mobile)),
    Column("Email", lambda r: r.email or ""),
    Column("Card number", lambda r: r.card_number or ""),
]
NAME_COLUMN, BIRTH_COLUMN = 0, 2
SORTABLE = {NAME_COLUMN: "name", BIRTH_COLUMN: "birth_date"}


def sort_column(key: str) -> tuple[int, Qt.SortOrder]:
    """The header column and order that show a sort key ("-name": name, descending)."""
    column = next(c for c, k in SORTABLE.items() if k == key.lstrip("-"))
    descending = key.startswith("-")
    return column, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder


class PatientListModel(RowTableModel[PatientRow]):
    """Rows arrive from the view's read ops; `sort()` asks the view to reload."""

    rowsLoaded = Signal()
    sortRequested = Signal(str)
    moreRequested = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(COLUMNS, parent)
        self.has_more = False
        self.loading_more = False

    def load(self, rows: list[PatientRow], has_more: bool) -> None:
        self.has_more = has_more
        self.loading_more = False
        self.set_rows(rows)
        self.rowsLoaded.emit()

    def load_more(self, rows: list[PatientRow], has_more: bool) -> None:
        self.has_more = has_more
        self.loading_more = False
        self.append_rows(rows)
        self.rowsLoaded.emit()

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.has_more and not self.loading_more

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self.loading_more = True
            self.moreRequested.emit()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = SORTABLE.get(column)
        if key is None:
            return
        self.sortRequested.emit(key if order == Qt.SortOrder.AscendingOrder else f"-{key}")

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


PatientOpener = Callable[[str], None]
