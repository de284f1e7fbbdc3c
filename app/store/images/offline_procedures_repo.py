"""The procedures (records) of a matched offline patient whose images wait on this
PC: listed with their billing options, then synced one by one — the options posted on
the record, its files released to the agent — and followed until sent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update

from app.core.agent_requests import RequestKind
from app.core.money import to_wire
from app.imaging import series
from app.imaging.cas import ImageStore
from app.imaging.errors import ImagingError
from app.store import access
from app.store.db import Database
from app.store.dto import Viewer
from app.store.errors import NotFoundError
from app.store.models import Patient, RecordImage, Upload, User, Visit
from app.store.sync.agent_repo import AgentRepo


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


class OfflineProceduresRepo:
    """Thread-safe; call it off the UI thread (a series' manifest is read from disk)."""

    def __init__(self, db: Database, files: ImageStore | None = None) -> None:
        self.db = db
        self.files = files or ImageStore.of(db)

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
