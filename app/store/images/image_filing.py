"""Filing new images in patients' records.

Each file is copied into the content-addressed image store and classified
(app.imaging.importer) before any database transaction, so a several-GB file never
holds the write lock; then one transaction files the record_image rows (queued for the
cloud by the outbox like every synced change) together with the upload queue rows of
their files, so an image is never filed without its bytes being queued, nor queued
without being filed. A CBCT series met again (more slices) extends its manifest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from app.core.ids import new_id
from app.core.wire_entities import IMAGE_KINDS
from app.imaging import importer, series
from app.imaging.acquisition import dicom_mismatch
from app.imaging.cas import ImageStore
from app.imaging.errors import ImagingError
from app.store import access
from app.store.db import Database, WriteSession
from app.store.dto import Viewer
from app.store.errors import NotFoundError, StoreError
from app.store.images.image_rows import ImageRow, row_of
from app.store.models import Patient, RecordImage, Upload, Visit
from app.store.sync.outbox import utc_now_text

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class AddReport:
    added: list[ImageRow] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    visit_id: str | None = None
    # Filed as asked, but worth a look: a DICOM header naming someone else.
    warnings: list[tuple[str, str]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # names of files already in the record


@dataclass(frozen=True, slots=True)
class Staged:
    """Files copied into the image store and classified, not yet filed."""

    prepared: importer.PrepareReport
    warnings: list[tuple[str, str]] = field(default_factory=list)


class ImageFiling:
    """Thread-safe; call it off the UI thread (it reads and copies whole files)."""

    def __init__(self, db: Database, files: ImageStore | None = None) -> None:
        self.db = db
        self.files = files or ImageStore.of(db)

    def add_files(
        self,
        viewer: Viewer,
        patient_id: str,
        paths: Iterable[Path | str],
        *,
        visit_id: str | None = None,
        new_record: str | None = None,
        kind: str | None = None,
        progress: Progress | None = None,
    ) -> AddReport:
        """Store and file `paths` for the patient, in record `visit_id` or, when
        `new_record` is given, in a new record of today named so."""
        staged = self.stage(viewer, patient_id, paths, kind=kind, progress=progress)
        return self.file(viewer, patient_id, staged, visit_id=visit_id, new_record=new_record)

    def stage(
        self,
        viewer: Viewer,
        patient_id: str,
        paths: Iterable[Path | str],
        *,
        kind: str | None = None,
        progress: Progress | None = None,
    ) -> Staged:
        """Copy the files into the image store and classify them; no database write,
        so the app runs it on a reader thread and a several-GB file never holds up
        the single database writer."""
        if kind is not None and kind not in IMAGE_KINDS:
            raise StoreError(f"Unknown kind of image: {kind}.")
        with self.db.read() as s:
            p = access.check(viewer, s.get(Patient, patient_id))
            who = (p.first_name, p.last_name, p.birth_date, (p.card_number, p.id_number),
                   p.num)
        prepared = importer.prepare(
            self.files, [Path(p) for p in paths], kind=kind, progress=progress
        )
        warnings = [
            (item.filename, reason) for item in prepared.items
            if item.dicom and (reason := dicom_mismatch(item.dicom, *who))
        ]
        return Staged(prepared, warnings)

    def file(
        self,
        viewer: Viewer,
        patient_id: str,
        staged: Staged,
        *,
        visit_id: str | None = None,
        new_record: str | None = None,
    ) -> AddReport:
        """File staged items in one transaction, with their uploads queued."""
        failed = [(p.name, reason) for p, reason in staged.prepared.failed]
        with self.db.write() as s:
            access.check(viewer, s.get(Patient, patient_id))
            # Nothing to file makes no new record.
            visit_id = target_record(s, patient_id, visit_id,
                                     new_record if staged.prepared.items else None)
            rows: list[RecordImage] = []
            already: list[str] = []
            for item in staged.prepared.items:
                row = file_item(s, self.files, patient_id, visit_id, item)
                if row in rows or (row not in s.new and not item.series_uid):
                    already.append(item.filename)
                else:
                    rows.append(row)
            s.flush()
            added = [row_of(self.files, r) for r in rows]
        return AddReport(added, failed, visit_id, list(staged.warnings), already)


def target_record(
    s: WriteSession, patient_id: str, visit_id: str | None, new_record: str | None,
) -> str | None:
    """The record to file into (in the caller's transaction): a new one of today named
    `new_record` when given, else `visit_id`, which must be a live record of the
    patient (None: filed in no record)."""
    if new_record is not None:
        visit = Visit(patient_id=patient_id, visit_date=dt.date.today().isoformat(),
                      name=new_record.strip() or "Images")
        s.add(visit)
        s.flush()
        return visit.id
    if visit_id is not None:
        v = s.get(Visit, visit_id)
        if v is None or v.deleted or v.patient_id != patient_id:
            raise NotFoundError("That record no longer exists.")
    return visit_id


def file_item(
    s: WriteSession, files: ImageStore, patient_id: str, visit_id: str | None,
    item: importer.Prepared,
) -> RecordImage:
    """File one prepared item (in the caller's transaction) and queue its bytes."""
    row: RecordImage | None = None
    if item.series_uid:
        row = s.scalar(select(RecordImage).where(
            RecordImage.patient_id == patient_id, RecordImage.series_uid == item.series_uid,
            RecordImage.deleted.is_(False)))
    if row is not None and row.sha256 != item.sha256:
        try:
            old = series.load(files.path_of(row.sha256))
        except (ImagingError, OSError):
            old = None
        merged = item
        if old is not None:
            manifest = old.merged(item.slices)
            stored = files.add_bytes(manifest.to_bytes())
            name = f"CBCT series ({len(manifest.slices)} slices).json"
            merged = importer.Prepared(
                stored.sha256, manifest.total_size, name, "cbct", "dicom-series",
                row.taken_at, row.series_uid,
                uploads=(*item.uploads[:-1],
                         importer.UploadFile(stored.sha256, stored.size, stored.path, name)),
                slices=manifest.slices,
            )
        row.sha256, row.size, row.filename = merged.sha256, merged.size, merged.filename
        item = merged
    elif row is None and not item.series_uid:
        # The same content filed again in the same record is the same image: a second
        # drop of one file must not show it twice. Earlier rows of this transaction
        # are remembered, so the lookup needs no flush.
        filed: dict[tuple[str, str | None, str], RecordImage] = s.info.setdefault(
            "filed_images", {})
        key = (patient_id, visit_id, item.sha256)
        row = filed.get(key)
        if row is None:
            same_visit = (RecordImage.visit_id.is_(None) if visit_id is None
                          else RecordImage.visit_id == visit_id)
            with s.no_autoflush:
                row = s.scalar(select(RecordImage).where(
                    RecordImage.patient_id == patient_id, same_visit,
                    RecordImage.sha256 == item.sha256, RecordImage.deleted.is_(False)
                ).limit(1))
        if row is not None:
            filed[key] = row
            return row
    if row is None:
        row = RecordImage(
            id=new_id(), patient_id=patient_id, visit_id=visit_id, kind=item.kind,
            sha256=item.sha256, filename=item.filename[:500], size=item.size,
            taken_at=item.taken_at, series_uid=item.series_uid,
        )
        s.add(row)
        if not item.series_uid:
            s.info.setdefault("filed_images", {})[(patient_id, visit_id, item.sha256)] = row
    for up in item.uploads:
        queue_upload(s, up, patient_id, item.kind)
    return row


def _held(s: WriteSession, patient_id: str) -> bool:
    """A provisional patient's files wait for the offline-images wizard: a person
    first says who the patient is, and only then do the images go up."""
    with s.no_autoflush:
        p = s.get(Patient, patient_id)
    return bool(p is not None and p.provisional and not p.merged_into)


def queue_upload(s: WriteSession, up: importer.UploadFile, patient_id: str, kind: str) -> None:
    """UploadsRepo.enqueue's rule inside the filing transaction; the hash is known, so
    the file is not read again. A provisional patient's files are queued held."""
    # Rows queued earlier in this transaction are remembered here, so the lookup by
    # unique hash needs no flush of everything before it (one per file, in a batch).
    queued: dict[str, Upload] = s.info.setdefault("queued_uploads", {})
    existing = queued.get(up.sha256)
    if existing is None:
        with s.no_autoflush:
            existing = s.scalar(select(Upload).where(Upload.sha256 == up.sha256))
    if existing is None:
        queued[up.sha256] = Upload(
            sha256=up.sha256, path=str(up.path), size=up.size, patient_id=patient_id,
            kind=kind, filename=up.filename[:255], offset=0,
            status="held" if _held(s, patient_id) else "pending", attempts=0,
            created_at=utc_now_text(),
        )
        s.add(queued[up.sha256])
    elif existing.status == "failed":
        existing.path, existing.size = str(up.path), up.size
        existing.status = "held" if _held(s, patient_id) else "pending"
        existing.last_error = None
