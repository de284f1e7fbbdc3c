"""Imaging Data Synchronization: images acquired offline, one patient at a time.

Steps, as the clinic knows them: the patients with offline images (here); Patient
Match (offline_sync_match); Imaging Options (offline_sync_options); Synchronize
(offline_sync_progress). This dialog holds the steps together: the buttons, what
Next and Back do, and which patient is in hand.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.store.images.offline_images_repo import OfflineImagesRepo, OfflinePatient
from app.ui.images.offline_sync_match import MatchStep
from app.ui.images.offline_sync_options import OptionsStep
from app.ui.images.offline_sync_progress import SyncStep
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp

STEPS = ("Patients", "Patient Match", "Imaging Options", "Synchronize")
PATIENTS, MATCH, OPTIONS, SYNC = range(4)
ERROR_STYLE, GOOD_STYLE = "color: #b00020;", "color: #1b5e20;"


class OfflineSyncWizard(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None,
                 repo: OfflineImagesRepo | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offlineSyncWizard")
        self.setWindowTitle("Imaging Data Synchronization")
        self.ctx = ctx
        self.repo = repo or ctx.store.offline_images
        self.patient: OfflinePatient | None = None
        self.match_step = MatchStep(ctx)
        self.options_step = OptionsStep(ctx)
        self.sync_step = SyncStep(ctx)
        for step in (self.match_step, self.options_step):
            step.changed.connect(self._update_next)
        for any_step in (self.match_step, self.options_step, self.sync_step):
            any_step.failed.connect(self._failed)
        self.options_step.message.connect(self._say)

        self.step_label = QLabel("", objectName="stepLabel")
        self.step_label.setStyleSheet("font-weight: bold;")
        self.stack = QStackedWidget(objectName="wizardSteps")
        for page in (self._patients_page(), self.match_step, self.options_step,
                     self.sync_step):
            self.stack.addWidget(page)
        self.message = QLabel("", objectName="wizardMessage")
        self.message.setWordWrap(True)

        self.later_button = QPushButton("Remind Me Later", objectName="remindLater")
        self.later_button.clicked.connect(self.remind_later)
        self.back_button = QPushButton("&Back", objectName="back")
        self.back_button.clicked.connect(self.back)
        self.next_button = QPushButton("&Next", objectName="next")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.next)
        self.another_button = QPushButton("Sync &Another Patient", objectName="syncAnother")
        self.another_button.clicked.connect(self.sync_another)
        self.sync_step.idle.connect(self.another_button.setEnabled)
        self.finish_button = QPushButton("&Finish", objectName="finish")
        self.finish_button.clicked.connect(self.accept)
        bar = QHBoxLayout()
        bar.addWidget(self.later_button)
        bar.addStretch(1)
        for b in (self.back_button, self.next_button, self.another_button, self.finish_button):
            bar.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.step_label)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.message)
        layout.addLayout(bar)
        self.resize(760, 520)
        self._go(PATIENTS)
        self.load_patients()

    # Navigation -----------------------------------------------------------------------
    def _go(self, step: int) -> None:
        self.stack.setCurrentIndex(step)
        self.step_label.setText(f"Step {step + 1} of {len(STEPS)} — {STEPS[step]}")
        self.message.clear()
        self.later_button.setVisible(step != SYNC)
        self.back_button.setVisible(step in (MATCH, OPTIONS))
        self.next_button.setVisible(step != SYNC)
        self.another_button.setVisible(step == SYNC)
        self.finish_button.setVisible(step in (PATIENTS, SYNC))
        self._update_next()

    def _update_next(self) -> None:
        ready = {
            PATIENTS: lambda: self.patient_list.currentItem() is not None,
            MATCH: lambda: self.match_step.ready,
            OPTIONS: lambda: self.options_step.ready,
        }.get(self.stack.currentIndex(), lambda: False)
        self.next_button.setEnabled(ready())

    def next(self) -> None:
        step = self.stack.currentIndex()
        if step == PATIENTS:
            item = self.patient_list.currentItem()
            if item is None:
                return
            self.patient = item.data(Qt.ItemDataRole.UserRole)
            assert self.patient is not None
            if self.patient.provisional:
                self.match_step.start(self.patient)
                self._go(MATCH)
            else:  # matched before; only its procedures are left to send
                self.options_step.load(self.patient.id)
                self._go(OPTIONS)
        elif step == MATCH and self.patient is not None:
            self.options_step.load(self.patient.id)
            self._go(OPTIONS)
        elif step == OPTIONS and self.patient is not None:
            self.options_step.store()
            provisional = self.patient.provisional
            match = self.match_step.match if provisional else None
            self.sync_step.start(
                self.patient.id, self.match_step.kept_id if provisional else None,
                match.name if match else self.patient.name,
                list(self.options_step.procedures), list(self.options_step.options))
            self._go(SYNC)

    def back(self) -> None:
        step = self.stack.currentIndex()
        if step == OPTIONS and self.patient is not None and self.patient.provisional:
            self._go(MATCH)
        elif step in (MATCH, OPTIONS):
            self.load_patients()
            self._go(PATIENTS)

    def remind_later(self) -> None:
        WriteOp(self.repo.remind_later).run(self.ctx.ops)
        self.reject()

    def sync_another(self) -> None:
        self.sync_step.stop()
        self.load_patients()
        self._go(PATIENTS)

    def done(self, result: int) -> None:
        self.sync_step.stop()
        super().done(result)

    # Step 1: patients -----------------------------------------------------------------
    def _patients_page(self) -> QWidget:
        page = QWidget()
        self.patient_list = QListWidget(objectName="offlinePatients")
        self.patient_list.currentItemChanged.connect(lambda *_: self._update_next())
        self.patient_list.itemDoubleClicked.connect(lambda *_: self.next())
        self.patients_empty = QLabel(
            "No offline images are waiting on this computer.", objectName="offlineEmpty")
        self.patients_empty.hide()
        v = QVBoxLayout(page)
        v.addWidget(QLabel("Patients with images acquired offline on this computer. "
                           "Select one patient, then Next."))
        v.addWidget(self.patient_list, 1)
        v.addWidget(self.patients_empty)
        return page

    def load_patients(self) -> None:
        viewer = self.ctx.viewer
        ReadOp(lambda: self.repo.waiting(viewer)).success(self._show_patients).failure(
            self._failed).run(self.ctx.ops)

    def _show_patients(self, patients: list[OfflinePatient]) -> None:
        self.patient_list.clear()
        for p in patients:
            item = QListWidgetItem(p.summary)
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.patient_list.addItem(item)
        self.patients_empty.setVisible(not patients)
        self.patient_list.setVisible(bool(patients))
        if patients:
            self.patient_list.setCurrentRow(0)
        self._update_next()

    # Messages -------------------------------------------------------------------------
    def _say(self, text: str, good: bool) -> None:
        self.message.setStyleSheet(GOOD_STYLE if good else ERROR_STYLE)
        self.message.setText(text)

    def _failed(self, exc: BaseException) -> None:
        self._say(str(exc), False)
        if self.stack.currentIndex() == SYNC:
            self.another_button.setEnabled(True)

