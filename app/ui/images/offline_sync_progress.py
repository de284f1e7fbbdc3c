"""The wizard's Synchronize step: the patient resolved (merged or confirmed new), then
each procedure in turn — its options posted, its files released to the sync agent,
their upload rows watched — with a green mark or a red reason, "Sync the Procedure
Again", and after a second failure "Hide Procedure" (to the recovery folder).

The step never talks to the server itself; the agent does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.store.images.offline_procedures_repo import (
    Procedure,
    ProcedureOptions,
    ProcedureState,
)
from app.store.sync.agent_repo import AgentStatus
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp, WriteOp

POLL_MS = 500
MARKS = {  # state: (mark, style)
    "done": ("✔", "color: #1b5e20; font-weight: bold;"),
    "failed": ("✖", "color: #b00020; font-weight: bold;"),
    "hidden": ("—", ""),
}


@dataclass
class _Row:
    mark: QLabel
    bar: QProgressBar
    state: QLabel
    again: QPushButton
    hide: QPushButton


@dataclass
class _Run:
    """One procedure on this step."""

    procedure: Procedure
    options: ProcedureOptions
    row: _Row
    record_id: str | None = None
    state: str = "waiting"  # waiting, sending, done, failed, hidden
    failures: int = 0


class SyncStep(QWidget):
    idle = Signal(bool)  # True: nothing is being sent or waits its turn
    failed = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.repo = ctx, ctx.store.offline_procedures
        self.runs: list[_Run] = []
        self.patient_name = ""
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check_sending)
        self.sync_title = QLabel("", objectName="syncTitle")
        self.sync_rows = QWidget(objectName="syncRows")
        self.sync_scroll = QScrollArea()
        self.sync_scroll.setWidgetResizable(True)
        self.sync_scroll.setWidget(self.sync_rows)
        self.sync_summary = QLabel("", objectName="syncSummary")
        self.sync_summary.setWordWrap(True)
        v = QVBoxLayout(self)
        v.addWidget(self.sync_title)
        v.addWidget(self.sync_scroll, 1)
        v.addWidget(self.sync_summary)

    def stop(self) -> None:
        """Stop watching; what was released goes on in the agent."""
        self._poll.stop()
        self.runs = []

    def start(self, patient_id: str, kept_id: str | None, name: str,
              procedures: list[Procedure], options: list[ProcedureOptions]) -> None:
        """Merge into `kept_id` (None: confirm as new), then send procedure by procedure."""
        self.patient_name = name
        self.sync_title.setText(f"Synchronizing the images of {name}")
        self.sync_summary.clear()
        # A fresh set of rows per patient (the scroll area deletes the old one).
        self.sync_rows = QWidget(objectName="syncRows")
        grid = QGridLayout()
        outer = QVBoxLayout(self.sync_rows)
        outer.addLayout(grid)
        outer.addStretch(1)
        self.sync_scroll.setWidget(self.sync_rows)
        self.runs = [_Run(p, o, self._add_row(grid, i, p))
                     for i, (p, o) in enumerate(zip(procedures, options, strict=True))]
        self.idle.emit(False)
        viewer = self.ctx.viewer
        WriteOp(lambda: self.ctx.store.provisional.resolve(viewer, patient_id, kept_id, procedures),
                {"patients", "visits", "images"}).success(self._resolved).failure(
            self._resolve_failed).run(self.ctx.ops)

    def _add_row(self, grid: QGridLayout, i: int, procedure: Procedure) -> _Row:
        row = _Row(
            QLabel("…", objectName=f"procMark{i}"),
            QProgressBar(objectName=f"procProgress{i}"),
            QLabel("Waiting", objectName=f"procState{i}"),
            QPushButton("Sync the Procedure Again", objectName=f"syncAgain{i}"),
            QPushButton("Hide Procedure", objectName=f"hideProcedure{i}"),
        )
        row.mark.setMinimumWidth(24)
        row.bar.setRange(0, 100)
        row.state.setWordWrap(True)
        row.hide.setToolTip("Move its images to the recovery folder on this computer")
        row.again.clicked.connect(lambda _=False: self._send(self.runs[i]))
        row.hide.clicked.connect(lambda _=False: self._hide(self.runs[i]))
        row.again.hide()
        row.hide.hide()
        widgets = (row.mark, QLabel(procedure.label), row.bar, row.state, row.again, row.hide)
        for col, w in enumerate(widgets):
            grid.addWidget(w, i, col)
        return row

    def _resolve_failed(self, exc: BaseException) -> None:
        self.failed.emit(exc)
        self.idle.emit(True)

    def _resolved(self, result: tuple[str, dict[str | None, str]]) -> None:
        _target, records = result
        for run in self.runs:
            run.record_id = records.get(run.procedure.visit_id)
        self._send_next()

    def _send_next(self) -> None:
        """Procedures go one after another; the next starts when one has its mark."""
        if any(r.state == "sending" for r in self.runs):
            return
        waiting = [r for r in self.runs if r.state == "waiting"]
        if waiting:
            self._send(waiting[0])
        else:
            self._summarize()

    def _send(self, run: _Run) -> None:
        if run.record_id is None:
            return
        self._show(run, "sending", "Sending…")
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
        for run in sending:
            self._ask_state(run)

    def _ask_state(self, run: _Run) -> None:
        repo, agent, shas = self.repo, self.ctx.store.agent, run.procedure.shas
        ReadOp(lambda: (repo.procedure_state(shas), agent.status())).success(
            lambda found: self._settle(run, *found)).run(self.ctx.ops)

    def _settle(self, run: _Run, st: ProcedureState, agent: AgentStatus | None = None) -> None:
        if run not in self.runs or run.state != "sending":
            return  # an answer about a patient the wizard has left
        run.row.bar.setValue(100 if st.status == "done"
                             else int(100 * st.sent / max(st.total, 1)))
        if st.status == "done":
            self._show(run, "done", "Synchronized")
        elif st.status == "failed":
            run.failures += 1
            self._show(run, "failed", f"Not synchronized: {st.reason}")
        else:
            if agent is not None and not agent.running:
                text = ("Waiting: the sync service is not running (start it from the "
                        "status bar).")
            elif agent is not None and not agent.online:
                text = ("Waiting: no connection to the server; it goes as soon as the "
                        "connection returns.")
            else:
                text = "Sending…"
            run.row.state.setText(text)
            return
        self._send_next()

    def _show(self, run: _Run, state: str, text: str) -> None:
        run.state = state
        row = run.row
        row.state.setText(text)
        mark, style = MARKS.get(state, ("…", ""))
        row.mark.setText(mark)
        row.mark.setStyleSheet(style)
        row.again.setVisible(state == "failed")
        row.hide.setVisible(state == "failed" and run.failures >= 2)
        row.bar.setVisible(state in ("sending", "done", "waiting"))

    def _hide(self, run: _Run) -> None:
        if run.state != "failed":
            return
        viewer, proc, name = self.ctx.viewer, run.procedure, self.patient_name
        run.row.hide.setEnabled(False)

        def hidden(folder: Path) -> None:
            self._show(run, "hidden", f"Hidden — its images are in the recovery folder: "
                                      f"{folder}")
            self._summarize()

        def failed(exc: BaseException) -> None:
            run.row.hide.setEnabled(True)
            self.failed.emit(exc)

        WriteOp(lambda: self.ctx.store.offline_recovery.hide_procedure(viewer, proc, name),
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
        self.idle.emit(True)
