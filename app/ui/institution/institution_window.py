"""Practice ▸ Institution (administrators): the practice's clinic institution as labs
know it (its name and institution code), its settings (automatic review for connection
creation, the country it is in), and the labs' connection requests to approve or refuse.

The server keeps all of it (sync_agent.institution_service); this window asks on a
worker and shows the answers.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRegularExpression, QSize, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.platform.secrets import SecretStore
from app.ui.institution.dissolution_dialog import DissolutionBox
from app.ui.institution.migration_dialog import ReceiveDialog, SendDialog
from app.ui.institution.server_words import said
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp
from app.ui.widgets import plain_text
from app.ui.widgets.formatting import server_time
from app.ui.widgets.screen_fit import resize_to_fit
from sync_agent.dissolution_service import Dissolutions
from sync_agent.institution_service import InstitutionView
from sync_agent.migration_service import Migrations

STATES = {"pending": "Waiting for your answer", "approved": "Connected",
          "refused": "Refused"}
AUTO = "automatic review"




class InstitutionWindow(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None,  # noqa: PLR0915
                 secrets: SecretStore | None = None) -> None:
        super().__init__(parent)
        plain_text.install()  # names typed by labs are never markup
        self.ctx = ctx
        self.service = Dissolutions(ctx.store.db, secrets or SecretStore(),
                                    ctx.viewer.user_id,
                                    str(ctx.store.settings.get("practice_name") or ""))
        self.migrations = Migrations(ctx.store.db, secrets or SecretStore(), ctx.viewer.user_id)
        self.view: InstitutionView | None = None
        self.migration_dialog: QDialog | None = None
        self.setWindowTitle("Institution")
        self.setObjectName("institution")
        resize_to_fit(self, QSize(680, 560))

        self.message = QLabel("Asking the server…", objectName="message", wordWrap=True)
        self.name = QLabel(objectName="name")
        self.code = QLabel(objectName="code")
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info_box = QGroupBox("Clinic")
        info = QFormLayout(self.info_box)
        info.addRow("Name:", self.name)
        info.addRow("Institution code:", self.code)
        info.addRow(QLabel("A lab asks to connect with this code (or the clinic's name).",
                           wordWrap=True))

        self.auto_review = QCheckBox("Automatic review for connection creation",
                                     objectName="autoReview")
        self.region = QLineEdit(objectName="region", maxLength=2, placeholderText="e.g. DE")
        self.region.setValidator(QRegularExpressionValidator(QRegularExpression("[A-Za-z]{0,2}")))
        self.region.setToolTip("The country of the practice, as a two-letter code (ISO 3166). "
                               "Labs see it; data never moves to a clinic in another country.")
        self.region.setFixedWidth(60)
        self.submit = QPushButton("Submit", objectName="submit")
        self.submit.clicked.connect(self.save_settings)
        self.settings_box = QGroupBox("Institution settings")
        settings = QHBoxLayout(self.settings_box)
        settings.addWidget(self.auto_review, 1)
        country = QLabel("&Country:")
        country.setBuddy(self.region)
        settings.addWidget(country)
        settings.addWidget(self.region)
        settings.addWidget(self.submit)

        self.table = QTableWidget(0, 4, objectName="requests")
        self.table.setHorizontalHeaderLabels(["Lab", "Lab code", "State", "Received"])
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._selected)
        self.approve_button = QPushButton("Approve", objectName="approve")
        self.refuse_button = QPushButton("Refuse", objectName="refuse")
        self.approve_button.clicked.connect(lambda: self.answer(True))
        self.refuse_button.clicked.connect(lambda: self.answer(False))
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.refuse_button)
        self.requests_box = QGroupBox("Connection requests from labs")
        box = QVBoxLayout(self.requests_box)
        box.addWidget(self.table)
        box.addLayout(buttons)

        self.dissolution_box = DissolutionBox(ctx, self.service, self._show)
        self.receive_button = QPushButton("Rec&eive data from another clinic…",
                                          objectName="receiveData")
        self.send_button = QPushButton("Se&nd this clinic's data to another clinic…",
                                       objectName="sendData")
        self.receive_button.clicked.connect(
            lambda: self._open(ReceiveDialog(self.ctx, self.migrations, self)))
        self.send_button.clicked.connect(
            lambda: self._open(SendDialog(self.ctx, self.migrations, self)))
        self.migration_box = QGroupBox("Data migration")
        moves = QHBoxLayout(self.migration_box)
        moves.addWidget(self.receive_button)
        moves.addWidget(self.send_button)
        moves.addStretch()

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        refresh = close.addButton("Refresh", QDialogButtonBox.ButtonRole.ActionRole)
        refresh.clicked.connect(lambda: self.refresh())
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.info_box)
        layout.addWidget(self.settings_box)
        layout.addWidget(self.requests_box, 1)
        layout.addWidget(self.migration_box)  # before dissolving, as seed 000 advises
        layout.addWidget(self.dissolution_box)
        layout.addStretch()
        layout.addWidget(close)
        self._enable(False)
        self._selected()
        self.refresh()

    def _enable(self, shown: bool) -> None:
        for w in (self.info_box, self.settings_box, self.requests_box, self.dissolution_box):
            w.setVisible(shown)
        self.migration_box.setVisible(shown and bool(self.view and self.view.is_admin))

    def _open(self, dialog: QDialog) -> None:
        self.migration_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _run(self, work: Callable[[], InstitutionView], busy: str, note: str = "") -> None:
        self.message.setText(busy)
        for w in (self.submit, self.approve_button, self.refuse_button):
            w.setEnabled(False)
        ReadOp(work).success(lambda v: self._show(v, note)).failure(self._failed) \
            .run(self.ctx.ops)

    def _failed(self, exc: BaseException) -> None:
        self.message.setText(said(exc))
        self.submit.setEnabled(self.view is not None)
        self._selected()

    def refresh(self, note: str = "") -> None:
        self._run(self.service.show, "Asking the server…", note)

    def _show(self, view: InstitutionView, note: str = "") -> None:
        self.view = view
        self._enable(True)
        self.dissolution_box.show_view(view)
        self.name.setText(view.name)
        self.code.setText(view.code)
        self.auto_review.setChecked(view.auto_review)
        # Not set on the server yet: the practice's own setting, if it has one.
        self.region.setText(view.region or str(self.ctx.store.settings.get("country") or ""))
        self.settings_box.setEnabled(view.is_admin)
        self.submit.setEnabled(view.is_admin)
        self.table.setRowCount(len(view.requests))
        for row, r in enumerate(view.requests):
            state = STATES.get(r.state, r.state)
            if r.decided_by == AUTO:
                state += " (automatic review)"
            for col, text in enumerate((r.lab_name, r.lab_code, state, server_time(r.created_at))):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        waiting = sum(r.state == "pending" for r in view.requests)
        self.message.setText(note or (
            "No request is waiting for an answer." if not waiting else
            "1 request is waiting for your answer." if waiting == 1 else
            f"{waiting} requests are waiting for your answer."))
        self._selected()

    def _current(self) -> str:
        """The id of the selected request if it still waits for an answer."""
        row = self.table.currentRow()
        if self.view is None or not (0 <= row < len(self.view.requests)):
            return ""
        r = self.view.requests[row]
        return r.id if r.state == "pending" else ""

    def _selected(self) -> None:
        ok = bool(self._current()) and bool(self.view and self.view.is_admin)
        self.approve_button.setEnabled(ok)
        self.refuse_button.setEnabled(ok)

    def select_lab(self, lab_name: str) -> None:
        if self.view is not None:
            for row, r in enumerate(self.view.requests):
                if r.lab_name == lab_name:
                    self.table.selectRow(row)
                    return

    def answer(self, approve: bool) -> None:
        request_id = self._current()
        if not request_id or self.view is None:
            return
        lab = next(r.lab_name for r in self.view.requests if r.id == request_id)
        done = (f"{lab} is connected to the clinic." if approve else
                f"The request of {lab} was refused.")
        self._run(lambda: self.service.answer(request_id, approve),
                  "Approving…" if approve else "Refusing…", done)

    def save_settings(self) -> None:
        on, region = self.auto_review.isChecked(), self.region.text().strip().upper()
        if len(region) == 1:
            self.message.setText("The country is a two-letter code, such as DE or FR.")
            self.region.setFocus()
            return
        done = ("Automatic review is on: labs' requests are approved as they arrive."
                if on else "Automatic review is off: you approve each request.")
        settings = self.ctx.store.settings

        def work() -> InstitutionView:
            view = self.service.save_settings(on, region)
            if region:
                settings.set("country", region)
            return view

        self._run(work, "Saving…", done)
