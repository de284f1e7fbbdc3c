"""Provisional patients: created on this PC while working offline, then matched by a
person (the offline-images wizard) with an existing patient and merged into it, or
confirmed as new. See app.store.images.offline_images_repo for the whole flow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from app.store import access
from app.store.db import Database, WriteSession
from app.store.dto import Viewer
from app.store.errors import NotFoundError, StoreError
from app.store.images.offline_procedures_repo import Procedure
from app.store.models import Agreement, Appointment, Note, Patient, RecordImage, Visit
from app.store.patients import patient_matches
from app.store.patients.patient_matches import Match, fields_of, match_of
from app.store.settings_repo import SettingsRepo
from app.store.sync.agent_repo import AgentRepo

LOOSE_RECORD_NAME = "Offline images"
_MOVED: tuple[Any, ...] = (Visit, Appointment, Agreement, Note, RecordImage)


class ProvisionalRepo:
    """Thread-safe; call it off the UI thread."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def working_offline(self) -> bool:
        """A server is set up for this database and the agent cannot reach it (or is not
        running): a patient created now is provisional. With no server at all there is
        nothing to match against, so patients are ordinary."""
        if not SettingsRepo(self.db).get("server_url"):
            return False
        return not AgentRepo(self.db).status().online

    def candidates(self, viewer: Viewer, patient_id: str) -> list[Match]:
        """Existing patients the offline one may be, strongest first."""
        with self.db.read() as s:
            p = access.check(viewer, s.get(Patient, patient_id))
            return patient_matches.find(s, viewer, fields_of(p), exclude_id=p.id)

    def match_of(self, viewer: Viewer, patient_id: str) -> Match:
        """A patient picked by search, shown as the chosen match."""
        with self.db.read() as s:
            p = access.check(viewer, s.get(Patient, patient_id))
            if p.merged_into:
                raise NotFoundError("That patient was merged into another one.")
            return match_of(p, "")

    def resolve(
        self, viewer: Viewer, patient_id: str, kept_id: str | None,
        procedures: Iterable[Procedure] = (),
    ) -> tuple[str, dict[str | None, str]]:
        """Merge the provisional patient into `kept_id`, or (None) confirm it as new.

        Returns the id the records now live under and, for each procedure, the record
        that holds it (images in no record are filed into a new one, named so)."""
        procedures = list(procedures)
        with self.db.write() as s:
            p = access.check(viewer, s.get(Patient, patient_id))
            if p.merged_into or (kept_id is not None and not p.provisional):
                raise StoreError("This patient was already matched on this computer.")
            target = p
            if kept_id is not None:
                target = access.check(viewer, s.get(Patient, kept_id))
                if target.id == p.id or target.merged_into:
                    raise StoreError("Choose another patient to match with.")
                _move_rows(s, p.id, target.id)
                p.merged_into = target.id
            if p.provisional:
                p.provisional = False
            records: dict[str | None, str] = {}
            for proc in procedures:
                if proc.visit_id is not None:
                    records[proc.visit_id] = proc.visit_id
                    continue
                visit = Visit(patient_id=target.id, name=LOOSE_RECORD_NAME,
                              visit_date=dt.date.today().isoformat())
                s.add(visit)
                s.flush()
                ids = [i.id for i in proc.images]
                for img in s.scalars(select(RecordImage).where(RecordImage.id.in_(ids))):
                    img.visit_id = visit.id
                records[None] = visit.id
            return target.id, records


def _move_rows(s: WriteSession, old_id: str, new_id: str) -> None:
    """Every row of the old patient, moved to the new one — through the ORM, so each
    move is an outbox change that syncs (bulk UPDATEs are refused on synced tables)."""
    for model in _MOVED:
        rows: list[Any] = list(s.scalars(select(model).where(model.patient_id == old_id)))
        for row in rows:
            row.patient_id = new_id
