"""Merging duplicate patients by hand, from the patient kept, and undoing a merge.

A merge moves every record, appointment, agreement, payment, image, note and case
draft of the merged profiles to the kept patient — each move an ordinary change through
the ORM, so the outbox carries it to the cloud and the other PCs — and marks the
profiles merged into it (they stay; their old id resolves to the kept patient, here
through `access.family` and on the cloud through its aliases). The merge itself and
every row it moved, with the profile the row came from, are synced rows too, so that
any PC can undo it for `UNDO_DAYS`: each moved row still on the kept patient goes back.

A PC that was offline meanwhile loses nothing: a record it added to a merged profile
keeps that profile's id, which resolves to the kept patient everywhere; a detail it
edited on a moved row is another field than the one the merge changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from app.core import matching
from app.core.ids import new_id
from app.core.patient_rules import LABELS
from app.core.text import digits, display_name, fold
from app.store import access
from app.store.db import Database, WriteSession
from app.store.dto import PatientFilter, Viewer
from app.store.errors import NotFoundError, StoreError
from app.store.models import (
    Agreement,
    Appointment,
    LabCase,
    MergeMove,
    Note,
    Patient,
    PatientMerge,
    Payment,
    RecordImage,
    ScanTicket,
    Visit,
)
from app.store.patients import patient_search
from app.store.sync.outbox import utc_now_text

UNDO_DAYS = 30
LIMIT = 100
# What moves, in the words of the confirmation (entity name: model, label).
MOVED: dict[str, tuple[Any, str]] = {
    "visit": (Visit, "records"),
    "appointment": (Appointment, "appointments"),
    "payment": (Payment, "payments"),
    "agreement": (Agreement, "agreements"),
    "record_image": (RecordImage, "images"),
    "note": (Note, "notes"),
    "lab_case": (LabCase, "cases"),
    "scan_ticket": (ScanTicket, "scan tickets"),
}
# Merges made before draft cases became lab cases name them by their old entity.
OLD_NAME = ("case_draft", "lab_case")
# Details a clinician must not lose sight of: named before a merge when only a merged
# profile has them.
KEPT_APART = ("allergies", "diseases", "medications", "past_medical_history", "oral_habits",
              "note")
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class Similar:
    id: str
    name: str
    birth_date: str | None
    mobile: str | None
    email: str | None
    id_number: str | None
    reason: str  # why it is proposed; "" for a patient found by the search alone


@dataclass(frozen=True, slots=True)
class MergeRow:
    id: str
    kept_id: str
    merged_names: tuple[str, ...]
    merged_at: str
    moved: int
    undo_until: str  # ISO date


def _fields(p: Patient) -> dict[str, Any]:
    return {"first_name": p.first_name, "last_name": p.last_name, "birth_date": p.birth_date,
            "id_number": p.id_number, "mobile": p.mobile, "email": p.email}


def _similar(p: Patient, reason: str) -> Similar:
    return Similar(p.id, display_name(p.first_name, p.last_name), p.birth_date, p.mobile,
                   p.email, p.id_number, reason)


def _near(me: Patient) -> list[Any]:
    """Plain comparisons that narrow the candidates; matching decides in folded form."""
    near: list[Any] = [Patient.sort_key.like(f"{fold(me.last_name)}\x1f%")] \
        if fold(me.last_name) else []
    if me.birth_date:
        near.append(Patient.birth_date == me.birth_date)
    id_number = fold(me.id_number).replace(" ", "")
    if id_number:
        near.append(func.lower(func.replace(Patient.id_number, " ", "")) == id_number)
    phone = digits(me.mobile)
    if len(phone) >= matching.MIN_PHONE_DIGITS:
        near.append(Patient.phone_digits.contains(phone))
    if me.email and me.email.strip():
        near.append(func.lower(func.trim(Patient.email)) == me.email.strip().lower())
    return near


def _undo_until(merged_at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(merged_at) + dt.timedelta(days=UNDO_DAYS)


class MergeRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Finding ---------------------------------------------------------------------------
    def similar(self, viewer: Viewer, patient_id: str, query: str = "") -> list[Similar]:
        """Patients who may be the same person as this one, most alike first; with a
        query (name, phone, email, ID number), those the patient search finds, the alike
        among them first."""
        with self.db.read() as s:
            me = access.check(viewer, s.get(Patient, patient_id))
            if query.strip():
                found = patient_search.search(s, viewer, PatientFilter(query=query),
                                              limit=LIMIT)
                ids = [r.id for r in found]
                by_id = {p.id: p for p in s.scalars(select(Patient).where(Patient.id.in_(ids)))}
                rows = [by_id[i] for i in ids if i in by_id]
            else:
                near = _near(me)
                if not near:
                    return []
                rows = list(s.scalars(
                    select(Patient).where(access.visible(viewer), or_(*near))
                    .order_by(Patient.sort_key, Patient.num).limit(LIMIT * 2)))
            mine = _fields(me)
            ranked = []
            for n, p in enumerate(rows):
                if p.id == me.id or p.provisional:
                    continue
                strength = matching.likeness(mine, _fields(p))
                if strength or query.strip():
                    ranked.append((-strength, n, p, strength))
            ranked.sort(key=lambda t: (t[0], t[1]))
            return [_similar(p, matching.REASONS.get(k, "")) for _, _, p, k in ranked][:LIMIT]

    def preview(self, viewer: Viewer, kept_id: str, merged_ids: Sequence[str]) -> dict[str, int]:
        """How many of each kind of row a merge would move: {label: count}."""
        with self.db.read() as s:
            self._check(s, viewer, kept_id, merged_ids)
            out: dict[str, int] = {}
            for model, label in MOVED.values():
                stmt = select(func.count()).select_from(model).where(
                    model.patient_id.in_(list(merged_ids)))
                if hasattr(model, "deleted"):
                    stmt = stmt.where(model.deleted.is_(False))
                out[label] = int(s.execute(stmt).scalar_one())
            return out

    def left_behind(
        self, viewer: Viewer, kept_id: str, merged_ids: Sequence[str]
    ) -> list[tuple[str, str, str]]:
        """Clinical details of the merged profiles that the kept patient does not have:
        (profile's name, field's label, value). They stay on the merged profile, so the
        second confirmation names them for the user to copy what matters."""
        with self.db.read() as s:
            merged = self._check(s, viewer, kept_id, merged_ids)
            kept = s.get(Patient, kept_id)
            out = []
            for p in merged:
                for name in KEPT_APART:
                    value = (getattr(p, name) or "").strip()
                    if value and fold(value) not in fold(getattr(kept, name)):
                        out.append((display_name(p.first_name, p.last_name), LABELS[name],
                                    value))
            return out

    # Merging ---------------------------------------------------------------------------
    def merge(
        self, viewer: Viewer, kept_id: str, merged_ids: Sequence[str],
        progress: Progress | None = None,
    ) -> str:
        """Merge the profiles into the kept patient; returns the merge's id."""
        merged_ids = list(dict.fromkeys(merged_ids))
        with self.db.write() as s:
            merged = self._check(s, viewer, kept_id, merged_ids)
            moving: list[tuple[str, Any, Patient]] = []
            for n, p in enumerate(merged):
                if progress:
                    progress(n, len(merged), display_name(p.first_name, p.last_name))
                for entity, (model, _label) in MOVED.items():
                    stmt = select(model).where(model.patient_id == p.id)
                    if hasattr(model, "deleted"):
                        stmt = stmt.where(model.deleted.is_(False))
                    rows: list[Any] = list(s.scalars(stmt))
                    moving.extend((entity, row, p) for row in rows)
            m = PatientMerge(id=new_id(), kept_id=kept_id, merged_ids=" ".join(merged_ids),
                             merged_at=utc_now_text(), merged_by=viewer.user_id,
                             moved=len(moving))
            s.add(m)
            for entity, row, p in moving:
                row.patient_id = kept_id
                s.add(MergeMove(merge_id=m.id, row_entity=entity, row_id=row.id,
                                from_patient_id=p.id))
            for p in merged:
                p.merged_into = kept_id
            if progress:
                progress(len(merged), len(merged), "")
            return m.id

    def _check(
        self, s: Any, viewer: Viewer, kept_id: str, merged_ids: Iterable[str]
    ) -> list[Patient]:
        kept = access.check(viewer, s.get(Patient, kept_id))
        if kept.merged_into:
            raise StoreError("This patient was merged into another meanwhile.")
        merged_ids = list(merged_ids)
        if not merged_ids:
            raise StoreError("Pick the patients to merge into this one.")
        out = []
        for pid in merged_ids:
            p = access.check(viewer, s.get(Patient, pid))
            if p.id == kept.id:
                raise StoreError("A patient can not be merged into himself.")
            if p.merged_into:
                raise StoreError(
                    f"{display_name(p.first_name, p.last_name)} was already merged into "
                    "another patient.")
            out.append(p)
        return out

    # Undoing ---------------------------------------------------------------------------
    def merges(self, viewer: Viewer, kept_id: str) -> list[MergeRow]:
        """The merges into this patient that can still be undone, newest first."""
        now = dt.datetime.now(dt.UTC)
        with self.db.read() as s:
            access.check(viewer, s.get(Patient, kept_id))
            rows = list(s.scalars(
                select(PatientMerge).where(PatientMerge.kept_id == kept_id,
                                           PatientMerge.undone_at.is_(None),
                                           PatientMerge.deleted.is_(False))
                .order_by(PatientMerge.merged_at.desc(), PatientMerge.id.desc())))
            out = []
            for m in rows:
                until = _undo_until(m.merged_at)
                if until < now:
                    continue
                ids = m.merged_ids.split()
                names = {p.id: display_name(p.first_name, p.last_name)
                         for p in s.scalars(select(Patient).where(Patient.id.in_(ids)))}
                moved = s.execute(select(func.count()).select_from(MergeMove)
                                  .where(MergeMove.merge_id == m.id)).scalar_one()
                out.append(MergeRow(m.id, m.kept_id, tuple(names.get(i, "?") for i in ids),
                                    m.merged_at, int(moved), until.date().isoformat()))
            return out

    def undo(self, viewer: Viewer, merge_id: str) -> int:
        """Put every row the merge moved back on its profile (those still on the kept
        patient) and the profiles back in the list; returns how many rows went back."""
        with self.db.write() as s:
            m = s.get(PatientMerge, merge_id)
            if m is None or m.deleted:
                raise NotFoundError("That merge does not exist.")
            access.check(viewer, s.get(Patient, m.kept_id))
            if m.undone_at:
                raise StoreError("This merge was already undone.")
            if _undo_until(m.merged_at) < dt.datetime.now(dt.UTC):
                raise StoreError(f"A merge can only be undone within {UNDO_DAYS} days.")
            if not _arrived(s, m):
                raise StoreError("Not everything this merge moved has reached this computer"
                                 " yet. Synchronize, then undo it again.")
            back = _move_back(s, m)
            for p in s.scalars(select(Patient).where(Patient.id.in_(m.merged_ids.split()))):
                if p.merged_into == m.kept_id:
                    p.merged_into = None
            m.undone_at = utc_now_text()
            m.undone_by = viewer.user_id
            return back


