"""The images filed in a patient's records: reading them by record, changing their
kind, taking them out; filing new ones is ImageFiling's (image_filing)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.core.wire_entities import IMAGE_KINDS
from app.imaging import series
from app.store import access
from app.store.dto import Viewer
from app.store.errors import NotFoundError, StoreError
from app.store.images.image_filing import ImageFiling
from app.store.images.image_rows import ImageRow, RecordImages, row_of
from app.store.models import Patient, RecordImage, Visit


class ImagesRepo(ImageFiling):
    """Thread-safe; call it off the UI thread (it looks files up on disk, and filing
    reads and copies whole files)."""

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
                groups.setdefault(key, []).append(row_of(self.files, img))
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
            return row_of(self.files, img)

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
            return row_of(self.files, img)

    def delete(self, viewer: Viewer, image_id: str) -> None:
        with self.db.write() as s:
            img = s.get(RecordImage, image_id)
            if img is None or img.deleted:
                return
            access.check(viewer, s.get(Patient, img.patient_id))
            img.deleted = True
