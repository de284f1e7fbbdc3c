"""All repositories over one open database, as the app and the agent use them."""

from __future__ import annotations

from dataclasses import dataclass

from app.store.cases.cases_repo import CasesRepo
from app.store.cases.tickets_repo import TicketsRepo
from app.store.db import Database
from app.store.money.ledger_repo import LedgerRepo
from app.store.patients.merge_repo import MergeRepo
from app.store.patients.patients_repo import PatientsRepo
from app.store.patients.records_repo import RecordsRepo
from app.store.schedule.book_repo import BookRepo
from app.store.schedule.diary_repo import DiaryRepo
from app.store.settings_repo import SettingsRepo
from app.store.users.users_repo import UsersRepo


@dataclass(frozen=True)
class Store:
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
