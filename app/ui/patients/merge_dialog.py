"""Merge patient data: find the duplicates of the patient on screen, pick several, confirm
twice; and undo a merge from the kept patient's page (app.store.patients.merge_repo)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.phone import format_phone
from app.store.patients.merge_repo import UNDO_DAYS, MergeRow, Similar
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp, user_message
from app.ui.widgets import formatting
from app.ui.widgets.screen_fit import resize_to_fit
from app.ui.widgets.table_model import Column, RowTableModel, table_view

SHOWN = 6  # clinical details named in the confirmation at most
# Everything a merge or its undo may change, so every screen refreshes.
CHANGES = {"patients", "visits", "appointments", "agreements", "images", "notes"}
SIMILAR_COLUMNS: list[Column[Similar]] = [
    Column("Name", lambda s: s.name),
    Column("Date of birth", lambda s: s.birth_date or ""),
    Column("Mobile", lambda s: format_phone(s.mobile)),
    Column("Email", lambda s: s.email or ""),
    Column("ID number", lambda s: s.id_number or ""),
    Column("Why", lambda s: s.reason or "found by the search"),
]


def _counted(counts: dict[str, int]) -> str:
    """"3 records, 1 appointment and 2 images" — what will move, nothing empty."""
    singular = {"records": "record", "appointments": "appointment", "payments": "payment",
                "agreements": "agreement", "images": "image", "notes": "note",
                "cases": "case"}
    parts = [f"{n} {label if n != 1 else singular.get(label, label)}"
             for label, n in counts.items() if n]
    if not parts:
        return "no records"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


class MergeDialog(QDialog):
    """Opened from a patient's page: that patient is the one kept."""

    merged = Signal(str)  # the merge's id

    def __init__(self, ctx: AppContext, kept_id: str, kept_name: str,  # noqa: PLR0915
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kept_id = kept_id
        self.kept_name = kept_name
        self.question: QMessageBox | None = None  # the second confirmation, while open
        self.picked: dict[str, Similar] = {}
        self.setWindowTitle("Merge patient data")
        self.setObjectName("mergeDialog")
        intro = QLabel(
            f"Find the profiles that are the same person as {kept_name}. Their records,"
            " appointments, payments, agreements, images and notes move to"
            f" {kept_name}; the merged profiles are kept, marked merged.",
            objectName="mergeIntro")
        intro.setTextFormat(Qt.TextFormat.PlainText)  # names come from other PCs too
        intro.setWordWrap(True)
        self.search = QLineEdit(objectName="mergeSearch")
        self.search.setPlaceholderText("Name, phone, email or ID number")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self.find_similar)
        self.search.textChanged.connect(lambda *_: self._search_timer.start())
        self.model: RowTableModel[Similar] = RowTableModel(SIMILAR_COLUMNS, self)
        self.table = table_view(self.model, "similarTable")
        self.table.doubleClicked.connect(lambda *_: self.pick())
        self.empty = QLabel("", objectName="similarEmpty")
        self.add = QPushButton("Add to selection →", objectName="mergePick")
        self.add.clicked.connect(self.pick)

        self.selected = QListWidget(objectName="mergeSelected")
        self.remove = QPushButton("Remove", objectName="mergeRemove")
        self.remove.clicked.connect(self.remove_selected)
        self.clear = QPushButton("Clear all", objectName="mergeClearAll")
        self.clear.clicked.connect(self.clear_all)
        self.status = QLabel("", objectName="mergeStatus")
        self.status.setWordWrap(True)
        self.confirm = QPushButton("Confirm", objectName="mergeConfirm")
        self.confirm.setDefault(True)
        self.confirm.clicked.connect(self.ask)
        self.exit = QPushButton("Exit", objectName="mergeExit")
        self.exit.clicked.connect(self.reject)

        left = QVBoxLayout()
        left.addWidget(self.search)
        left.addWidget(self.table, 1)
        left.addWidget(self.empty)
        left.addWidget(self.add, 0, Qt.AlignmentFlag.AlignRight)
        right = QVBoxLayout()
        right.addWidget(QLabel("Selected"))
        right.addWidget(self.selected, 1)
        row = QHBoxLayout()
        row.addWidget(self.remove)
        row.addWidget(self.clear)
        right.addLayout(row)
        middle = QHBoxLayout()
        middle.addLayout(left, 3)
        middle.addLayout(right, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.exit)
        bottom.addWidget(self.confirm)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(middle, 1)
        layout.addLayout(bottom)
        resize_to_fit(self, QSize(900, 520))
        self._pick_when_found = False
        for w in (self.search, self.table):
            w.installEventFilter(self)
        self._sync_buttons()
        self.find_similar()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter in the search box or on a found row adds to the selection (it never
        confirms the merge); Down goes from the search box to the rows."""
        if event.type() == QEvent.Type.KeyPress and watched in (self.search, self.table):
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if watched is self.search and self._search_timer.isActive():
                    # Typed faster than the search: add what the search finds.
                    self._search_timer.stop()
                    self._pick_when_found = True
                    self.find_similar()
                elif self.table.selectionModel().hasSelection():
                    self.pick()
                return True
            if watched is self.search and key == Qt.Key.Key_Down and self.model.rowCount():
                self.table.setFocus()
                return True
        return super().eventFilter(watched, event)

    # Finding and picking ---------------------------------------------------------------
    def find_similar(self) -> None:
        ctx, kept, query = self.ctx, self.kept_id, self.search.text()
        ReadOp(lambda: ctx.store.merges.similar(ctx.viewer, kept, query)).success(
            self._found).failure(self._failed).run(ctx.ops)

    def _found(self, rows: list[Similar]) -> None:
        self.model.set_rows(rows)
        if rows:
            self.table.selectRow(0)
        self.empty.setText("" if rows else (
            "Nobody found by that search." if self.search.text().strip()
            else "No similar patients found. Search by name, phone, email or ID number."))
        self.empty.setVisible(not rows)
        if self._pick_when_found:
            self._pick_when_found = False
            if rows:
                self.pick()
        self._sync_buttons()

    def pick(self) -> None:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        for r in rows:
            s = self.model.row_at(r)
            if s.id in self.picked:
                continue
            self.picked[s.id] = s
            item = QListWidgetItem(f"{s.name}" + (f"  ({s.birth_date})" if s.birth_date else ""))
            item.setData(Qt.ItemDataRole.UserRole, s.id)
            self.selected.addItem(item)
        self._sync_buttons()

    def remove_selected(self) -> None:
        for item in self.selected.selectedItems() or (
                [self.selected.currentItem()] if self.selected.currentItem() else []):
            self.picked.pop(item.data(Qt.ItemDataRole.UserRole), None)
            self.selected.takeItem(self.selected.row(item))
        self._sync_buttons()

    def clear_all(self) -> None:
        self.picked.clear()
        self.selected.clear()
        self._sync_buttons()

    def _sync_buttons(self, busy: bool = False) -> None:
        for w in (self.search, self.table, self.add, self.selected, self.exit):
            w.setEnabled(not busy)
        self.add.setEnabled(not busy and self.model.rowCount() > 0)
        self.remove.setEnabled(not busy and bool(self.picked))
        self.clear.setEnabled(not busy and bool(self.picked))
        self.confirm.setEnabled(not busy and bool(self.picked))

    # Confirming twice, then merging ----------------------------------------------------
    def ask(self) -> None:
        ids = list(self.picked)
        if not ids:
            return
        ctx, kept = self.ctx, self.kept_id
        self._sync_buttons(busy=True)
        self.status.setText("Counting what will move…")
        def read() -> tuple[dict[str, int], list[tuple[str, str, str]]]:
            return (ctx.store.merges.preview(ctx.viewer, kept, ids),
                    ctx.store.merges.left_behind(ctx.viewer, kept, ids))

        ReadOp(read).success(lambda found: self._second_confirmation(ids, *found)).failure(
            self._failed).run(ctx.ops)

    def _second_confirmation(self, ids: list[str], counts: dict[str, int],
                             left: list[tuple[str, str, str]]) -> None:
        self._sync_buttons()
        self.status.setText("")
        names = [self.picked[i].name for i in ids if i in self.picked]
        box = QMessageBox(QMessageBox.Icon.Warning, "Merge patients", "", parent=self)
        box.setObjectName("mergeSecondConfirm")
        box.setTextFormat(Qt.TextFormat.PlainText)
        who = names[0] if len(names) == 1 else f"{len(names)} patients ({', '.join(names)})"
        box.setText(f"Merge {who} into {self.kept_name}?")
        profiles = "The merged profile is" if len(names) == 1 else "The merged profiles are"
        text = (f"{_counted(counts)} will move to {self.kept_name}. {profiles} kept, marked"
                f" merged. The merge can be undone from {self.kept_name}'s page for"
                f" {UNDO_DAYS} days.")
        if left:
            # A clinician must see these before the profile leaves the list.
            shown = [f"• {owner} — {label}: {_short(value)}"
                     for owner, label, value in left[:SHOWN]]
            more = [f"• and {len(left) - SHOWN} more"] if len(left) > SHOWN else []
            text += (f"\n\nOnly on the merged profiles, not on {self.kept_name} (they stay"
                     f" there; edit {self.kept_name} to add what matters):\n"
                     + "\n".join(shown + more))
        box.setInformativeText(text)
        go = box.addButton("Confirm", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)

        def answered(_result: int) -> None:
            self.question = None
            if box.clickedButton() is go:
                self._merge(ids)

        box.finished.connect(answered)
        self.question = box
        box.open()

    def _merge(self, ids: list[str]) -> None:
        ctx, kept = self.ctx, self.kept_id
        self._sync_buttons(busy=True)
        self.status.setText("Merging… the records are moving to " + self.kept_name)

        def progress(done: int, total: int, label: str) -> None:
            if label:
                self.status.setText(f"Merging {label} ({done + 1} of {total})…")

        WriteOp(lambda op: ctx.store.merges.merge(ctx.viewer, kept, ids, op.report),
                CHANGES, name="merging the patients").with_progress(progress).success(
            self._done).failure(self._failed).run(ctx.ops)

    def _done(self, merge_id: str) -> None:
        self.merged.emit(merge_id)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._sync_buttons()
        self.status.setText(user_message(exc, "merging the patients"))


def _short(text: str, most: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


def _moved(n: int) -> str:
    return f"{n} item{'' if n == 1 else 's'} moved"


def _describe(m: MergeRow) -> str:
    when = formatting.local_time(m.merged_at)
    return f"{', '.join(m.merged_names)} — merged {when}, {_moved(m.moved)}"


def undo_merge(ctx: AppContext, parent: QWidget, kept_name: str, rows: list[MergeRow],
               done: object = None) -> QMessageBox | None:
    """Ask which merge to undo (when there are several) and confirm; the undo runs as a
    write op. Returns the confirmation box, open, for whoever wants to follow it."""
    if not rows:
        return None
    row = rows[0]
    if len(rows) > 1:
        labels = [_describe(m) for m in rows]
        label, ok = QInputDialog.getItem(parent, "Undo a merge", "Merge to undo:", labels,
                                         0, False)
        if not ok:
            return None
        row = rows[labels.index(label)]
    box = QMessageBox(QMessageBox.Icon.Question, "Undo merge", "", parent=parent)
    box.setObjectName("undoMergeConfirm")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(f"Undo the merge of {', '.join(row.merged_names)} into {kept_name}?")
    box.setInformativeText(
        f"Merged {formatting.local_time(row.merged_at)}; {_moved(row.moved)}. Every"
        " record, appointment, payment, agreement, image and note that the merge moved goes"
        f" back to its profile; what was added to {kept_name} since stays. A merge can be"
        f" undone until {row.undo_until}.")
    go = box.addButton("Undo merge", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)

    def answered(_result: int) -> None:
        if box.clickedButton() is not go:
            return
        op = WriteOp(lambda: ctx.store.merges.undo(ctx.viewer, row.id), CHANGES,
                     name="undoing the merge")
        if callable(done):
            op.success(done)
        op.failure(lambda exc: QMessageBox.warning(
            parent, "Undo merge", user_message(exc, "undoing the merge"))).run(ctx.ops)

    box.finished.connect(answered)
    box.open()
    return box
