"""The acquisition folder's state on this PC: the active acquisition, and every file
met in the folder with what became of it (attached, unassigned, quarantined, failed).

Never synced: which patient is in the X-ray chair is a fact about this PC. The sync
agent files what it imports through `ingest()`; people work the inbox through
`inbox()` / `attach()`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, update

from app.imaging import importer, matching
from app.imaging.cas import ImageStore
from app.store import access
from app.store.db import Database, WriteSession
from app.store.dto import Viewer
from app.store.errors import NotFoundError, StoreError
from app.store.images.image_filing import AddReport, file_item, target_record
from app.store.images.image_rows import row_of
from app.store.models import (
    AcquisitionContext,
    AcquisitionItem,
    Patient,
    SyncState,
    Upload,
    Visit,
)
from app.store.sync.outbox import utc_now_text

INBOX = ("unassigned", "quarantined", "failed")
ACQUISITION_HOURS = 4


@dataclass(frozen=True, slots=True)
class ActiveAcquisition:
    patient_id: str
    visit_id: str | None
    first_name: str
    last_name: str | None
    birth_date: str | None
    started_at: str | None
    identifiers: tuple[str, ...] = ()  # card and ID numbers, compared with PatientID
    number: int | None = None

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True, slots=True)
class InboxRow:
    id: int
    filename: str
    source: str
    status: str
    reason: str | None
    kind: str
    sha256: str | None
    size: int
    dicom_patient: str | None
    dicom_birth_date: str | None
    series_uid: str | None
    found_at: str


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What was known of a source file when it was taken."""

    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Ingest:
    item: importer.Prepared
    sources: list[SourceFacts]
    status: str  # attached, unassigned, quarantined
    reason: str | None = None
    active: ActiveAcquisition | None = None


def _inbox_row(i: AcquisitionItem) -> InboxRow:
    return InboxRow(i.id, i.filename, i.source, i.status, i.reason, i.kind, i.sha256, i.size,
                    i.dicom_patient, i.dicom_birth_date, i.series_uid, i.found_at)


