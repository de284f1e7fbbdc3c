"""Offline images: patients created on this PC without a connection, and the images
filed for them, waiting for a person to say who the patient is (the sync wizard).

A provisional patient's rows sync like any other, so nothing is kept on one PC only
longer than the link is down; its image files are queued *held* (see uploads_repo)
and go up when the wizard syncs the procedure (the record) they belong to:

1. `waiting` lists the provisional patients whose images are still on this PC;
2. `candidates` proposes existing patients (app.core.matching; never an automatic
   merge);
3. `resolve` merges the provisional patient into the chosen one — every record,
   appointment, agreement, note and image is moved to it and the provisional patient
   is marked merged into it, so late references from other PCs still resolve — or
   confirms it as a new patient; images filed outside a record get a record of
   their own, since billing options belong to a record;
4. `sync_procedure` posts the procedure's billing options on its record and releases
   its files to the agent; `procedure_state` says how they are doing;
5. `hide_procedure` copies a procedure's files to the recovery folder on this PC,
   checks the copies, and only then takes the images out of the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update

from app.core.agent_requests import RequestKind
from app.core.money import to_wire
from app.core.text import display_name
from app.imaging import series
from app.imaging.cas import ImageStore
from app.imaging.errors import ImagingError
from app.imaging.recovery import RecoveryFolder
from app.store import access
from app.store.db import Database, WriteSession
from app.store.dto import Viewer
from app.store.errors import NotFoundError, StoreError
from app.store.models import Agreement, Appointment, Note, Patient, RecordImage, Upload, User, Visit
from app.store.patients import patient_matches
from app.store.patients.patient_matches import Match, fields_of, match_of
from app.store.settings_repo import SettingsRepo
from app.store.sync.agent_repo import AgentRepo

REMIND_KEY = "offline_images_remind_after"
LOOSE_RECORD_NAME = "Offline images"
_MOVED = (Visit, Appointment, Agreement, Note, RecordImage)


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


@dataclass(frozen=True, slots=True)
class ProcedureImage:
    id: str
    sha256: str  # what the record refers to (a series: its manifest)
    filename: str
    kind: str
    size: int
    shas: tuple[str, ...]  # the files that carry it (a series: slices and manifest)


@dataclass(frozen=True, slots=True)
class Procedure:
    """A record (visit) holding offline images; visit_id None: images in no record."""

    visit_id: str | None
    date: str | None
    name: str | None
    images: tuple[ProcedureImage, ...]

    @property
    def label(self) -> str:
        if self.visit_id is None:
            return f"Images not in a record ({len(self.images)})"
        what = " · ".join(p for p in (self.date, self.name) if p) or "Record"
        return f"{what} ({len(self.images)} image{'s' if len(self.images) != 1 else ''})"

    @property
    def shas(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(sha for i in self.images for sha in i.shas))


@dataclass(frozen=True, slots=True)
class ProcedureOptions:
    apply_charges: bool = True
    fee: Decimal = Decimal("0.00")  # posted when apply_charges
    bill_insurance: bool = False
    provider_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProcedureState:
    status: str  # held, sending, done, failed
    reason: str | None
    sent: int
    total: int


@dataclass(frozen=True, slots=True)
class Provider:
    id: str
    name: str


def working_offline(db: Database) -> bool:
    """A server is set up for this database and the agent cannot reach it (or is not
    running): a patient created now is provisional. With no server at all there is
    nothing to match against, so patients are ordinary."""
    if not SettingsRepo(db).get("server_url"):
        return False
    return not AgentRepo(db).status().online


class OfflineImagesRepo:
    """Thread-safe; call it off the UI thread (hiding copies whole files)."""

    def __init__(
        self, db: Database, files: ImageStore | None = None,
        recovery: RecoveryFolder | None = None,
    ) -> None:
        self.db = db
        self.files = files or ImageStore.of(db)
        self.recovery = recovery or RecoveryFolder()

    # Whether to ask ---------------------------------------------------------------------
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

    # Step 1: the patients -------------------------------------------------------------
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

    # Step 2: who the patient is --------------------------------------------------------
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

    # Step 3: the procedures and their options -------------------------------------------
    def procedures(self, viewer: Viewer, patient_id: str) -> list[Procedure]:
        with self.db.read() as s:
            access.check(viewer, s.get(Patient, patient_id))
            rows = s.execute(
                select(RecordImage, Visit.visit_date, Visit.name)
                .outerjoin(Visit, Visit.id == RecordImage.visit_id)
                .where(RecordImage.patient_id == patient_id, RecordImage.deleted.is_(False))
                .order_by(Visit.visit_date.desc(), RecordImage.visit_id, RecordImage.taken_at,
                          RecordImage.id)
            ).all()
            waiting = set(s.scalars(
                select(Upload.sha256).where(
                    Upload.sha256.in_({r.sha256 for r, _d, _n in rows}),
                    Upload.status.in_(("held", "failed")))
            ))
        groups: dict[str | None, tuple[str | None, str | None, list[ProcedureImage]]] = {}
        for img, date, name in rows:
            if img.sha256 not in waiting:
                continue
            group = groups.setdefault(img.visit_id, (date, name, []))
            group[2].append(ProcedureImage(img.id, img.sha256, img.filename or "", img.kind,
                                           img.size, self._shas(img)))
        return [Procedure(vid, d, n, tuple(imgs)) for vid, (d, n, imgs) in groups.items()]

    def providers(self) -> list[Provider]:
        """The users of this practice database — the providers of this location."""
        with self.db.read() as s:
            return [Provider(u.id, u.display_name) for u in s.scalars(
                select(User).where(User.active.is_(True), User.merged_into.is_(None))
                .order_by(User.display_name))]

    def _shas(self, img: RecordImage) -> tuple[str, ...]:
        if not img.series_uid:
            return (img.sha256,)
        try:
            manifest = series.load(self.files.path_of(img.sha256))
        except (ImagingError, OSError):
            return (img.sha256,)
        return (*(sl.sha256 for sl in manifest.slices), img.sha256)

    # Step 4: resolve, then sync procedure by procedure --------------------------------
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

    def sync_procedure(
        self, viewer: Viewer, visit_id: str, shas: Iterable[str], options: ProcedureOptions,
    ) -> None:
        """Post the options on the record, release its files, wake the agent."""
        shas = list(shas)
        with self.db.write() as s:
            v = s.get(Visit, visit_id)
            if v is None or v.deleted:
                raise NotFoundError("That record no longer exists.")
            access.check(viewer, s.get(Patient, v.patient_id))
            charge = to_wire(options.fee if options.apply_charges else Decimal("0.00"))
            for name, value in (("charge", charge), ("bill_insurance", options.bill_insurance),
                                ("doctor_id", options.provider_id)):
                if getattr(v, name) != value:
                    setattr(v, name, value)
            s.execute(
                update(Upload).where(Upload.sha256.in_(shas),
                                     Upload.status.in_(("held", "failed")))
                .values(status="pending", last_error=None)
            )
        AgentRepo(self.db).request(RequestKind.SYNC_NOW)

    def procedure_state(self, shas: Iterable[str]) -> ProcedureState:
        shas = list(shas)
        with self.db.read() as s:
            rows = list(s.scalars(select(Upload).where(Upload.sha256.in_(shas))))
        total = sum(u.size for u in rows)
        sent = sum(u.size if u.status == "done" else u.offset for u in rows)
        failed = [u for u in rows if u.status == "failed"]
        if failed:
            return ProcedureState("failed", failed[0].last_error or "the upload failed",
                                  sent, total)
        if any(u.status == "held" for u in rows):
            return ProcedureState("held", None, sent, total)
        if len(rows) == len(set(shas)) and all(u.status == "done" for u in rows):
            return ProcedureState("done", None, sent, total)
        return ProcedureState("sending", None, sent, total)

    def hide_procedure(self, viewer: Viewer, procedure: Procedure, patient_name: str) -> Path:
        """Copy the procedure's files to the recovery folder, check the copies, then take
        its images out of the record. Returns the folder the files are in."""
        sources: list[tuple[Path, str, str]] = []  # (stored file, name, sha)
        for img in procedure.images:
            if len(img.shas) == 1:
                sources.append((self.files.path_of(img.sha256), img.filename, img.sha256))
                continue
            # A series is kept as its slices; filed again, they make the series anew.
            for n, sha in enumerate(img.shas[:-1], 1):
                sources.append((self.files.path_of(sha), f"{Path(img.filename).stem} {n:04}.dcm",
                                sha))
        folder = self.recovery.keep(patient_name, procedure.date, sources,
                                    record_id=procedure.visit_id, key=self.files.key)
        ids = [i.id for i in procedure.images]
        with self.db.write() as s:
            for img in s.scalars(select(RecordImage).where(RecordImage.id.in_(ids))):
                access.check(viewer, s.get(Patient, img.patient_id))
                img.deleted = True
            s.flush()
            # Not asked to sync again; filed anew from the recovery folder, the files
            # are queued afresh. Content another live image still refers to stays queued.
            still_used = set(s.scalars(select(RecordImage.sha256).where(
                RecordImage.sha256.in_(procedure.shas), RecordImage.deleted.is_(False))))
            gone = [sha for sha in procedure.shas if sha not in still_used]
            s.execute(delete(Upload).where(Upload.sha256.in_(gone), Upload.status != "done"))
        return folder


def _move_rows(s: WriteSession, old_id: str, new_id: str) -> None:
    """Every row of the old patient, moved to the new one — through the ORM, so each
    move is an outbox change that syncs (bulk UPDATEs are refused on synced tables)."""
    for model in _MOVED:
        column = model.patient_id  # type: ignore[attr-defined]
        for row in s.scalars(select(model).where(column == old_id)):
            row.patient_id = new_id

