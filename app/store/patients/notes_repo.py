"""Notes sent from the web portal: the notes window's list, a patient's unread ones
for the reminder, and dismissing them on this PC (local, never synced)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.store import access
from app.store.db import Database
from app.store.dto import Viewer
from app.store.models import Note, NoteRead, Patient
from app.store.sync.outbox import utc_now_text


@dataclass(frozen=True, slots=True)
class NoteRow:
    id: str
    patient_id: str
    patient_name: str
    body: str
    author: str
    created_at: str  # ISO UTC
    read: bool


class NotesRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _query(self, viewer: Viewer) -> Any:
        return (
            select(Note, Patient.first_name, Patient.last_name, NoteRead.note_id)
            .join(Patient, Patient.id == Note.patient_id)
            .outerjoin(NoteRead, NoteRead.note_id == Note.id)
            .where(access.visible(viewer), Note.deleted.is_(False))
            .order_by(Note.created_at.desc(), Note.id.desc())
        )

    @staticmethod
    def _row(r: Any) -> NoteRow:
        note: Note = r[0]
        name = " ".join(x for x in (r[1], r[2]) if x)
        return NoteRow(note.id, note.patient_id, name, note.body, note.author or "",
                       note.created_at, r[3] is not None)

    def all(self, viewer: Viewer, limit: int = 1000) -> list[NoteRow]:
        """Every note of a patient the viewer may see, newest first."""
        with self.db.read() as s:
            return [self._row(r) for r in s.execute(self._query(viewer).limit(limit))]

    def unread_for(self, viewer: Viewer, patient_id: str) -> list[NoteRow]:
        """The patient's notes not yet dismissed on this PC (the reminder's content)."""
        q = self._query(viewer).where(Note.patient_id == patient_id,
                                      NoteRead.note_id.is_(None))
        with self.db.read() as s:
            return [self._row(r) for r in s.execute(q)]

    def mark_read(self, viewer: Viewer, note_ids: Iterable[str]) -> None:
        now = utc_now_text()
        with self.db.write() as s:
            for note_id in note_ids:
                if s.get(NoteRead, note_id) is None:
                    s.add(NoteRead(note_id=note_id, read_at=now, read_by=viewer.user_id))
