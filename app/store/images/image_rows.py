"""Filed images as they leave the store: plain rows, safe to hand to another thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.imaging.cas import ImageStore
from app.store.models import RecordImage


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


def row_of(files: ImageStore, r: RecordImage) -> ImageRow:
    """The row of a filed image; `present` looks on disk, so call it off the UI thread."""
    path = files.path_of(r.sha256)
    return ImageRow(
        r.id, r.patient_id, r.visit_id, r.kind, r.sha256, r.filename or "", r.size,
        r.taken_at, r.series_uid, path, path.is_file(),
    )
