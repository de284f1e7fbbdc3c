"""The patient list as a Qt model: a window of pages on however many patients match.

`rowCount()` is the number of matching patients (once counted), so the scrollbar spans
the whole list and a drag to its middle shows the middle at once; only the pages the
view has shown lately are held (at most `KEPT_PAGES`, the least recently shown dropped
first). A row whose page is not held shows blank and asks for it (`pageWanted`); the
view reads pages off the UI thread and hands them back with `put_page()`. Lives on the
UI thread; tested without a view.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.core.phone import format_phone
from app.store.dto import PatientRow
from app.ui.widgets import formatting
from app.ui.widgets.table_model import Column, RowRole

PAGE = 50  # rows a read brings; the first page of a keystroke's answer is one of them
KEPT_PAGES = 60  # pages held at most: 3,000 rows, several screens each way

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
Index = QModelIndex | QPersistentModelIndex
Shown = tuple[PatientRow, tuple[str, ...]]  # a row, and what each column shows of it

# Painting asks for every role of every cell on screen, about 1,500 calls a frame:
# the roles and flags are plain ints here, as reading a Qt enum member costs
# microseconds each time.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ROW = int(RowRole)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def shown(rows: list[PatientRow]) -> list[Shown]:
    """Rows with their columns' texts, made where the rows are read (off the UI thread)
    so that painting only looks them up."""
    return [(r, tuple(c.text(r) for c in COLUMNS)) for r in rows]


def sort_column(key: str) -> tuple[int, Qt.SortOrder]:
    """The header column and order that show a sort key ("-name": name, descending)."""
    column = next(c for c, k in SORTABLE.items() if k == key.lstrip("-"))
    descending = key.startswith("-")
    return column, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder


class PatientListModel(QAbstractTableModel):
    """Until the answer is counted, the rows are those of its first page; a view that
    scrolls past them asks for the count (`countWanted`) instead of reading on."""

    rowsLoaded = Signal()  # the first page of a new answer is in
    sortRequested = Signal(str)
    pageWanted = Signal(int)  # a shown row's page is not held: read it
    countWanted = Signal()

    def __init__(self, parent: Any = None, *, kept_pages: int = KEPT_PAGES) -> None:
        super().__init__(parent)
        self.columns = COLUMNS
        self.kept_pages = kept_pages
        self._pages: OrderedDict[int, list[Shown]] = OrderedDict()
        self._asked: set[int] = set()  # pages wanted and not yet put
        self._total = 0
        self.counted = False
        self.has_more = False

    # Filling ----------------------------------------------------------------------------
    def load(self, first: list[Shown], has_more: bool) -> None:
        """A new answer: its first page, and whether more rows follow it."""
        self.beginResetModel()
        self._pages.clear()
        self._asked.clear()
        self._pages[0] = first
        self._total = len(first)
        self.has_more = has_more
        self.counted = not has_more
        self.endResetModel()
        self.rowsLoaded.emit()

    def set_total(self, total: int) -> None:
        """The answer's row count: the list now spans all of it."""
        self.counted = True
        self.has_more = False
        self._resize(max(total, 0))

    def put_page(self, page: int, rows: list[Shown]) -> None:
        """A page read for this answer. A short page (patients removed since the count)
        ends the list there."""
        self._asked.discard(page)
        start = page * PAGE
        if start >= self._total:
            return
        self._pages[page] = rows
        self._pages.move_to_end(page)
        while len(self._pages) > self.kept_pages:
            self._pages.popitem(last=False)
        if len(rows) < PAGE and start + len(rows) < self._total:
            self._resize(start + len(rows))
        if rows:
            last = min(start + len(rows), self._total) - 1
            self.dataChanged.emit(self.index(start, 0), self.index(last, len(self.columns) - 1))

    def forget_asked(self, page: int) -> None:
        """A wanted page the view chose not to read (scrolled past): ask again if shown."""
        self._asked.discard(page)

    def _resize(self, total: int) -> None:
        if total > self._total:
            self.beginInsertRows(QModelIndex(), self._total, total - 1)
            self._total = total
            self.endInsertRows()
        elif total < self._total:
            self.beginRemoveRows(QModelIndex(), total, self._total - 1)
            self._total = total
            for page in [p for p in self._pages if p * PAGE >= total]:
                del self._pages[page]
            self.endRemoveRows()

    # Reading ----------------------------------------------------------------------------
    def row_at(self, row: int) -> PatientRow | None:
        """The patient at `row` if his page is held; else None, and his page is wanted."""
        found = self._shown_at(row)
        return found[0] if found is not None else None

    def _shown_at(self, row: int) -> Shown | None:
        page, at = divmod(row, PAGE)
        rows = self._pages.get(page)
        if rows is None:
            if page not in self._asked and 0 <= row < self._total:
                self._asked.add(page)
                self.pageWanted.emit(page)
            return None
        if page != next(reversed(self._pages)):
            self._pages.move_to_end(page)
        return rows[at] if at < len(rows) else None

    def held_rows(self) -> int:
        """How many rows the model holds now (bounded by kept_pages * PAGE)."""
        return sum(len(rows) for rows in self._pages.values())

    def first_page(self) -> list[Shown]:
        return list(self._pages.get(0, []))

    # Qt ---------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._total

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].header
        return None

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if role != _DISPLAY and role != _ROW:
            return None
        found = self._shown_at(index.row()) if index.isValid() else None
        if found is None:
            return None
        return found[1][index.column()] if role == _DISPLAY else found[0]

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.has_more and not self.counted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self.has_more = False  # asked once; set_total() brings the rest
            self.countWanted.emit()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = SORTABLE.get(column)
        if key is None:
            return
        self.sortRequested.emit(key if order == Qt.SortOrder.AscendingOrder else f"-{key}")

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _FLAGS



PatientOpener = Callable[[str], None]
