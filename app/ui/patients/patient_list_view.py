"""The patient list: search as you type, filters, count, and the table."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QDate, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProxyStyle,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyleOption,
    QStyleOptionHeader,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.store.dto import PatientFilter, PatientRow
from app.ui.cases.ticket_dialog import TicketDialog
from app.ui.patients.did_you_mean import DidYouMean
from app.ui.patients.patient_list_model import (
    NAME_COLUMN,
    PAGE,
    SORTABLE,
    PatientListModel,
    Shown,
    shown,
    sort_column,
)
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, user_message
from app.ui.widgets.date_box import DateBox
from app.ui.widgets.formatting import GENDER_LABELS
from app.ui.widgets.table_model import RowRole


class ArrowUpForAscending(QProxyStyle):
    """Qt draws the arrow of an ascending (A→Z) column pointing down; people read a
    down arrow as Z→A. Here the arrow points up for ascending, as on most systems."""

    def drawPrimitive(self, element: QStyle.PrimitiveElement, option: QStyleOption,
                      painter: QPainter, widget: QWidget | None = None) -> None:
        if element == QStyle.PrimitiveElement.PE_IndicatorHeaderArrow and isinstance(
                option, QStyleOptionHeader):
            flipped = QStyleOptionHeader(option)
            flipped.sortIndicator = {
                QStyleOptionHeader.SortIndicator.SortUp:
                    QStyleOptionHeader.SortIndicator.SortDown,
                QStyleOptionHeader.SortIndicator.SortDown:
                    QStyleOptionHeader.SortIndicator.SortUp,
            }.get(option.sortIndicator, option.sortIndicator)
            option = flipped
        super().drawPrimitive(element, option, painter, widget)


class PatientListView(QWidget):
    openPatient = Signal(str)
    newPatient = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:  # noqa: PLR0915
        super().__init__(parent)
        self.ctx = ctx
        self.filter = PatientFilter()
        self._generation = 0
        self.model = PatientListModel(self)
        self._count_timer = QTimer(self, singleShot=True, interval=250)
        self._count_timer.timeout.connect(self._count)
        self.model.sortRequested.connect(self._sort)
        self.model.countWanted.connect(self._count_now)
        self.model.pageWanted.connect(self._want_page)
        # Pages wanted while a frame is painted are read together after it, only those
        # still on screen: a scrollbar dragged across the list reads where it stops.
        self._wanted: set[int] = set()
        self._near: frozenset[int] = frozenset()
        self._page_timer = QTimer(self, singleShot=True, interval=0)
        self._page_timer.timeout.connect(self._read_wanted)
        self._chosen: PatientRow | None = None

        self.search = QLineEdit(placeholderText="Search by name, phone, email, card or ID number")
        self.search.setClearButtonEnabled(True)
        self.search.setObjectName("patientSearch")
        self.search.textChanged.connect(self._query_changed)
        self.search.installEventFilter(self)

        self.gender = QComboBox(objectName="genderFilter")
        self.gender.addItem("Any gender", None)
        for value, label in GENDER_LABELS.items():
            self.gender.addItem(label, value)
        self.gender.currentIndexChanged.connect(self._filters_changed)

        self.case_type = QComboBox(objectName="caseTypeFilter")
        self.case_type.addItem("Any case type", None)
        self.case_type.currentIndexChanged.connect(self._filters_changed)

        self.visits_on = QCheckBox("Visited between", objectName="visitFilter")
        self.visit_from = DateBox(QDate.currentDate().addMonths(-1), objectName="visitFrom")
        self.visit_to = DateBox(QDate.currentDate(), objectName="visitTo")
        for box in (self.visit_from, self.visit_to):
            box.setEnabled(False)
            box.dateChanged.connect(self._filters_changed)
        self.visits_on.toggled.connect(self._visits_toggled)

        self.reset = QPushButton("Reset filters", objectName="resetFilters")
        self.reset.clicked.connect(self.reset_filters)
        self.add = QPushButton("New patient", objectName="newPatient")
        self.add.clicked.connect(self.newPatient.emit)
        self.ticket = QPushButton("Create scan ticket…", objectName="listScanTicket")
        self.ticket.setToolTip("Create a scan ticket for the selected patient")
        self.ticket.clicked.connect(self.create_ticket)
        self.ticket_dialog: TicketDialog | None = None
        self.menu: QMenu | None = None
        self.case_dialog: Any = None
        self.count = QLabel("", objectName="patientCount")

        self.table = QTableView(objectName="patientTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        header = self.table.horizontalHeader()
        header.setSortIndicator(NAME_COLUMN, Qt.SortOrder.AscendingOrder)
        header.sortIndicatorChanged.connect(self._show_sort)
        self._header_style = ArrowUpForAscending(self.style().name())
        self._header_style.setParent(self)
        header.setStyle(self._header_style)
        # The name takes the room left; the other columns are as wide as what they hold
        # (measured on each first page), so the card number never takes the rest.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(NAME_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        rows = self.table.verticalHeader()
        rows.hide()
        # Rows of one height: the view places a million of them without asking each.
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.table.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.table.setAlternatingRowColors(True)
        self.table.activated.connect(self._activated)
        self.table.doubleClicked.connect(self._activated)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.ticket.setEnabled(False)

        self.empty = QLabel("", alignment=Qt.AlignmentFlag.AlignCenter, objectName="emptyState")
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        self.did_you_mean = DidYouMean(ctx, self)
        self.did_you_mean.chosen.connect(self.search.setText)

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.ticket)
        top.addWidget(self.add)
        filters = QHBoxLayout()
        for w in (
            self.gender,
            self.case_type,
            self.visits_on,
            self.visit_from,
            QLabel("and"),
            self.visit_to,
            self.reset,
        ):
            filters.addWidget(w)
        filters.addStretch(1)
        filters.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.did_you_mean)
        layout.addWidget(self.stack, 1)
        self.reload()
        # The case types read every patient's: after the first rows, not before them.
        self.model.rowsLoaded.connect(self.refresh_case_types,
                                      Qt.ConnectionType.SingleShotConnection)

    # Filters --------------------------------------------------------------------------
    def _query_changed(self, text: str) -> None:
        self.filter = dataclasses.replace(self.filter, query=text)
        self.reload()

    def _visits_toggled(self, on: bool) -> None:
        self.visit_from.setEnabled(on)
        self.visit_to.setEnabled(on)
        self._filters_changed()

    def _filters_changed(self, *_: Any) -> None:
        on = self.visits_on.isChecked()
        self.filter = dataclasses.replace(
            self.filter,
            gender=self.gender.currentData(),
            case_type=self.case_type.currentData(),
            visit_from=self.visit_from.date().toString("yyyy-MM-dd") if on else None,
            visit_to=self.visit_to.date().toString("yyyy-MM-dd") if on else None,
        )
        self.reload()

    def _sort(self, key: str) -> None:
        self.filter = dataclasses.replace(self.filter, sort=key)
        self.reload()

    def _show_sort(self, column: int, _order: Qt.SortOrder) -> None:
        """A click on a column the list cannot be sorted by leaves the arrow where the
        order really comes from."""
        if column not in SORTABLE:
            header = self.table.horizontalHeader()
            header.blockSignals(True)
            header.setSortIndicator(*sort_column(self.filter.sort))
            header.blockSignals(False)

    def _fit_columns(self) -> None:
        """Widen a column to what the page shows, never narrow it: columns do not jump
        while a name is typed. Measured with the font, as Qt's own sizing of every cell
        costs several milliseconds a keystroke."""
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        padding = metrics.horizontalAdvance("  ") + 8
        page = self.model.first_page()
        for column in range(self.model.columnCount()):
            if column == NAME_COLUMN:
                continue
            texts = (texts[column] for _, texts in page)
            widest = max((metrics.horizontalAdvance(t) for t in texts), default=0) + padding
            widest = max(widest, header.sectionSizeFromContents(column).width())
            if widest > header.sectionSize(column):
                header.resizeSection(column, widest)

    def reset_filters(self) -> None:
        for w in (self.gender, self.case_type, self.visits_on, self.search):
            w.blockSignals(True)
        self.gender.setCurrentIndex(0)
        self.case_type.setCurrentIndex(0)
        self.visits_on.setChecked(False)
        self.visit_from.setEnabled(False)
        self.visit_to.setEnabled(False)
        self.search.clear()
        for w in (self.gender, self.case_type, self.visits_on, self.search):
            w.blockSignals(False)
        self.filter = PatientFilter(sort=self.filter.sort)
        self.reload()

    def refresh_case_types(self) -> None:
        ctx = self.ctx

        def done(types: list[str]) -> None:
            current = self.case_type.currentData()
            self.case_type.blockSignals(True)
            while self.case_type.count() > 1:
                self.case_type.removeItem(1)
            for t in types:
                self.case_type.addItem(t, t)
            index = self.case_type.findData(current)
            self.case_type.setCurrentIndex(max(index, 0))
            self.case_type.blockSignals(False)

        ReadOp(lambda: ctx.store.patients.case_types(ctx.viewer)).success(done).run(ctx.ops)

    # Loading --------------------------------------------------------------------------
    def reload(self) -> None:
        """Ask for the first page and the count; answers to older requests are dropped."""
        self._generation += 1
        gen, f, ctx = self._generation, self.filter, self.ctx

        def rows() -> list[Shown]:
            return shown(ctx.store.patients.search(ctx.viewer, f, limit=PAGE + 1))

        def show(result: list[Shown]) -> None:
            if gen == self._generation:
                self._wanted.clear()
                self.model.load(result[:PAGE], len(result) > PAGE)
                self._fit_columns()
                self._update_empty_state()

        ReadOp(rows).success(show).failure(self._failed).run(ctx.ops)
        self.count.setText("Counting…")
        # Counting can take far longer than a page; count once typing pauses, so the
        # counts of stale keystrokes never queue in front of the next page.
        self._count_timer.start()

    def _count_now(self) -> None:
        """The list was scrolled past its first page before the count came."""
        if self._count_timer.isActive():
            self._count_timer.stop()
            self._count()

    def _count(self) -> None:
        gen, f, ctx = self._generation, self.filter, self.ctx

        def counted(n: int) -> None:
            if gen == self._generation:
                self.count.setText("1 patient" if n == 1 else f"{n:,} patients")
                self.model.set_total(n)

        def count() -> int:
            if gen != self._generation:
                return -1  # superseded before it started
            return ctx.store.patients.count(ctx.viewer, f)

        ReadOp(count).success(counted).run(ctx.ops)

    def _want_page(self, page: int) -> None:
        self._wanted.add(page)
        if not self._page_timer.isActive():
            self._page_timer.start()

    def _scrolled(self) -> None:
        self._near = self._pages_on_screen()

    def _pages_on_screen(self) -> frozenset[int]:
        """The pages of the rows on screen, and one more each way."""
        total = self.model.rowCount()
        if not total:
            return frozenset()
        top = self.table.rowAt(0)
        bottom = self.table.rowAt(self.table.viewport().height() - 1)
        first = max(top, 0) // PAGE
        last = (bottom if bottom >= 0 else total - 1) // PAGE
        return frozenset(range(max(first - 1, 0), last + 2))

    def _read_wanted(self) -> None:
        self._near = self._pages_on_screen()
        visible = self.table.isVisible()
        for page in sorted(self._wanted):
            if visible and page not in self._near:
                self.model.forget_asked(page)
            else:
                self._read_page(page)
        self._wanted.clear()

    def _read_page(self, page: int) -> None:
        gen, f, ctx, view = self._generation, self.filter, self.ctx, self

        def rows() -> list[Shown] | None:
            # Queued behind other reads, a page may be off screen by the time it runs.
            if gen != view._generation or (view._near and page not in view._near):
                return None
            return shown(ctx.store.patients.search(ctx.viewer, f, limit=PAGE,
                                                   offset=page * PAGE))

        def show(result: list[Shown] | None) -> None:
            if gen != self._generation:
                return
            if result is None:
                self.model.forget_asked(page)
            else:
                self.model.put_page(page, result)

        ReadOp(rows).success(show).failure(self._failed).run(ctx.ops)

    def _failed(self, exc: BaseException) -> None:
        self.count.setText("The patient list could not be read.")
        self.empty.setText(f"The patient list could not be read. {user_message(exc)}")
        self.stack.setCurrentWidget(self.empty)

    def _update_empty_state(self) -> None:
        found_none = not self.model.rowCount()
        self.did_you_mean.look_up(self.filter.query if found_none and not self.filter.has_filters
                                  else "")
        if not found_none:
            self.stack.setCurrentWidget(self.table)
            return
        if self.filter.query or self.filter.has_filters:
            self.empty.setText("No patient matches. Check the spelling or reset the filters.")
        else:
            self.empty.setText("No patients yet. Add the first one with New patient (Ctrl+N).")
        self.stack.setCurrentWidget(self.empty)

    def on_changed(self, flags: set[str]) -> None:
        if flags & {"patients", "visits"}:
            self.reload()
            self.refresh_case_types()

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """From the search box, Down walks into the list and Enter opens the
        highlighted patient (the first one when none is)."""
        if (watched is self.search and isinstance(event, QKeyEvent)
                and event.type() == QEvent.Type.KeyPress):
            key = event.key()
            rows = self.model.rowCount()
            if key == Qt.Key.Key_Down and rows:
                current = self.table.currentIndex()
                row = min(current.row() + 1, rows - 1) if current.isValid() else 0
                self.table.selectRow(row)
                self.table.setFocus(Qt.FocusReason.OtherFocusReason)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and rows:
                current = self.table.currentIndex()
                self._activated(current if current.isValid() else self.model.index(0, 0))
                return True
        return super().eventFilter(watched, event)

    def _activated(self, index: Any) -> None:
        row = self.model.data(index, RowRole)
        if row is not None:
            self.openPatient.emit(row.id)

    # Scan tickets ---------------------------------------------------------------------
    def _selection_changed(self, *_: Any) -> None:
        """The chosen patient is kept, so that he stays chosen when his page is dropped."""
        rows = self.table.selectionModel().selectedRows()
        self._chosen = self.model.data(rows[0], RowRole) if rows else None
        self.ticket.setEnabled(self._chosen is not None)

    def _selected(self) -> PatientRow | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.data(rows[0], RowRole) or self._chosen

    def _context_menu(self, pos: Any) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        self.table.selectRow(index.row())
        self.menu = QMenu(self)
        self.menu.addAction("Open", lambda: self._activated(index))
        self.menu.addAction("Create scan ticket…", self.create_ticket)
        self.menu.addAction("Create case…", self.create_case)
        self.menu.popup(self.table.viewport().mapToGlobal(pos))

    def create_case(self) -> None:
        from app.ui.cases.case_dialog import CaseDialog
        from app.ui.cases.cases_tab import connected_labs

        row = self._selected()
        if row is not None:
            self.case_dialog = CaseDialog(self.ctx, row.id, row.display_name,
                                          connected_labs(self.ctx), self)
            self.case_dialog.open()

    def create_ticket(self) -> None:
        row = self._selected()
        if row is not None:
            self.ticket_dialog = TicketDialog(self.ctx, row.id, row.display_name, self)
            self.ticket_dialog.open()
