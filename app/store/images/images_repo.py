"""Images filed in patients' records, and lab case drafts made of them.

Adding files: each is copied into the content-addressed image store and classified
(app.imaging.importer) before any database transaction, so a several-GB file never
holds the write lock; then one transaction files the record_image rows (queued for the
cloud by the outbox like every synced change) together with the upload queue rows of
their files, so an image is never filed without its bytes being queued, nor queued
without being filed. A CBCT series met again (more slices) extends its manifest.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, update

from app.core.ids import new_id
from app.core.wire import IMAGE_KINDS
from app.imaging import importer, series
from app.imaging.acquisition import dicom_mismatch
from app.imaging.cas import ImageStore
from app.imaging.errors import ImagingError
from app.store import access
from app.store.db import Database, WriteSession
from app.store.dto import Viewer
from app.store.errors import NotFoundError, StoreError
from app.store.models import Patient, RecordImage, SyncState, Upload, Visit
from app.store.sync.outbox import utc_now_text

Progress = Callable[[int, int, str], None]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class ImageRow:
    id: str
    patient_id: str
    visit_id: str | None
    kind: str
    sha256: str
    filename: str
    size: int
    taken_at: str | None
    series_uid: str | None
    path: Path  # where the bytes are (or will be) on this PC
    present: bool  # False: filed on another PC, its bytes not here

    @property
    def is_series(self) -> bool:
        return self.series_uid is not None and self.kind == "cbct"


@dataclass(frozen=True, slots=True)
class RecordImages:
    """The images of one record (visit_id None: filed without a record)."""

    visit_id: str | None
    visit_date: str | None
    visit_name: str | None
    images: tuple[ImageRow, ...]

    @property
    def label(self) -> str:
        if self.visit_id is None:
            return "Not in a record"
        return " · ".join(p for p in (self.visit_date, self.visit_name) if p) or "Record"


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


class ImagesRepo:
    """Thread-safe; call it off the UI thread (it reads and copies whole files)."""

    def __init__(self, db: Database, files: ImageStore | None = None) -> None:
        self.db = db
        self.files = files or ImageStore.of(db)

    def row_of(self, r: RecordImage) -> ImageRow:
        path = self.files.path_of(r.sha256)
        return ImageRow(
            r.id, r.patient_id, r.visit_id, r.kind, r.sha256, r.filename or "", r.size,
            r.taken_at, r.series_uid, path, path.is_file(),
        )

    # Adding ---------------------------------------------------------------------------
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
            if new_record is not None and staged.prepared.items:
                visit = Visit(patient_id=patient_id, visit_date=dt.date.today().isoformat(),
                              name=new_record.strip() or "Images")
                s.add(visit)
                s.flush()
                visit_id = visit.id
            elif visit_id is not None:
                v = s.get(Visit, visit_id)
                if v is None or v.deleted or v.patient_id != patient_id:
                    raise NotFoundError("That record no longer exists.")
            rows: list[RecordImage] = []
            already: list[str] = []
            for item in staged.prepared.items:
                row = file_item(s, self.files, patient_id, visit_id, item)
                if row in rows or (row not in s.new and not item.series_uid):
                    already.append(item.filename)
                else:
                    rows.append(row)
            s.flush()
            added = [self.row_of(r) for r in rows]
        return AddReport(added, failed, visit_id, list(staged.warnings), already)

    # Reading --------------------------------------------------------------------------
    def by_record(self, viewer: Viewer, patient_id: str) -> list[RecordImages]:
        """Every live image of the patient grouped by record, newest record first
        (images without a record last), newest image first within a record."""
        with self.db.read() as s:
            access.check(viewer, s.get(Patient, patient_id))
            images = list(s.scalars(
                select(RecordImage)
                .where(RecordImage.patient_id == patient_id, RecordImage.deleted.is_(False))
                .order_by(RecordImage.taken_at.desc(), RecordImage.id.desc())
            ))
            visit_ids = {i.visit_id for i in images if i.visit_id}
            visits = {v.id: v for v in s.scalars(select(Visit).where(Visit.id.in_(visit_ids)))}
            groups: dict[str | None, list[ImageRow]] = {}
            for img in images:
                key = img.visit_id if img.visit_id in visits else None
                groups.setdefault(key, []).append(self.row_of(img))
        out = [
            RecordImages(vid, visits[vid].visit_date, visits[vid].name, tuple(rows))
            for vid, rows in groups.items() if vid is not None
        ]
        out.sort(key=lambda g: (g.visit_date or "", g.visit_id or ""), reverse=True)
        if None in groups:
            out.append(RecordImages(None, None, None, tuple(groups[None])))
        return out

    def get(self, viewer: Viewer, image_id: str) -> ImageRow:
        with self.db.read() as s:
            img = s.get(RecordImage, image_id)
            if img is None or img.deleted:
                raise NotFoundError("That image no longer exists.")
            access.check(viewer, s.get(Patient, img.patient_id))
            return self.row_of(img)

    def series_files(self, row: ImageRow) -> list[Path]:
        """The slices of a series in order, as stored on this PC."""
        manifest = series.load(row.path)
        return [self.files.path_of(s.sha256) for s in manifest.slices]

    def set_kind(self, viewer: Viewer, image_id: str, kind: str) -> ImageRow:
        """The person knows better than the guess (a panoramic sent as a JPEG is not
        an intraoral photo); synced like any change."""
        if kind not in IMAGE_KINDS:
            raise StoreError(f"Unknown kind of image: {kind}.")
        with self.db.write() as s:
            img = s.get(RecordImage, image_id)
            if img is None or img.deleted:
                raise NotFoundError("That image no longer exists.")
            access.check(viewer, s.get(Patient, img.patient_id))
            img.kind = kind
            s.flush()
            return self.row_of(img)

    def delete(self, viewer: Viewer, image_id: str) -> None:
        with self.db.write() as s:
            img = s.get(RecordImage, image_id)
            if img is None or img.deleted:
                return
            access.check(viewer, s.get(Patient, img.patient_id))
            img.deleted = True

    # Files of other PCs -----------------------------------------------------------------
    def missing_files(self, present: set[str] | None = None) -> list[tuple[str, int]]:
        """(sha256, size) of files filed in records (on any PC) that are not on this
        one, smallest first: whole images, and the slices of series whose manifest is
        here. For the agent's download job. `present`, when given, remembers hashes
        found on disk across calls (stored files never go away), so that a large
        collection is not looked up file by file at every sync."""
        present = present if present is not None else set()
        with self.db.read() as s:
            rows = s.execute(select(RecordImage.sha256, RecordImage.size, RecordImage.series_uid)
                             .where(RecordImage.deleted.is_(False))).all()
        wanted: dict[str, int] = {}
        for sha, size, series_uid in rows:
            if sha in present and (not series_uid or f"whole:{sha}" in present):
                continue
            if not _SHA256.match(sha or ""):
                continue  # not a hash this program could have written: nothing to fetch
            if not self.files.has(sha):
                wanted[sha] = size if not series_uid else 0  # a manifest is small
                continue
            present.add(sha)
            if series_uid:
                try:
                    manifest = series.load(self.files.path_of(sha))
                except (ImagingError, OSError):
                    continue
                whole = True
                for part in manifest.slices:
                    if part.sha256 in present:
                        continue
                    if self.files.has(part.sha256):
                        present.add(part.sha256)
                    else:
                        wanted[part.sha256] = part.size
                        whole = False
                if whole:
                    present.add(f"whole:{sha}")  # every slice here: not read again
        return sorted(wanted.items(), key=lambda kv: (kv[1], kv[0]))

    def filed_elsewhere(self, known: set[str] | None = None) -> list[tuple[str, bool]]:
        """(sha256, is a series) of images filed in records whose thumbnail may have to
        come from the server, newest first: single images whose file is not on this PC,
        and series (whose manifest names the slice to draw). `known`, when given, holds
        hashes not to look at again and gains the single images found here."""
        known = known if known is not None else set()
        with self.db.read() as s:
            rows = s.execute(select(RecordImage.sha256, RecordImage.series_uid)
                             .where(RecordImage.deleted.is_(False))
                             .order_by(RecordImage.taken_at.desc())).all()
        out: list[tuple[str, bool]] = []
        for sha, series_uid in rows:
            if sha in known or not _SHA256.match(sha or ""):
                continue
            if not series_uid and self.files.has(sha):
                known.add(sha)
            else:
                out.append((sha, bool(series_uid)))
        return out

    def note_files_arrived(self) -> None:
        """Tell an open app that images became viewable (it watches this counter)."""
        with self.db.write() as s:
            s.execute(update(SyncState).values(remote_version=SyncState.remote_version + 1))


def mixed_records(imgs: Iterable[RecordImage]) -> str | None:
    """The lab's rule for a case: the images of one kind all come from a single record.
    None when they do, else why not."""
    records: dict[str, set[str | None]] = {}
    for i in imgs:
        records.setdefault(i.kind, set()).add(i.visit_id)
    mixed = sorted(k for k, v in records.items() if len(v) > 1)
    if not mixed:
        return None
    return ("Images of one kind must come from a single record; these come from "
            f"several: {', '.join(k.replace('_', ' ') for k in mixed)}.")


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
