"""The Server window's "Web portal" group: the login, admin and general passwords,
the switches of patient pages, and a patient's own password. Network calls go through
the window's runner (off the UI thread); typed passwords are sent, then cleared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.store.dto import PatientFilter, PatientRow
from app.ui.server.server_dialogs import buttons, password_field
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp
from sync_agent.server_service import ServerAdmin

PORTAL_LABELS = {"login": "Login password", "admin": "Admin password",
                 "general": "General password for patient pages"}
Runner = Callable[[Callable[[], Any], Callable[[Any], None]], None]


class PatientPasswordDialog(QDialog):
    """A patient's own password for his page (empty: remove it)."""

    def __init__(self, patients: list[PatientRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("A patient's own password")
        self.patient = QComboBox(objectName="passwordPatient")
        for p in patients:
            card = f" (card {p.card_number})" if p.card_number else " (no card number)"
            self.patient.addItem(p.display_name + card, p.id)
        self.password = password_field("patientOwnPassword")
        self.password.setPlaceholderText("empty: remove the patient's password")
        form = QFormLayout(self)
        form.addRow("Patient", self.patient)
        form.addRow("Password", self.password)
        form.addRow(QLabel("The patient signs in with his card number and this password;\n"
                           "the general password no longer opens his page."))
        form.addRow(buttons(self))

    def select(self, patient_id: str) -> None:
        self.patient.setCurrentIndex(self.patient.findData(patient_id))


class PortalPanel(QGroupBox):
    def __init__(self, ctx: AppContext, admin: ServerAdmin, run: Runner,
                 say: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__("Web portal", parent)
        self.ctx = ctx
        self.admin = admin
        self.run = run
        self.say = say
        self.dialog: QDialog | None = None
        form = QFormLayout(self)
        self.fields: dict[str, QLineEdit] = {}
        self.status: dict[str, QLabel] = {}
        for kind, label in PORTAL_LABELS.items():
            field = password_field(f"{kind}Password")
            status = QLabel("", objectName=f"{kind}Status")
            button = QPushButton("Set", objectName=f"{kind}Set")
            button.clicked.connect(lambda _=False, k=kind: self.set_password(k))
            row = QHBoxLayout()
            row.addWidget(field, 1)
            row.addWidget(button)
            row.addWidget(status)
            form.addRow(label, row)
            self.fields[kind] = field
            self.status[kind] = status
        self.patient_pages = QCheckBox("Patient pages", objectName="patientPages")
        self.general_enabled = QCheckBox("Allow the general password",
                                         objectName="generalEnabled")
        self.patient_pages.clicked.connect(
            lambda on: self._switch(patient_pages_enabled=bool(on)))
        self.general_enabled.clicked.connect(
            lambda on: self._switch(general_password_enabled=bool(on)))
        self.general_enabled.setToolTip(
            "The general password opens only the pages of patients who have no password\n"
            "of their own; a patient with his own password signs in with it alone.")
        self.patient_button = QPushButton("A patient's own password…",
                                          objectName="patientPassword")
        self.patient_button.clicked.connect(self.patient_password)
        row = QHBoxLayout()
        row.addWidget(self.patient_pages)
        row.addWidget(self.general_enabled)
        row.addWidget(self.patient_button)
        form.addRow(row)
        form.addRow(QLabel("The general password opens only the pages of patients without "
                           "a password of their own.", objectName="generalScope"))
        # Someone guessing passwords is slowed by the server; the practice should know.
        self.failed_attempts = QLabel("", objectName="failedAttempts")
        self.failed_attempts.setWordWrap(True)
        self.failed_attempts.setVisible(False)
        form.addRow(self.failed_attempts)

    def show_settings(self, settings: dict[str, Any]) -> None:
        for kind, status in self.status.items():
            status.setText("set" if settings.get(f"{kind}_password_set") else "not set")
        self.patient_pages.setChecked(bool(settings.get("patient_pages_enabled")))
        self.general_enabled.setChecked(bool(settings.get("general_password_enabled")))
        failed = int(settings.get("failed_attempts_24h") or 0)
        self.failed_attempts.setText(
            f"Warning: {failed} wrong password{'s were' if failed != 1 else ' was'} tried on "
            "this practice's server in the last 24 hours (web portal sign-ins and the upload "
            "password). If that was not your staff, choose stronger passwords.")
        self.failed_attempts.setVisible(failed > 0)

    def set_password(self, kind: str) -> None:
        field = self.fields[kind]
        password = field.text()
        field.clear()
        if not password:
            self.say(f"Type the new {PORTAL_LABELS[kind].lower()} first.")
            return

        def done(settings: dict[str, Any]) -> None:
            self.show_settings(settings)
            self.say(f"{PORTAL_LABELS[kind]} saved on the server.")

        self.run(lambda: self.admin.set_portal_password(kind, password), done)

    def _switch(self, **switch: bool) -> None:
        def done(settings: dict[str, Any]) -> None:
            self.show_settings(settings)
            self.say("Saved on the server.")

        self.run(lambda: self.admin.set_switches(**switch), done)

    def patient_password(self) -> None:
        viewer = self.ctx.viewer

        def ask(patients: list[PatientRow]) -> None:
            dialog = PatientPasswordDialog(patients, self)
            self.dialog = dialog

            def send() -> None:
                pid, password = dialog.patient.currentData(), dialog.password.text() or None
                name = dialog.patient.currentText()
                dialog.password.clear()
                if pid:
                    self.run(lambda: self.admin.set_patient_password(str(pid), password),
                             lambda _r: self.say(f"Saved the page password of {name}."))

            dialog.accepted.connect(send)
            dialog.open()

        ReadOp(lambda: self.ctx.store.patients.search(viewer, PatientFilter(), limit=2000)) \
            .success(ask).run(self.ctx.ops)
