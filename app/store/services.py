"""All repositories over one open database, as the app and the agent use them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from app.store.cases.cases_repo import CasesRepo
from app.store.cases.tickets_repo import TicketsRepo
from app.store.db import Database
from app.store.images.acquisition_repo import AcquisitionRepo
from app.store.images.images_repo import ImagesRepo
from app.store.images.offline_images_repo import OfflineImagesRepo
from app.store.images.offline_procedures_repo import OfflineProceduresRepo
from app.store.images.offline_recovery_repo import OfflineRecoveryRepo
from app.store.money.ledger_repo import LedgerRepo
from app.store.patients.merge_repo import MergeRepo
from app.store.patients.notes_repo import NotesRepo
from app.store.patients.patients_repo import PatientsRepo
from app.store.patients.provisional_repo import ProvisionalRepo
from app.store.patients.records_repo import RecordsRepo
from app.store.schedule.book_repo import BookRepo
from app.store.schedule.diary_repo import DiaryRepo
from app.store.settings_repo import SettingsRepo
from app.store.sync.agent_repo import AgentRepo
from app.store.sync.conflicts_repo import ConflictsRepo
from app.store.sync.unapplied_repo import UnappliedRepo
from app.store.sync.upload_list_repo import UploadListRepo
from app.store.users.users_repo import UsersRepo


@dataclass(frozen=True)
class Store:
    """The one way the screens reach the database: every repository over `db`.

    The repositories hold no state of their own beyond `db` (and the image store), so
    one of each serves every thread. Those over the image store are built on first
    use, once the database's image key is known (`Database.image_key`, set by
    `open_database` after the store's tables are migrated).
    """

    db: Database
    patients: PatientsRepo
    records: RecordsRepo
    diary: DiaryRepo
    users: UsersRepo
    settings: SettingsRepo
    book: BookRepo
    ledger: LedgerRepo
    merges: MergeRepo
    tickets: TicketsRepo
    cases: CasesRepo

    @classmethod
    def over(cls, db: Database) -> Store:
        return cls(
            db,
            PatientsRepo(db),
            RecordsRepo(db),
            DiaryRepo(db),
            UsersRepo(db),
            SettingsRepo(db),
            BookRepo(db),
            LedgerRepo(db),
            MergeRepo(db),
            TicketsRepo(db),
            CasesRepo(db),
        )

    @cached_property
    def notes(self) -> NotesRepo:
        return NotesRepo(self.db)

    @cached_property
    def agent(self) -> AgentRepo:
        return AgentRepo(self.db)

    @cached_property
    def upload_list(self) -> UploadListRepo:
        return UploadListRepo(self.db)

    @cached_property
    def conflicts(self) -> ConflictsRepo:
        return ConflictsRepo(self.db)

    @cached_property
    def unapplied(self) -> UnappliedRepo:
        return UnappliedRepo(self.db)

    @cached_property
    def images(self) -> ImagesRepo:
        return ImagesRepo(self.db)

    @cached_property
    def acquisition(self) -> AcquisitionRepo:
        return AcquisitionRepo(self.db, self.images.files)

    @cached_property
    def provisional(self) -> ProvisionalRepo:
        return ProvisionalRepo(self.db)

    @cached_property
    def offline_images(self) -> OfflineImagesRepo:
        return OfflineImagesRepo(self.db)

    @cached_property
    def offline_procedures(self) -> OfflineProceduresRepo:
        return OfflineProceduresRepo(self.db, self.images.files)

    @cached_property
    def offline_recovery(self) -> OfflineRecoveryRepo:
        return OfflineRecoveryRepo(self.db, self.images.files)
