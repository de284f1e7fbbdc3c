"""The main window: patients and diary, menus and shortcuts, remembered geometry."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

from app.core.agent_requests import RequestKind
from app.platform.build_id import build_id
from app.platform.paths import config_dir
from app.store.dto import UserRow
from app.ui.images.acquisition_status import AcquisitionStatus
from app.ui.patients.patient_dialog import PatientDialog
from app.ui.patients.patient_list_view import PatientListView
from app.ui.patients.patient_page import PatientPage
from app.ui.schedule.book_view import BookView
from app.ui.schedule.diary_view import DiaryView
from app.ui.shell.context import AppContext, ExternalChanges
from app.ui.shell.ops import ReadOp, WriteOp
from app.ui.sync.agent_status import AgentStatusWidget
from app.ui.widgets import plain_text
from app.ui.widgets.screen_fit import resize_to_fit

FIRST_SIZE = QSize(1100, 720)


def window_settings() -> QSettings:
    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    closed = Signal()
    # The File menu's sign out / switch user / practice database entries: the application
    # (which owns the database and who is signed in) carries them out.
    session = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        plain_text.install()  # text from other PCs and the portal is never markup
        self.ctx = ctx
        practice = ctx.store.settings.get("practice_name")
        self.setWindowTitle(f"Chairside — {practice}")
        self.setObjectName("mainWindow")
        self.patient_list = PatientListView(ctx)
        self.patient_page = PatientPage(ctx)
        self.patients = QStackedWidget(objectName="patientsStack")
        self.patients.addWidget(self.patient_list)
        self.patients.addWidget(self.patient_page)
        self.diary = DiaryView(ctx)
        self.tabs = QTabWidget(objectName="mainTabs")
        self.tabs.addTab(self.patients, "Patients")
        self.tabs.addTab(self.diary, "Diary")
        self.book = BookView(ctx)
        self.tabs.addTab(self.book, "Appointment book")
        self.setCentralWidget(self.tabs)

        self.patient_list.openPatient.connect(self.open_patient)
        self.patient_list.newPatient.connect(self.new_patient)
        self.patient_page.closed.connect(self.show_list)
        self.patient_page.gone.connect(self._patient_gone)
        ctx.ops.changed.connect(self._changed)
        ctx.ops.window = self  # where failures of work without a handler are told
        self.external = ExternalChanges(ctx.store, parent=self)
        self.external.changed.connect(self._changed)

        self.signed_out = False
        self._menus()
        self.agent_status = AgentStatusWidget(ctx)
        self.external.agentChanged.connect(self.agent_status.refresh)
        self._was_online: bool | None = None
        self.offline_wizard: QWidget | None = None
        self.offline_prompt: QWidget | None = None
        self.agent_status.statusChanged.connect(self._agent_status)
        self.patient_page.images_tab.acquisitionStarted.connect(self._acquiring_online)
        self.statusBar().addWidget(self.agent_status, 1)
        self.acquisition_status = AcquisitionStatus(ctx)
        self.acquisition_status.clicked.connect(self.unassigned_images)
        self.statusBar().addWidget(self.acquisition_status)
        if ctx.start_agent:
            QTimer.singleShot(500, self._start_agent_if_needed)
        # After the list's first rows (or a few seconds, should they never come): what
        # the notice imports would otherwise delay them.
        self.patient_list.model.rowsLoaded.connect(
            lambda: QTimer.singleShot(0, self._dissolved_notice),
            Qt.ConnectionType.SingleShotConnection)
        QTimer.singleShot(3000, self._dissolved_notice)
        self.signed_in = QLabel(
            f"Signed in as {ctx.user.display_name} ({ctx.user.role})", objectName="signedIn"
        )
        self.statusBar().addPermanentWidget(self.signed_in)
        # Within the screen, so that the status bar shows on a 1280×720 display too.
        resize_to_fit(self, FIRST_SIZE)
        geometry = window_settings().value("main/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)

    def _dissolved_notice(self) -> bool:
        # Imported once the window is up: it brings the agent's client and requests.
        from app.ui.institution.dissolution_dialog import show_dissolved_notice

        return show_dissolved_notice(self, self.ctx.store.db) is not None

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self.new_action = self._action(
            file, "&New patient…", self.new_patient, QKeySequence.StandardKey.New
        )
        file.addSeparator()
        for text, kind in (
            ("&Sign out", "sign_out"),
            ("S&witch user…", "switch_user"),
            (None, ""),
            ("&Open practice database…", "open_database"),
            ("New practice &database…", "new_database"),
            ("Switch &practice…", "switch_database"),
        ):
            if text is None:
                file.addSeparator()
                continue
            action = self._action(file, text, lambda _=False, k=kind: self.session.emit(k))
            action.setObjectName(kind)
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit = bar.addMenu("&Edit")
        self._action(edit, "&Find patient", self.find_patient, QKeySequence.StandardKey.Find)
        view = bar.addMenu("&View")
        self._action(view, "&Patients", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1")
        self._action(view, "&Diary", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2")
        self._action(view, "Appointment &book", lambda: self.tabs.setCurrentIndex(2), "Ctrl+3")
        self._action(
            view, "&Refresh", lambda: self._changed({"patients"}), QKeySequence.StandardKey.Refresh
        )
        images = bar.addMenu("&Images")
        self._action(images, "&Acquisition folder…", self.acquisition_folder)
        self._action(images, "&Unassigned images…", self.unassigned_images)
        images.addSeparator()
        self._action(images, "&Synchronize offline images…", self.sync_offline_images)
        self._action(images, "&Recovered images…", self.recovered_images)
        sync = bar.addMenu("&Sync")
        self._action(
            sync, "Synchronize &now", lambda: self._ask_agent(RequestKind.SYNC_NOW), "Ctrl+Shift+S"
        )
        self._action(
            sync,
            "Update &all patient data on the server now",
            lambda: self._ask_agent(RequestKind.UPDATE_ALL),
        )
        self._action(
            sync, "Send &failed changes again", lambda: self._ask_agent(RequestKind.RETRY_FAILED)
        )
        self._action(sync, "&Upload list…", self.show_upload_list, "Ctrl+U")
        self._action(sync, "&Database synchronization…", self.reconcile)
        sync.addSeparator()
        self._action(sync, "&Changes to review…", self.show_conflicts)
        self._action(sync, "&Notes from the server…", self.show_notes)
        if self.ctx.viewer.is_admin:
            sync.addSeparator()
            self.server_action = self._action(sync, "&Server…", self.show_server)
            practice = bar.addMenu("&Practice")
            self.users_action = self._action(practice, "&Users…", self.show_users)
            self._action(practice, "&Chairs…", self.show_chairs)
            self._action(practice, "&Working hours…", self.show_hours)
            self._action(practice, "&Institution…", self.show_institution)
            practice.addSeparator()
            self._action(practice, "New &recovery code…", self.new_recovery_code)
        tools = bar.addMenu("&Tools")
        self._action(tools, "&Data download…", self.show_data_download)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About Chairside", self.about)

    def new_recovery_code(self) -> None:
        from app.ui.shell.recovery_code_dialog import ask_new_code

        ask_new_code(self.ctx.ops, self.ctx.store.db, self,
                     self.ctx.store.settings.get("practice_name") or "")

    def _ask_agent(self, kind: RequestKind) -> None:
        repo = self.ctx.store.agent
        WriteOp(lambda: repo.request(kind)).success(
            lambda _: self.statusBar().showMessage("Asked the sync service.", 4000)
        ).run(self.ctx.ops)

    def reconcile(self) -> None:
        """Ask the agent to compare with the server; show its report when it is done."""
        from PySide6.QtWidgets import QProgressDialog

        repo = self.ctx.store.agent
        if not self.agent_status.status or not self.agent_status.status.running:
            QMessageBox.information(
                self, "Database synchronization", "The sync service is not running. Start it first."
            )
            return
        progress = QProgressDialog(
            "Comparing this computer's data with the server…", "Hide", 0, 0, self
        )
        progress.setWindowTitle("Database synchronization")
        progress.show()

        def wait(request_id: int) -> None:
            def check(result: str | None) -> None:
                if result is None:
                    if progress.isVisible():
                        QTimer.singleShot(1000, lambda: wait(request_id))
                    return
                progress.close()
                QMessageBox.information(self, "Database synchronization", result)

            ReadOp(lambda: repo.request_done(request_id)).success(check).run(self.ctx.ops)

        WriteOp(lambda: repo.request(RequestKind.RECONCILE)).success(wait).run(self.ctx.ops)

    def show_upload_list(self) -> None:
        from app.ui.sync.upload_list_dialog import UploadListDialog

        dialog = UploadListDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_conflicts(self) -> None:
        from app.ui.sync.conflicts_dialog import ConflictsDialog

        dialog = ConflictsDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.external.changed.connect(dialog.on_changed)
        dialog.open()

    def acquisition_folder(self) -> None:
        from app.ui.images.acquisition_folder_dialog import AcquisitionFolderDialog

        dialog = AcquisitionFolderDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def unassigned_images(self) -> None:
        """Attaching goes to the patient whose page is open, if any."""
        page = self.patient_page
        if self.patients.currentWidget() is page and page.patient is not None:
            page.images_tab.show_inbox()
            return
        from app.ui.images.unassigned_dialog import UnassignedDialog

        dialog = UnassignedDialog(self.ctx, None, "", self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _agent_status(self, status: Any) -> None:
        """When the connection returns, offer to send the images acquired offline."""
        came_back = status.online and self._was_online is not True
        self._was_online = status.online
        if came_back:
            self.offer_offline_sync()

    def _acquiring_online(self, _patient_id: str) -> None:
        """As at the chair: starting an acquisition while online reminds of the images
        acquired offline."""
        status = self.agent_status.status
        if status is not None and status.online:
            self.offer_offline_sync()

    def offer_offline_sync(self) -> None:
        """Ask "Synchronize now / Remind me later" if offline images wait here and the
        user did not say "later" today."""
        if self.offline_wizard is not None:
            return
        repo, viewer = self.ctx.store.offline_images, self.ctx.viewer
        ReadOp(lambda: repo.patients_to_offer(viewer)).success(
            self._offer_offline_sync).run(self.ctx.ops)

    def _offer_offline_sync(self, patients: int) -> None:
        if not patients or self.offline_wizard is not None or self.offline_prompt is not None:
            return
        from app.ui.images.offline_images_prompt import OfflineImagesPrompt

        prompt = OfflineImagesPrompt(self.ctx, patients, self)
        self.offline_prompt = prompt
        prompt.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        prompt.finished.connect(lambda _r: self._prompt_answered(prompt.wants_sync))
        prompt.open()

    def _prompt_answered(self, wants_sync: bool) -> None:
        self.offline_prompt = None
        if wants_sync:
            self.sync_offline_images()

    def sync_offline_images(self) -> None:
        from app.ui.images.offline_sync_wizard import OfflineSyncWizard

        if self.offline_wizard is not None:
            self.offline_wizard.raise_()
            return
        wizard = OfflineSyncWizard(self.ctx, self)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.finished.connect(self._wizard_closed)
        self.offline_wizard = wizard
        wizard.open()

    def _wizard_closed(self, _result: int) -> None:
        self.offline_wizard = None
        self._changed({"patients", "visits", "images"})

    def recovered_images(self) -> None:
        """Attaching goes to a record of the patient whose page is open."""
        from app.ui.images.recovered_images_dialog import RecoveredImagesDialog

        page = self.patient_page
        open_page = self.patients.currentWidget() is page and page.patient is not None
        pid = page.patient.id if open_page and page.patient else None
        name = page.patient.display_name if open_page and page.patient else ""
        dialog = RecoveredImagesDialog(self.ctx, pid, name, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_server(self) -> None:
        """The Server window: admins only (the menu entry exists only for them)."""
        from app.ui.server.server_window import ServerWindow

        dialog = ServerWindow(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.external.agentChanged.connect(dialog.on_external)
        dialog.open()

    def show_data_download(self) -> None:
        from app.ui.server.data_download_dialog import DataDownloadDialog

        dialog = DataDownloadDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_institution(self) -> None:
        from app.ui.institution.institution_window import InstitutionWindow

        dialog = InstitutionWindow(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_chairs(self) -> None:
        from app.ui.schedule.chairs_dialog import ChairsDialog

        dialog = ChairsDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_hours(self) -> None:
        from app.ui.schedule.hours_dialog import HoursDialog

        dialog = HoursDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_users(self) -> None:
        """The users window: admins only (the menu entry exists only for them)."""
        from app.ui.users.users_dialog import UsersDialog

        dialog = UsersDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.ctx.ops.changed.connect(dialog.on_changed)
        self.external.changed.connect(dialog.on_changed)
        self.users_dialog = dialog
        dialog.open()

    def _check_signed_in_user(self) -> None:
        """The signed-in user as he is now, after a change here or one arriving with a
        sync: disabled, or given another role, he is signed out; merged with his
        namesake from another PC or renamed, the session goes on as the user he is now
        (seeing what was made his on either PC)."""
        user = self.ctx.user

        def checked(now: UserRow | None) -> None:
            if self.signed_out:
                return
            if now is not None and now.active and now.role == user.role:
                if now != self.ctx.user:
                    self.ctx.user = now
                    self.signed_in.setText(f"Signed in as {now.display_name} ({now.role})")
                    self._changed({"patients", "visits", "appointments", "agreements"})
                return
            self.signed_out = True
            # Nothing more can be done as him; he is signed out once he has read why.
            self.tabs.setEnabled(False)
            self.menuBar().setEnabled(False)
            why = ("was disabled by an administrator" if now is None or not now.active else
                   "was given another role by an administrator")
            box = QMessageBox(
                QMessageBox.Icon.Information, "Signed out",
                f"{user.display_name} {why} and is signed out. Sign in again, or ask an "
                "administrator of the practice if this is a mistake.",
                QMessageBox.StandardButton.Ok, self)
            box.setObjectName("signedOutMessage")
            # Back to the sign-in dialog (the application carries it out, as File > Sign out).
            box.finished.connect(lambda _r: self.session.emit("sign_out"))
            self.signed_out_message = box
            box.open()

        ReadOp(lambda: self.ctx.store.users.get(user.id)).success(checked).run(self.ctx.ops)

    def _start_agent_if_needed(self) -> None:
        status = self.agent_status.status
        if status is None:
            QTimer.singleShot(500, self._start_agent_if_needed)
        elif not status.running:
            self.agent_status.start()
        elif status.build != build_id():
            self.agent_status.replace_other_build()

    # Navigation -----------------------------------------------------------------------
    def find_patient(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.show_list()
        self.patient_list.focus_search()

    def _patient_gone(self, why: str) -> None:
        self.show_list()
        self.statusBar().showMessage(why, 30000)

    def show_list(self) -> None:
        self.patients.setCurrentWidget(self.patient_list)

    def open_patient(self, patient_id: str) -> None:
        self.tabs.setCurrentIndex(0)
        self.patients.setCurrentWidget(self.patient_page)
        self.patient_page.open(patient_id)
        self._remind_notes(patient_id)

    def _remind_notes(self, patient_id: str) -> None:
        """Notes sent from the portal about this patient, not yet read here, pop up."""
        from app.ui.patients.notes_dialog import NoteReminder

        repo, viewer = self.ctx.store.notes, self.ctx.viewer

        def show(notes: list[Any]) -> None:
            if notes and self.patient_page.isVisible():
                self.reminder = NoteReminder(self.ctx, notes, self)
                self.reminder.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                self.reminder.open()

        ReadOp(lambda: repo.unread_for(viewer, patient_id)).success(show).run(self.ctx.ops)

    def show_notes(self) -> None:
        from app.ui.patients.notes_dialog import NotesDialog

        dialog = NotesDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.external.changed.connect(dialog.on_changed)
        dialog.open()

    def new_patient(self) -> None:
        dialog = PatientDialog(self.ctx, None, self)
        dialog.saved.connect(lambda p: self.open_patient(p.id))
        dialog.openExisting.connect(self.open_patient)
        dialog.open()

    def _changed(self, flags: set[str]) -> None:
        if flags & {"users", "external"}:
            self._check_signed_in_user()
        if "external" in flags and self._dissolved_notice():
            self.show_list()  # the clinic's purge arrived: the patient shown is gone
        self.patient_list.on_changed(flags)
        self.patient_page.on_changed(flags)
        self.diary.on_changed(flags)
        self.book.on_changed(flags)
        self.acquisition_status.refresh()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape and self.patients.currentWidget() is self.patient_page:
            self.show_list()
            return
        super().keyPressEvent(event)

    def about(self) -> None:
        QMessageBox.about(
            self, "About Chairside", "Chairside — dental practice software that works offline."
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        window_settings().setValue("main/geometry", self.saveGeometry())
        self.external.stop()
        self.agent_status.timer.stop()
        if self.ctx.ops.window is self:
            self.ctx.ops.window = None
        super().closeEvent(event)
        self.closed.emit()