def _move_back(s: WriteSession, m: PatientMerge) -> int:
    back = 0
    moves = list(s.scalars(select(MergeMove).where(MergeMove.merge_id == m.id,
                                                   MergeMove.deleted.is_(False))))
    for entity, (model, _label) in MOVED.items():
        mine = {mv.row_id: mv.from_patient_id for mv in moves
                if mv.row_entity == entity or (mv.row_entity, entity) == OLD_NAME}
        if not mine:
            continue
        ids = list(mine)
        for i in range(0, len(ids), 500):
            rows: list[Any] = list(s.scalars(select(model).where(model.id.in_(ids[i:i + 500]))))
            for row in rows:
                # A row moved on since (another merge, a correction) stays where it is.
                if row.patient_id == m.kept_id:
                    row.patient_id = mine[row.id]
                    back += 1
    return back


def _arrived(s: WriteSession, m: PatientMerge) -> bool:
    """Whether every row the merge moved, and its marks on the merged profiles, are here:
    an undo made with part of them would leave the rest on the kept patient."""
    if m.moved is not None:
        here = s.execute(select(func.count()).select_from(MergeMove)
                         .where(MergeMove.merge_id == m.id)).scalar_one()
        if here < m.moved:
            return False
    ids = m.merged_ids.split()
    marked = s.execute(select(func.count()).select_from(Patient).where(
        Patient.id.in_(ids), Patient.merged_into.is_not(None))).scalar_one()
    return bool(marked == len(ids))
