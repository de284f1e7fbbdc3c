"""Plain frozen records that leave the store; safe to hand to any thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.store.schedule.dto import Proposal


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: an admin sees every patient, a member only his own."""

    user_id: str
    is_admin: bool
    name: str = ""
    # Ids of the same user made on other PCs and merged into this one: what they were
    # made responsible for is his too.
    aliases: tuple[str, ...] = ()

    @property
    def owner_ids(self) -> tuple[str, ...]:
        return (self.user_id, *self.aliases)


@dataclass(frozen=True, slots=True)
class UserRow:
    id: str
    username: str
    display_name: str
    role: str
    active: bool = True
    aliases: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def viewer(self) -> Viewer:
        return Viewer(self.id, self.is_admin, self.display_name, self.aliases)


@dataclass(frozen=True, slots=True)
class MergedUser:
    """A user made on two PCs with the same name, now one: shown to the admin, who can
    split them again when they were two people."""

    id: str
    username: str
    display_name: str
    kept_id: str
    kept_display_name: str


@dataclass(frozen=True, slots=True)
class PatientFilter:
    query: str = ""
    gender: str | None = None
    case_type: str | None = None
    visit_from: str | None = None  # ISO dates, inclusive
    visit_to: str | None = None
    sort: str = "name"  # "name", "-name", "birth_date", "-birth_date"

    @property
    def has_filters(self) -> bool:
        return bool(self.gender or self.case_type or self.visit_from or self.visit_to)


@dataclass(frozen=True, slots=True)
class PatientRow:
    id: str
    num: int
    first_name: str
    last_name: str
    gender: str
    birth_date: str | None
    mobile: str | None
    email: str | None
    card_number: str | None
    sort_key: str

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True, slots=True)
class PatientDetail:
    id: str
    fields: dict[str, object] = field(default_factory=dict)
    updated_at: str | None = None
    provisional: bool = False

    def get(self, name: str) -> object:
        return self.fields.get(name)

    @property
    def display_name(self) -> str:
        first = str(self.fields.get("first_name") or "")
        last = str(self.fields.get("last_name") or "")
        return " ".join(p for p in (first, last) if p)


@dataclass(frozen=True, slots=True)
class VisitRow:
    id: str
    patient_id: str
    visit_date: str
    name: str | None
    procedure: str | None
    amount_paid: Decimal | None
    notes: str | None
    next_visit_date: str | None
    next_visit_minutes: int | None
    patient_name: str = ""
    charge: Decimal | None = None  # posted by the offline-images wizard
    bill_insurance: bool | None = None


@dataclass(frozen=True, slots=True)
class AppointmentRow:
    id: str
    patient_id: str
    starts_at: str
    duration_minutes: int
    reason: str | None
    status: str
    patient_name: str = ""


@dataclass(frozen=True, slots=True)
class AgreementRow:
    id: str
    patient_id: str
    title: str | None
    total: Decimal
    discount: Decimal
    tax: Decimal
    paid: Decimal
    remaining: Decimal
    expires_on: str | None
    expired: bool


@dataclass(frozen=True, slots=True)
class DiaryPayment:
    """A valid payment taken on the diary's day (against an agreement or not)."""

    id: str
    patient_id: str
    patient_name: str
    agreement_title: str | None
    amount: Decimal
    method: str | None = None
    taken_by_name: str = ""


@dataclass(frozen=True, slots=True)
class DiaryDay:
    date: str
    visits: list[VisitRow]
    appointments: list[AppointmentRow]
    total_paid: Decimal  # the visits' amounts paid and the payments listed, nothing else
    patient_count: int
    payments: list[DiaryPayment] = field(default_factory=list)
    # Records' next visits due that day without an appointment yet.
    next_visits: list[Proposal] = field(default_factory=list)
