"""Imaging Data Synchronization: images acquired offline, one patient at a time.

Steps, as the clinic knows them: the patients with offline images; Patient Match
(the existing patient with the same name and date of birth, Edit to search for
another, or "this is a new patient"); Imaging Options (apply charges, bill to
insurance, provider — per procedure or applied to all); Synchronize (a green mark or
a red reason per procedure, "Sync the procedure again", and after a second failure
"Hide procedure", which keeps the images in the recovery folder of this computer).

The wizard never talks to the server itself: it posts the options, releases the
procedure's files to the sync agent and watches their upload rows. Each procedure is
sent in turn, so its mark belongs to its own files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.money import MoneyError, format_amount, parse_amount
from app.store.agent_repo import AgentRepo, AgentStatus
from app.store.dto import PatientFilter, PatientRow
from app.store.offline_images_repo import (
    Match,
    OfflineImagesRepo,
    OfflinePatient,
    Procedure,
    ProcedureOptions,
    ProcedureState,
    Provider,
)
from app.ui.context import AppContext
from app.ui.ops import ReadOp, WriteOp

STEPS = ("Patients", "Patient Match", "Imaging Options", "Synchronize")
POLL_MS = 500
OK, FAILED = "✔", "✖"


@dataclass
class _Run:
    """One procedure on the Synchronize step."""

    procedure: Procedure
    options: ProcedureOptions
    record_id: str | None = None
    state: str = "waiting"  # waiting, sending, done, failed, hidden
    failures: int = 0
    widgets: dict[str, Any] = field(default_factory=dict)


class OfflineSyncWizard(QDialog):
    finished_patient = Signal(str)  # the patient whose images were synchronized

    def __init__(self, ctx: AppContext, parent: QWidget | None = None,
                 repo: OfflineImagesRepo | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offlineSyncWizard")
        self.setWindowTitle("Imaging Data Synchronization")
        self.ctx = ctx
        self.repo = repo or OfflineImagesRepo(ctx.store.db)
        self.patient: OfflinePatient | None = None
        self.match: Match | None = None
        self.new_patient = False
        self.procedures: list[Procedure] = []
        self.options: list[ProcedureOptions] = []
        self.providers: list[Provider] = []
        self.runs: list[_Run] = []
        self.target_id: str | None = None
        self._current = -1  # the procedure on the options step
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check_sending)

        self.step_label = QLabel("", objectName="stepLabel")
        self.step_label.setStyleSheet("font-weight: bold;")
        self.stack = QStackedWidget(objectName="wizardSteps")
        self.stack.addWidget(self._patients_page())
        self.stack.addWidget(self._match_page())
        self.stack.addWidget(self._options_page())
        self.stack.addWidget(self._sync_page())
        self.message = QLabel("", objectName="wizardMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")

        self.later_button = QPushButton("Remind Me Later", objectName="remindLater")
        self.later_button.clicked.connect(self.remind_later)
        self.back_button = QPushButton("&Back", objectName="back")
        self.back_button.clicked.connect(self.back)
        self.next_button = QPushButton("&Next", objectName="next")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.next)
        self.another_button = QPushButton("Sync &Another Patient", objectName="syncAnother")
        self.another_button.clicked.connect(self.sync_another)
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
        self._go(0)
        self.load_patients()

    # Navigation -----------------------------------------------------------------------
    def _go(self, step: int) -> None:
        self.stack.setCurrentIndex(step)
        self.step_label.setText(f"Step {step + 1} of {len(STEPS)} — {STEPS[step]}")
        self.message.clear()
        self.later_button.setVisible(step < 3)
        self.back_button.setVisible(step in (1, 2))
        self.next_button.setVisible(step < 3)
        self.another_button.setVisible(step == 3)
        self.finish_button.setVisible(step in (0, 3))
        self._update_next()

    def _update_next(self) -> None:
        step = self.stack.currentIndex()
        if step == 0:
            ok = self.patient_list.currentItem() is not None
        elif step == 1:
            ok = self.new_patient or self.match is not None
        elif step == 2:
            ok = bool(self.procedures) and self.fee_error.isHidden()
        else:
            ok = False
        self.next_button.setEnabled(ok)

    def next(self) -> None:
        step = self.stack.currentIndex()
        if step == 0:
            item = self.patient_list.currentItem()
            if item is None:
                return
            self.patient = item.data(Qt.ItemDataRole.UserRole)
            assert self.patient is not None
            if self.patient.provisional:
                self._start_match()
                self._go(1)
            else:  # matched before; only its procedures are left to send
                self.match, self.new_patient = None, True
                self._load_procedures()
                self._go(2)
        elif step == 1:
            self._load_procedures()
            self._go(2)
        elif step == 2:
            self._store_options()
            self._start_sync()
            self._go(3)

    def back(self) -> None:
        step = self.stack.currentIndex()
        if step == 2 and self.patient is not None and self.patient.provisional:
            self._go(1)
        elif step in (1, 2):
            self.load_patients()
            self._go(0)

    def remind_later(self) -> None:
        WriteOp(self.repo.remind_later).run(self.ctx.ops)
        self.reject()

    def sync_another(self) -> None:
        self._poll.stop()
        self.runs = []
        self.load_patients()
        self._go(0)

    def done(self, result: int) -> None:
        self._poll.stop()
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

    # Step 2: Patient Match ------------------------------------------------------------
    def _match_page(self) -> QWidget:
        page = QWidget()
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
        self.search.textChanged.connect(self._search_later)
        self.results = QListWidget(objectName="matchResults")
        self.results.currentItemChanged.connect(self._picked)
        self.search_timer = QTimer(self, singleShot=True, interval=200)
        self.search_timer.timeout.connect(self._run_search)
        self.new_box = QCheckBox("This is a new patient — add them to the practice",
                                 objectName="newPatient")
        self.new_box.toggled.connect(self._new_toggled)
        v = QVBoxLayout(page)
        v.addWidget(self.offline_label)
        v.addWidget(box)
        v.addWidget(self.search)
        v.addWidget(self.results, 1)
        v.addWidget(self.new_box)
        return page

    def _start_match(self) -> None:
        assert self.patient is not None
        p, viewer = self.patient, self.ctx.viewer
        born = f", born {p.birth_date}" if p.birth_date else ""
        self.offline_label.setText(f"Offline patient: {p.name}{born}")
        self.match, self.new_patient = None, False
        self.new_box.setChecked(False)
        self.search.clear()
        self.results.clear()
        self.match_label.setText("Looking for a matching patient…")
        self._show_search(False)
        ReadOp(lambda: self.repo.candidates(viewer, p.id)).success(
            self._show_candidates).failure(self._failed).run(self.ctx.ops)

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
        self._update_next()

    def _choose(self, m: Match) -> None:
        self.match = m
        born = f", born {m.birth_date}" if m.birth_date else ""
        why = f" ({m.reason})" if m.reason else ""
        self.match_label.setText(f"{m.name}{born}{why}")
        if self.new_box.isChecked():
            self.new_box.setChecked(False)
        self._update_next()

    def _edit_match(self) -> None:
        self.match = None
        self.match_label.setText("Search for the right patient below.")
        self._show_search(True)
        self.search.setFocus()
        self._update_next()

    def _show_search(self, visible: bool) -> None:
        self.search.setVisible(visible)
        self.results.setVisible(visible)

    def _search_later(self) -> None:
        self.search_timer.start()

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
            born = f", born {r.birth_date}" if r.birth_date else ""
            item = QListWidgetItem(f"{r.display_name}{born}")
            item.setData(Qt.ItemDataRole.UserRole, r.id)
            self.results.addItem(item)

    def _picked(self, item: QListWidgetItem | None, _old: Any = None) -> None:
        if item is None:
            return
        pid, viewer = item.data(Qt.ItemDataRole.UserRole), self.ctx.viewer
        ReadOp(lambda: self.repo.match_of(viewer, pid)).success(self._choose).failure(
            self._failed).run(self.ctx.ops)

    def _new_toggled(self, on: bool) -> None:
        self.new_patient = on
        if on:
            self.match = None
            self.match_label.setText("None: this patient will be added as a new patient.")
        self._update_next()

    # Step 3: Imaging Options ----------------------------------------------------------
    def _options_page(self) -> QWidget:
        page = QWidget()
        self.procedure_list = QListWidget(objectName="procedures")
        self.procedure_list.currentRowChanged.connect(self._procedure_changed)
        self.apply_charges = QCheckBox("Apply charges", objectName="applyCharges")
        self.apply_charges.setToolTip("Cleared: a zero amount is posted for the procedure")
        self.fee = QLineEdit(objectName="fee", placeholderText="0.00")
        self.fee.textChanged.connect(self._fee_edited)
        self.fee_error = QLabel("", objectName="feeError")
        self.fee_error.setStyleSheet("color: #b00020;")
        self.fee_error.hide()
        self.bill_insurance = QCheckBox("Bill to insurance", objectName="billInsurance")
        self.provider = QComboBox(objectName="provider")
        self.apply_all = QPushButton("Apply Selected Options to All Procedures",
                                     objectName="applyToAll")
        self.apply_all.clicked.connect(self._apply_to_all)
        self.apply_charges.toggled.connect(self.fee.setEnabled)
        for w in (self.apply_charges, self.bill_insurance):
            w.toggled.connect(lambda *_: self._store_options())
        self.provider.currentIndexChanged.connect(lambda *_: self._store_options())
        form = QFormLayout()
        charges = QHBoxLayout()
        charges.addWidget(self.apply_charges)
        charges.addWidget(QLabel("Fee"))
        charges.addWidget(self.fee)
        form.addRow(charges)
        form.addRow(self.fee_error)
        form.addRow(self.bill_insurance)
        form.addRow("Provider", self.provider)
        form.addRow(self.apply_all)
        v = QVBoxLayout(page)
        v.addWidget(QLabel("Offline imaging procedures"))
        v.addWidget(self.procedure_list, 1)
        v.addLayout(form)
        return page

    def _load_procedures(self) -> None:
        assert self.patient is not None
        pid, viewer = self.patient.id, self.ctx.viewer
        self.procedure_list.clear()
        self.procedures, self.options = [], []

        def read() -> tuple[list[Procedure], list[Provider]]:
            return self.repo.procedures(viewer, pid), self.repo.providers()

        ReadOp(read).success(self._show_procedures).failure(self._failed).run(self.ctx.ops)

    def _show_procedures(self, found: tuple[list[Procedure], list[Provider]]) -> None:
        self.procedures, self.providers = found
        me = self.ctx.user.id
        default = ProcedureOptions(
            apply_charges=True, fee=0, bill_insurance=False,
            provider_id=me if any(p.id == me for p in self.providers) else None)
        self.options = [default for _ in self.procedures]
        self.provider.blockSignals(True)
        self.provider.clear()
        self.provider.addItem("No provider", None)
        for p in self.providers:
            self.provider.addItem(p.name, p.id)
        self.provider.blockSignals(False)
        self._current = -1
        for proc in self.procedures:
            self.procedure_list.addItem(proc.label)
        if self.procedures:
            self.procedure_list.setCurrentRow(0)
        else:
            self.message.setText("This patient has no offline images left to send.")
        self._update_next()

    def _procedure_changed(self, row: int) -> None:
        if 0 <= self._current < len(self.options):
            self._store_options()
        self._current = row
        if not 0 <= row < len(self.options):
            return
        o = self.options[row]
        for w in (self.apply_charges, self.bill_insurance, self.provider, self.fee):
            w.blockSignals(True)
        self.apply_charges.setChecked(o.apply_charges)
        self.fee.setEnabled(o.apply_charges)
        self.fee.setText(format_amount(o.fee) if o.fee else "")
        self.bill_insurance.setChecked(o.bill_insurance)
        self.provider.setCurrentIndex(max(0, self.provider.findData(o.provider_id)))
        for w in (self.apply_charges, self.bill_insurance, self.provider, self.fee):
            w.blockSignals(False)
        self._fee_edited()

    def _fee_edited(self) -> None:
        text = self.fee.text().strip()
        try:
            fee = parse_amount(text) if text else 0
            if fee < 0:
                raise MoneyError("A fee cannot be negative.")
        except MoneyError as exc:
            self.fee_error.setText(str(exc))
            self.fee_error.show()
        else:
            self.fee_error.hide()
            if 0 <= self._current < len(self.options):
                self.options[self._current] = replace(self.options[self._current], fee=fee)
        self._update_next()

    def _selected_options(self) -> ProcedureOptions:
        text = self.fee.text().strip()
        try:
            fee = max(0, parse_amount(text)) if text else 0
        except MoneyError:
            fee = self.options[self._current].fee if 0 <= self._current < len(self.options) else 0
        return ProcedureOptions(self.apply_charges.isChecked(), fee,
                                self.bill_insurance.isChecked(), self.provider.currentData())

    def _store_options(self) -> None:
        if 0 <= self._current < len(self.options):
            self.options[self._current] = self._selected_options()

    def _apply_to_all(self) -> None:
        chosen = self._selected_options()
        self.options = [chosen for _ in self.options]
        n = len(self.options)
        self.message.setStyleSheet("color: #1b5e20;")
        self.message.setText(f"The selected options now apply to all {n} procedures.")

    # Step 4: Synchronize --------------------------------------------------------------
    def _sync_page(self) -> QWidget:
        page = QWidget()
        self.sync_title = QLabel("", objectName="syncTitle")
        self.sync_rows = QWidget(objectName="syncRows")
        self.sync_scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.sync_rows)
        self.sync_summary = QLabel("", objectName="syncSummary")
        self.sync_summary.setWordWrap(True)
        v = QVBoxLayout(page)
        v.addWidget(self.sync_title)
        v.addWidget(scroll, 1)
        v.addWidget(self.sync_summary)
        return page

    def _start_sync(self) -> None:
        assert self.patient is not None
        # A fresh set of rows per patient (the scroll area deletes the old one).
        self.sync_rows = QWidget(objectName="syncRows")
        grid = QGridLayout()
        outer = QVBoxLayout(self.sync_rows)
        outer.addLayout(grid)
        outer.addStretch(1)
        self.sync_scroll.setWidget(self.sync_rows)
        self.sync_summary.clear()
        self.runs = [_Run(p, o) for p, o in zip(self.procedures, self.options, strict=True)]
        for i, run in enumerate(self.runs):
            mark = QLabel("…", objectName=f"procMark{i}")
            mark.setMinimumWidth(24)
            name = QLabel(run.procedure.label)
            bar = QProgressBar(objectName=f"procProgress{i}")
            bar.setRange(0, 100)
            state = QLabel("Waiting", objectName=f"procState{i}")
            state.setWordWrap(True)
            again = QPushButton("Sync the Procedure Again", objectName=f"syncAgain{i}")
            again.clicked.connect(lambda _=False, n=i: self._send(n))
            hide = QPushButton("Hide Procedure", objectName=f"hideProcedure{i}")
            hide.setToolTip("Move its images to the recovery folder on this computer")
            hide.clicked.connect(lambda _=False, n=i: self._hide(n))
            again.hide()
            hide.hide()
            for col, w in enumerate((mark, name, bar, state, again, hide)):
                grid.addWidget(w, i, col)
            run.widgets = {"mark": mark, "bar": bar, "state": state, "again": again,
                           "hide": hide}
        p, viewer = self.patient, self.ctx.viewer
        kept = None if self.new_patient else (self.match.id if self.match else None)
        procedures = list(self.procedures)
        who = self.match.name if self.match else p.name
        self.sync_title.setText(f"Synchronizing the images of {who}")
        self.another_button.setEnabled(False)
        WriteOp(lambda: self.repo.resolve(viewer, p.id, kept, procedures),
                {"patients", "visits", "images"}).success(self._resolved).failure(
            self._failed).run(self.ctx.ops)

    def _resolved(self, result: tuple[str, dict[str | None, str]]) -> None:
        self.target_id, records = result
        for run in self.runs:
            run.record_id = records.get(run.procedure.visit_id)
        self._send_next()

    def _send_next(self) -> None:
        """Procedures go one after another; the next starts when one has its mark."""
        if any(r.state == "sending" for r in self.runs):
            return
        waiting = [i for i, r in enumerate(self.runs) if r.state == "waiting"]
        if waiting:
            self._send(waiting[0])
        else:
            self._summarize()

    def _send(self, i: int) -> None:
        run = self.runs[i]
        if run.record_id is None:
            return
        run.state = "sending"
        self._show_run(i, "Sending…")
        viewer, record, shas, options = (self.ctx.viewer, run.record_id,
                                         run.procedure.shas, run.options)
        WriteOp(lambda: self.repo.sync_procedure(viewer, record, shas, options),
                {"visits"}).success(lambda _: self._poll.start()).failure(
            lambda exc: self._settle(run, ProcedureState("failed", str(exc), 0, 0))).run(
            self.ctx.ops)

    def _check_sending(self) -> None:
        sending = [r for r in self.runs if r.state == "sending"]
        if not sending:
            self._poll.stop()
            return
        agent = AgentRepo(self.ctx.store.db)
        for run in sending:
            shas = run.procedure.shas
            ReadOp(lambda s=shas: (self.repo.procedure_state(s), agent.status())).success(
                lambda found, r=run: self._settle(r, *found)).run(self.ctx.ops)

    def _settle(self, run: _Run, st: ProcedureState, agent: AgentStatus | None = None) -> None:
        if run not in self.runs or run.state != "sending":
            return  # an answer about a patient the wizard has left
        i = self.runs.index(run)
        bar = run.widgets["bar"]
        bar.setValue(100 if st.status == "done" else int(100 * st.sent / max(st.total, 1)))
        if st.status == "done":
            run.state = "done"
            self._show_run(i, "Synchronized")
        elif st.status == "failed":
            run.state = "failed"
            run.failures += 1
            self._show_run(i, f"Not synchronized: {st.reason}")
        else:
            if agent is not None and not agent.running:
                self._show_run(i, "Waiting: the sync service is not running (start it from "
                                  "the status bar).")
            elif agent is not None and not agent.online:
                self._show_run(i, "Waiting: no connection to the server; it goes as soon "
                                  "as the connection returns.")
            else:
                self._show_run(i, "Sending…")
            return
        self._send_next()

    def _show_run(self, i: int, text: str) -> None:
        run = self.runs[i]
        w = run.widgets
        w["state"].setText(text)
        if run.state == "done":
            w["mark"].setText(OK)
            w["mark"].setStyleSheet("color: #1b5e20; font-weight: bold;")
        elif run.state == "failed":
            w["mark"].setText(FAILED)
            w["mark"].setStyleSheet("color: #b00020; font-weight: bold;")
        elif run.state == "hidden":
            w["mark"].setText("—")
            w["mark"].setStyleSheet("")
        else:
            w["mark"].setText("…")
            w["mark"].setStyleSheet("")
        w["again"].setVisible(run.state == "failed")
        w["hide"].setVisible(run.state == "failed" and run.failures >= 2)
        w["bar"].setVisible(run.state in ("sending", "done", "waiting"))

    def _hide(self, i: int) -> None:
        run = self.runs[i]
        if run.state != "failed":
            return
        viewer, proc = self.ctx.viewer, run.procedure
        name = (self.match.name if self.match else self.patient.name) if self.patient else ""
        run.widgets["hide"].setEnabled(False)

        def hidden(folder: Any) -> None:
            run.state = "hidden"
            self._show_run(i, f"Hidden — its images are in the recovery folder: {folder}")
            self._summarize()

        def failed(exc: BaseException) -> None:
            run.widgets["hide"].setEnabled(True)
            self._failed(exc)

        WriteOp(lambda: self.repo.hide_procedure(viewer, proc, name),
                {"images"}).success(hidden).failure(failed).run(self.ctx.ops)

    def _summarize(self) -> None:
        if any(r.state in ("sending", "waiting") for r in self.runs):
            return
        done = sum(r.state == "done" for r in self.runs)
        failed = sum(r.state == "failed" for r in self.runs)
        hidden = sum(r.state == "hidden" for r in self.runs)
        parts = [f"{done} of {len(self.runs)} procedures synchronized"]
        if failed:
            parts.append(f"{failed} not synchronized (sync again, or hide)")
        if hidden:
            parts.append(f"{hidden} hidden to the recovery folder")
        self.sync_summary.setText("; ".join(parts) + ".")
        self.another_button.setEnabled(True)
        if self.target_id and not failed:
            self.finished_patient.emit(self.target_id)

    # Errors ---------------------------------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        self.message.setStyleSheet("color: #b00020;")
        self.message.setText(str(exc))
        if self.stack.currentIndex() == 3:
            self.another_button.setEnabled(True)


class OfflineImagesPrompt(QDialog):
    """Asked when the connection returns and offline images wait on this computer."""

    def __init__(self, ctx: AppContext, patients: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offlineImagesPrompt")
        self.setWindowTitle("Sync Offline Procedures")
        self.ctx = ctx
        self.wants_sync = False
        who = f"{patients} patient{'s' if patients != 1 else ''}"
        text = QLabel(
            f"This computer holds images acquired while offline ({who}). Synchronize "
            "them with the practice's records now?", objectName="promptText")
        text.setWordWrap(True)
        now = QPushButton("Synchronize Now", objectName="synchronizeNow")
        now.setDefault(True)
        now.clicked.connect(self._now)
        later = QPushButton("Remind Me Later", objectName="remindLater")
        later.setToolTip("Not asked again today on this computer")
        later.clicked.connect(self._later)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(later)
        bar.addWidget(now)
        v = QVBoxLayout(self)
        v.addWidget(text)
        v.addLayout(bar)

    def _now(self) -> None:
        self.wants_sync = True
        self.accept()

    def _later(self) -> None:
        repo = OfflineImagesRepo(self.ctx.store.db)
        WriteOp(repo.remind_later).run(self.ctx.ops)
        self.reject()