class AcquisitionRepo:
    def __init__(self, db: Database, files: ImageStore | None = None) -> None:
        self.db = db
        self.files = files or ImageStore.of(db)

    # The active acquisition -----------------------------------------------------------
    def start(self, viewer: Viewer, patient_id: str, visit_id: str | None = None,
              new_record: str | None = None) -> ActiveAcquisition:
        """"Acquire images": files landing in the folder go to this patient (and
        record, or a new record of today named `new_record`) until stopped."""
        with self.db.write() as s:
            access.check(viewer, s.get(Patient, patient_id))
            if new_record is not None:
                v = Visit(patient_id=patient_id, visit_date=dt.date.today().isoformat(),
                          name=new_record.strip() or "Images")
                s.add(v)
                s.flush()
                visit_id = v.id
            row = s.get(AcquisitionContext, 1) or AcquisitionContext(id=1)
            row.patient_id, row.visit_id = patient_id, visit_id
            row.started_at, row.started_by = utc_now_text(), viewer.user_id
            s.add(row)
        active = self.active()
        assert active is not None
        return active

    def stop(self) -> None:
        with self.db.write() as s:
            row = s.get(AcquisitionContext, 1)
            if row is not None:
                row.patient_id = row.visit_id = None

    def active(self, now: dt.datetime | None = None) -> ActiveAcquisition | None:
        """The acquisition in progress, if any. One left running (the dentist forgot
        to stop it) ends by itself after ACQUISITION_HOURS, so that the next patient's
        images wait in the inbox rather than go to the previous patient."""
        now = now or dt.datetime.now(dt.UTC)
        with self.db.read() as s:
            row = s.get(AcquisitionContext, 1)
            if row is None or row.patient_id is None:
                return None
            started = dt.datetime.fromisoformat(row.started_at) if row.started_at else None
            if started is None or now - started > dt.timedelta(hours=ACQUISITION_HOURS):
                return None
            p = s.get(Patient, row.patient_id)
            if p is None or p.deleted:
                return None
            ids = tuple(i for i in (p.card_number, p.id_number) if i)
            return ActiveAcquisition(p.id, row.visit_id, p.first_name, p.last_name,
                                     p.birth_date, row.started_at, ids, p.num)

    # The agent's side -----------------------------------------------------------------
    def taken(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Of these (source path, sha256), those filed from that very place but never
        moved away (a crash between filing and moving): never filed twice. The same
        bytes dropped again after a move are a new drop, filed again — for the patient
        of that moment."""
        pairs = list(pairs)
        if not pairs:
            return set()
        with self.db.read() as s:
            rows = s.execute(select(AcquisitionItem.source, AcquisitionItem.sha256).where(
                AcquisitionItem.sha256.in_({sha for _n, sha in pairs}),
                AcquisitionItem.status != "failed"))
            # The IN leaves no row without a hash; the filter only narrows the type.
            return {(src, sha) for src, sha in rows if sha is not None} & set(pairs)

    def moved(self, moves: Iterable[tuple[Path, Path]]) -> None:
        """These sources now lie in imported/: their rows say where."""
        moves = list(moves)
        if not moves:
            return
        with self.db.write() as s:
            for source, target in moves:
                s.execute(update(AcquisitionItem).where(
                    AcquisitionItem.source == str(source), AcquisitionItem.status != "failed",
                ).values(source=str(target)))

    def originals_sent(self, imported: Path, before: str) -> list[tuple[SourceFacts, str]]:
        """Originals lying under `imported` whose copy was stored (verified when it was
        taken) and whose upload was done before `before` (UTC ISO text), as they were
        when taken: a file there that differs is not the one that was sent."""
        prefix = str(imported).rstrip("/\\") + os.sep
        with self.db.read() as s:
            rows = s.execute(
                select(AcquisitionItem.source, AcquisitionItem.size, AcquisitionItem.mtime_ns,
                       AcquisitionItem.sha256)
                .join(Upload, Upload.sha256 == AcquisitionItem.sha256)
                .where(AcquisitionItem.status != "failed", Upload.status == "done",
                       Upload.done_at.is_not(None), Upload.done_at < before,
                       AcquisitionItem.found_at < before,
                       func.substr(AcquisitionItem.source, 1, len(prefix)) == prefix))
            return [(SourceFacts(Path(src), size, mtime), sha)
                    for src, size, mtime, sha in rows if sha is not None]

    def failed_sources(self) -> dict[str, tuple[int, int]]:
        """Source path -> (size, mtime_ns) of the files listed as failed: left alone
        until they change."""
        with self.db.read() as s:
            return {src: (size, mtime) for src, size, mtime in s.execute(
                select(AcquisitionItem.source, AcquisitionItem.size, AcquisitionItem.mtime_ns)
                .where(AcquisitionItem.status == "failed"))}

    def record_failed(self, src: SourceFacts, reason: str, kind: str = "other") -> None:
        with self.db.write() as s:
            s.execute(delete(AcquisitionItem).where(
                AcquisitionItem.source == str(src.path), AcquisitionItem.status == "failed"))
            s.add(AcquisitionItem(
                source=str(src.path), filename=src.path.name, size=src.size,
                mtime_ns=src.mtime_ns, kind=kind, status="failed", reason=reason[:2000],
                found_at=utc_now_text(),
            ))

    def ingest(self, entries: Iterable[Ingest]) -> None:
        """Record stored items from the folder, in one transaction: each filed for the
        active acquisition when its status is "attached", else kept in the inbox."""
        entries = list(entries)
        with self.db.write() as s:
            sources = [str(src.path) for e in entries for src in e.sources]
            for i in range(0, len(sources), 500):  # a file listed as failed is now taken
                s.execute(delete(AcquisitionItem).where(
                    AcquisitionItem.source.in_(sources[i : i + 500]),
                    AcquisitionItem.status == "failed"))
            alive: dict[str, bool] = {}
            for e in entries:
                self._ingest_one(s, e, alive)
            if any(e.status == "attached" for e in entries):
                # The agent changed patient data: tell the open app (it watches this
                # counter to tell data from the agent's heartbeats) to refresh.
                s.execute(update(SyncState).values(remote_version=SyncState.remote_version + 1))

    def _ingest_one(self, s: WriteSession, e: Ingest, alive: dict[str, bool]) -> None:
        item = e.item
        image_id = patient_id = None
        if e.status == "attached":
            assert e.active is not None
            visit_id = e.active.visit_id
            if visit_id is not None:
                if visit_id not in alive:  # once per batch: they all share the record
                    v = s.get(Visit, visit_id)
                    alive[visit_id] = v is not None and not v.deleted
                visit_id = visit_id if alive[visit_id] else None
            row = file_item(s, self.files, e.active.patient_id, visit_id, item)
            image_id, patient_id = row.id, e.active.patient_id
        # Sources and uploads come in the same order (a series' manifest last).
        uploads = list(item.uploads)
        info = item.dicom
        now = utc_now_text()
        for n, src in enumerate(e.sources):
            up = uploads[n] if n < len(uploads) else None
            s.add(AcquisitionItem(
                source=str(src.path), filename=src.path.name, size=src.size,
                mtime_ns=src.mtime_ns, sha256=up.sha256 if up else item.sha256,
                kind=item.kind, status=e.status, reason=e.reason,
                dicom_patient=info.patient_name if info else None,
                dicom_birth_date=info.birth_date if info else None,
                series_uid=item.series_uid, taken_at=item.taken_at,
                patient_id=patient_id, image_id=image_id, found_at=now,
                done_at=now if e.status == "attached" else None,
            ))

    # The inbox ------------------------------------------------------------------------
    def inbox(self, statuses: Iterable[str] = INBOX) -> list[InboxRow]:
        with self.db.read() as s:
            return [_inbox_row(i) for i in s.scalars(
                select(AcquisitionItem).where(AcquisitionItem.status.in_(list(statuses)))
                .order_by(AcquisitionItem.id.desc()))]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(INBOX, 0)
        with self.db.read() as s:
            for status, n in s.execute(
                select(AcquisitionItem.status, func.count())
                .where(AcquisitionItem.status.in_(INBOX)).group_by(AcquisitionItem.status)
            ):
                out[status] = int(n)
        return out

    def doubts(self, viewer: Viewer, item_ids: Iterable[int], patient_id: str
               ) -> list[tuple[str, str]]:
        """(file name, reason) of the picked files whose DICOM header does not name
        this patient, or cannot be checked against them — shown before a person
        attaches them."""
        ids = list(item_ids)
        with self.db.read() as s:
            p = access.check(viewer, s.get(Patient, patient_id))
            who = matching.patient_of(p.first_name, p.last_name, p.birth_date,
                                      (p.card_number, p.id_number), p.num)
            items = list(s.scalars(select(AcquisitionItem).where(
                AcquisitionItem.id.in_(ids))))
        out = []
        for i in items:
            if i.dicom_patient is None:
                continue  # not a DICOM: nothing in it says whose it is
            reason = matching.mismatch(i.dicom_patient, "", i.dicom_birth_date or "",
                                       i.dicom_birth_date, who)
            if reason:
                out.append((i.filename, reason))
        return out

    def attach(self, viewer: Viewer, item_ids: Iterable[int], patient_id: str, *,
               visit_id: str | None = None, new_record: str | None = None) -> AddReport:
        """A person files waiting items (unassigned or quarantined) for a patient."""
        ids = list(item_ids)
        with self.db.read() as s:
            items = list(s.scalars(select(AcquisitionItem).where(AcquisitionItem.id.in_(ids))))
        if len(items) != len(ids):
            raise NotFoundError("Some of those files are no longer waiting.")
        if any(i.status == "attached" for i in items):
            raise NotFoundError("Some of those files were attached meanwhile.")
        if any(i.status not in ("unassigned", "quarantined") or not i.sha256 for i in items):
            raise StoreError("Only stored files waiting in the inbox can be attached; a "
                             "failed file must be fixed and dropped into the folder again.")
        prepared = importer.prepare_stored(self.files, [(i.sha256 or "", i.filename)
                                                        for i in items])
        if prepared.failed:
            raise StoreError("; ".join(reason for _p, reason in prepared.failed))
        with self.db.write() as s:
            access.check(viewer, s.get(Patient, patient_id))
            current = list(s.scalars(
                select(AcquisitionItem).where(AcquisitionItem.id.in_(ids))))
            if any(i.status not in ("unassigned", "quarantined") for i in current):
                # Someone on this PC attached them meanwhile: never file twice.
                raise NotFoundError("Some of those files were attached meanwhile.")
            visit_id = target_record(s, patient_id, visit_id, new_record)
            rows = [file_item(s, self.files, patient_id, visit_id, it)
                    for it in prepared.items]
            s.flush()
            by_sha = {}
            for it, row in zip(prepared.items, rows, strict=True):
                for up in it.uploads:
                    by_sha[up.sha256] = row.id
            for i in current:
                i.status, i.patient_id, i.done_at = "attached", patient_id, utc_now_text()
                i.image_id = by_sha.get(i.sha256 or "")
            added = [row_of(self.files, r) for r in rows]
        return AddReport(added, [], visit_id)

    def dismiss(self, item_id: int) -> None:
        """Forget a failed item (the person has dealt with the file)."""
        with self.db.write() as s:
            s.execute(delete(AcquisitionItem).where(
                AcquisitionItem.id == item_id, AcquisitionItem.status == "failed"))
