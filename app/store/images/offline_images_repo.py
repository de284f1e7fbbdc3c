"""Offline images: patients created on this PC without a connection, and the images
filed for them, waiting for a person to say who the patient is (the sync wizard).

A provisional patient's rows sync like any other, so nothing is kept on one PC only
longer than the link is down; its image files are queued *held* (see uploads_repo)
and go up when the wizard syncs the procedure (the record) they belong to:

1. `waiting` (here) lists the provisional patients whose images are still on this PC,
   and `patients_to_offer` says whether to ask about them now;
2. `candidates` (app.store.patients.provisional_repo) proposes existing patients
   (app.core.matching; never an automatic merge);
3. `resolve` (there too) merges the provisional patient into the chosen one — every
   record, appointment, agreement, note and image is moved to it and the provisional
   patient is marked merged into it, so late references from other PCs still resolve
   — or confirms it as a new patient; images filed outside a record get a record of
   their own, since billing options belong to a record;
4. `sync_procedure` (offline_procedures_repo) posts the procedure's billing options on
   its record and releases its files to the agent; `procedure_state` says how they
   are doing;
5. `hide_procedure` (offline_recovery_repo) copies a procedure's files to the recovery
   folder on this PC, checks the copies, and only then takes the images out of the
   record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from app.core.text import display_name
from app.store import access
from app.store.db import Database
from app.store.dto import Viewer
from app.store.models import Patient, RecordImage, Upload
from app.store.settings_repo import SettingsRepo

REMIND_KEY = "offline_images_remind_after"


@dataclass(frozen=True, slots=True)
class OfflinePatient:
    id: str
    name: str
    birth_date: str | None
    images: int
    procedures: int
    provisional: bool = True  # False: already matched; only its procedures are left

    @property
    def summary(self) -> str:
        born = f", born {self.birth_date}" if self.birth_date else ""
        imgs = f"{self.images} image{'s' if self.images != 1 else ''}"
        procs = f"{self.procedures} procedure{'s' if self.procedures != 1 else ''}"
        return f"{self.name}{born} — {imgs} in {procs}"


class OfflineImagesRepo:
    """Which offline patients wait, and whether to ask about them now. Thread-safe;
    call it off the UI thread."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def patients_to_offer(self, viewer: Viewer, today: dt.date | None = None) -> int:
        """How many patients' offline images to ask about; 0 when none wait here or
        the user said "later" today."""
        today = today or dt.date.today()
        after = SettingsRepo(self.db).get(REMIND_KEY)
        if after and today.isoformat() <= after:
            return 0
        return len(self.waiting(viewer))

    def should_offer(self, viewer: Viewer, today: dt.date | None = None) -> bool:
        return self.patients_to_offer(viewer, today) > 0

    def remind_later(self, today: dt.date | None = None) -> None:
        """Not asked again on this PC before tomorrow."""
        SettingsRepo(self.db).set(REMIND_KEY, (today or dt.date.today()).isoformat())

    def waiting(self, viewer: Viewer) -> list[OfflinePatient]:
        """Provisional patients with images not sent, and patients the wizard already
        matched whose images are still held (the wizard was closed before their turn)."""
        held = select(Upload.sha256).where(Upload.status == "held")
        unsent = select(Upload.sha256).where(Upload.status.in_(("held", "failed")))
        stmt = (
            select(Patient, func.count(RecordImage.id),
                   func.count(func.distinct(func.coalesce(RecordImage.visit_id, ""))))
            .join(RecordImage, RecordImage.patient_id == Patient.id)
            .where(access.visible(viewer), RecordImage.deleted.is_(False),
                   or_(RecordImage.sha256.in_(held),
                       Patient.provisional.is_(True) & RecordImage.sha256.in_(unsent)))
            .group_by(Patient.id)
            .order_by(Patient.sort_key, Patient.num)
        )
        with self.db.read() as s:
            return [
                OfflinePatient(p.id, display_name(p.first_name, p.last_name), p.birth_date,
                               int(n), int(m), p.provisional)
                for p, n, m in s.execute(stmt)
            ]
