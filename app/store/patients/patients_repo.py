"""Patients: create, change, read — every call checks who is asking."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from app.core.patient_rules import ValidationError, clean_patient
from app.core.wire import ENTITIES
from app.store import access
from app.store.db import Database
from app.store.dto import PatientDetail, PatientFilter, PatientRow, Viewer
from app.store.errors import PermissionDeniedError
from app.store.models import Patient
from app.store.patients import patient_matches, patient_search, surname_suggestions

EDITABLE = tuple(
    name
    for name in ENTITIES["patient"].fields
    if name not in ("deleted", "merged_into", "provisional")
)


def _detail(p: Patient) -> PatientDetail:
    return PatientDetail(
        id=p.id,
        fields={name: getattr(p, name) for name in ENTITIES["patient"].fields},
        updated_at=p.updated_at,
        provisional=p.provisional,
    )


class PatientsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def search(
        self,
        viewer: Viewer,
        f: PatientFilter,
        *,
        limit: int = patient_search.PAGE,
        offset: int = 0,
    ) -> list[PatientRow]:
        if patient_search.is_fast(f):  # every keystroke in the search box
            with self.db.driver_read() as conn:
                return patient_search.fast_search(conn, viewer, f, limit=limit, offset=offset)
        with self.db.read() as s:
            return patient_search.search(s, viewer, f, limit=limit, offset=offset)

    def count(self, viewer: Viewer, f: PatientFilter) -> int:
        # Not on the keystrokes' connections (Database.driver_read): a count reads whole
        # buckets, whose pages would push the next keystroke's out of their cache.
        with self.db.read() as s:
            return patient_search.count(s, viewer, f)

    def suggest_surnames(self, viewer: Viewer, query: str) -> list[str]:
        """Surnames of patients this viewer sees one typing slip from `query`, for a
        search that found nobody ("Did you mean …?")."""
        with self.db.read() as s:
            return surname_suggestions.suggest(s, viewer, query)

    def get(self, viewer: Viewer, patient_id: str) -> PatientDetail:
        with self.db.read() as s:
            return _detail(access.check(viewer, s.get(Patient, patient_id)))

    def create(
        self,
        viewer: Viewer,
        data: dict[str, Any],
        *,
        today: dt.date | None = None,
        provisional: bool = False,
    ) -> PatientDetail:
        fields = clean_patient(data, today)
        if not viewer.is_admin:
            # A member's new patient is his own; he cannot hand it to somebody else.
            fields["responsible_user_id"] = viewer.user_id
        elif not fields.get("responsible_user_id"):
            fields["responsible_user_id"] = viewer.user_id
        with self.db.write() as s:
            p = Patient(**{k: v for k, v in fields.items() if k in EDITABLE})
            p.provisional = provisional
            s.add(p)
            s.flush()
            return _detail(p)

    def update(
        self,
        viewer: Viewer,
        patient_id: str,
        data: dict[str, Any],
        *,
        today: dt.date | None = None,
    ) -> PatientDetail:
        fields = clean_patient(data, today)
        if "responsible_user_id" in fields and not viewer.is_admin:
            raise PermissionDeniedError("Only an administrator can change the responsible doctor.")
        with self.db.write() as s:
            p = access.check(viewer, s.get(Patient, patient_id))
            for name, value in fields.items():
                if name in EDITABLE and getattr(p, name) != value:
                    setattr(p, name, value)
            s.flush()
            return _detail(p)

    def possible_duplicates(
        self, viewer: Viewer, data: dict[str, Any], *, exclude_id: str | None = None
    ) -> list[patient_matches.Match]:
        """Patients already on file who may be the person `data` describes, strongest
        first; none while the details do not validate (saving will say why)."""
        try:
            fields = clean_patient(data)
        except ValidationError:
            return []
        with self.db.read() as s:
            return patient_matches.find(s, viewer, fields, exclude_id=exclude_id)

    def tombstone(self, viewer: Viewer, patient_id: str) -> None:
        with self.db.write() as s:
            p = access.check(viewer, s.get(Patient, patient_id))
            p.deleted = True

    def case_types(self, viewer: Viewer) -> list[str]:
        """Every case type in use among the patients this viewer sees."""
        with self.db.read() as s:
            stmt = select(Patient.case_types).where(access.visible(viewer))
            stmt = stmt.where(Patient.case_types.is_not(None)).distinct()
            found: dict[str, str] = {}  # one spelling per type, whatever the case
            for (value,) in s.execute(stmt):
                for t in (t.strip() for t in (value or "").split(",")):
                    if t:
                        found.setdefault(t.casefold(), t)
            return sorted(found.values(), key=str.casefold)
