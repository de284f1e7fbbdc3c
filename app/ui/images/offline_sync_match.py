"""The wizard's Patient Match step: who the offline patient really is.

The potential match is proposed (ProvisionalRepo.candidates); Edit searches the
practice's patients instead; "this is a new patient" is a choice too. The step is
ready when one of them is chosen.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.store.dto import PatientFilter, PatientRow
from app.store.images.offline_images_repo import OfflinePatient
from app.store.patients.patient_matches import Match
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp


def _born(birth_date: str | None) -> str:
    return f", born {birth_date}" if birth_date else ""


class MatchStep(QWidget):
    changed = Signal()  # the choice changed
    failed = Signal(object)  # an exception to show

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.repo = ctx, ctx.store.provisional
        self.patient: OfflinePatient | None = None
        self.match: Match | None = None
        self.new_patient = False
        self.offline_label = QLabel("", objectName="offlinePatient")
        box = QGroupBox("Potential patient match")
        self.match_label = QLabel("", objectName="potentialMatch")
        self.match_label.setWordWrap(True)
        self.edit_button = QPushButton("&Edit", objectName="editMatch")
        self.edit_button.setToolTip("Not this patient: search for the right one")
        self.edit_button.clicked.connect(self._edit_match)
        row = QHBoxLayout(box)
        row.addWidget(self.match_label, 1)
        row.addWidget(self.edit_button)
        self.search = QLineEdit(objectName="matchSearch",
                                placeholderText="Search existing patients by name or phone")
        self.search_timer = QTimer(self, singleShot=True, interval=200)
        self.search_timer.timeout.connect(self._run_search)
        self.search.textChanged.connect(self.search_timer.start)
        self.results = QListWidget(objectName="matchResults")
        self.results.currentItemChanged.connect(self._picked)
        self.new_box = QCheckBox("This is a new patient — add them to the practice",
                                 objectName="newPatient")
        self.new_box.toggled.connect(self._new_toggled)
        v = QVBoxLayout(self)
        v.addWidget(self.offline_label)
        v.addWidget(box)
        v.addWidget(self.search)
        v.addWidget(self.results, 1)
        v.addWidget(self.new_box)

    @property
    def ready(self) -> bool:
        return self.new_patient or self.match is not None

    @property
    def kept_id(self) -> str | None:
        """The patient to merge into; None: the offline patient is new."""
        return None if self.new_patient or self.match is None else self.match.id

    def start(self, patient: OfflinePatient) -> None:
        self.patient = patient
        viewer = self.ctx.viewer
        self.offline_label.setText(f"Offline patient: {patient.name}{_born(patient.birth_date)}")
        self.match, self.new_patient = None, False
        self.new_box.setChecked(False)
        self.search.clear()
        self.results.clear()
        self.match_label.setText("Looking for a matching patient…")
        self._show_search(False)
        ReadOp(lambda: self.repo.candidates(viewer, patient.id)).success(
            self._show_candidates).failure(self.failed.emit).run(self.ctx.ops)

    def _show_candidates(self, found: list[Match]) -> None:
        if found:
            self._choose(found[0])
            self.edit_button.show()
        else:
            self.match_label.setText(
                "No patient with the same first name, last name and date of birth was "
                "found. Search for the patient, or say this is a new patient.")
            self.edit_button.hide()
            self._show_search(True)
        self.changed.emit()

    def _choose(self, m: Match) -> None:
        self.match = m
        why = f" ({m.reason})" if m.reason else ""
        self.match_label.setText(f"{m.name}{_born(m.birth_date)}{why}")
        if self.new_box.isChecked():
            self.new_box.setChecked(False)
        self.changed.emit()

    def _edit_match(self) -> None:
        self.match = None
        self.match_label.setText("Search for the right patient below.")
        self._show_search(True)
        self.search.setFocus()
        self.changed.emit()

    def _show_search(self, visible: bool) -> None:
        self.search.setVisible(visible)
        self.results.setVisible(visible)

    def _run_search(self) -> None:
        text, viewer = self.search.text().strip(), self.ctx.viewer
        if not text:
            self.results.clear()
            return
        ReadOp(lambda: self.ctx.store.patients.search(viewer, PatientFilter(query=text),
                                                      limit=50)).success(
            self._show_results).run(self.ctx.ops)

    def _show_results(self, rows: list[PatientRow]) -> None:
        self.results.clear()
        own = self.patient.id if self.patient else None
        for r in rows:
            if r.id == own:
                continue
            item = QListWidgetItem(f"{r.display_name}{_born(r.birth_date)}")
            item.setData(Qt.ItemDataRole.UserRole, r.id)
            self.results.addItem(item)

    def _picked(self, item: QListWidgetItem | None, _old: Any = None) -> None:
        if item is None:
            return
        pid, viewer = item.data(Qt.ItemDataRole.UserRole), self.ctx.viewer
        ReadOp(lambda: self.repo.match_of(viewer, pid)).success(self._choose).failure(
            self.failed.emit).run(self.ctx.ops)

    def _new_toggled(self, on: bool) -> None:
        self.new_patient = on
        if on:
            self.match = None
            self.match_label.setText("None: this patient will be added as a new patient.")
        self.changed.emit()
