"""The upload list (seed 003): what waits, what went up, what failed and why — per
patient, for the changes in the outbox and the images in the upload queue."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.core.text import display_name
from app.store.access import visible
from app.store.db import Database
from app.store.dto import Viewer
from app.store.models import OutboxMutation, Patient, Upload
from app.store.sync.requeue_repo import is_whole

ENTITY_LABELS = {
    "patient": "Patient details",
    "visit": "Record",
    "appointment": "Appointment",
    "agreement": "Agreement",
    "payment": "Payment",
}


@dataclass(frozen=True, slots=True)
class ChangeItem:
    seq: int
    patient_id: str | None
    patient_name: str
    what: str
    fields: tuple[str, ...]
    queued_at: str
    status: str  # waiting, failed
    error: str | None


@dataclass(frozen=True, slots=True)
class ImageItem:
    id: int
    patient_id: str | None
    patient_name: str
    filename: str
    kind: str
    size: int
    sent: int
    status: str  # waiting, sending, sent, failed
    error: str | None
    queued_at: str
    done_at: str | None

    @property
    def progress(self) -> int:
        return 100 if self.status == "sent" else int(100 * self.sent / max(self.size, 1))


_IMAGE_STATUS = {
    "held": "waiting", "pending": "waiting", "uploading": "sending", "done": "sent",
    "failed": "failed",
}
_BY_LABEL = {
    "waiting": ("held", "pending"), "sending": ("uploading",), "sent": ("done",),
    "failed": ("failed",),
}
HELD_REASON = "Patient created offline: waiting for Synchronize offline images"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """What waits to go up, counted once for the status bar, the upload list and the
    Server window, so that they say the same thing."""

    changes: int  # waiting in the outbox
    images: int  # waiting or being sent (offline images waiting for the wizard too)
    failed: int  # changes and images the server refused
    held: int  # of `images`: offline images waiting for Synchronize offline images

    def sentence(self) -> str:
        waiting = [_count(n, w) for n, w in ((self.changes, "change"), (self.images, "image"))
                   if n]
        text = " and ".join(waiting) + " waiting" if waiting else "everything is up to date"
        return text + (f", {self.failed} failed" if self.failed else "")


class UploadListRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def counts(self, viewer: Viewer) -> QueueCounts:
        """The list's totals, whatever it is filtered by."""
        shown = visible(viewer) | Patient.merged_into.is_not(None)
        with self.db.read() as s:
            changes = dict(s.execute(
                select(OutboxMutation.status, func.count())
                .join(Patient, Patient.id == OutboxMutation.patient_id)
                .where(shown).group_by(OutboxMutation.status)
            ).all())
            images = dict(s.execute(
                select(Upload.status, func.count())
                .join(Patient, Patient.id == Upload.patient_id)
                .where(shown).group_by(Upload.status)
            ).all())
        held = int(images.get("held", 0))
        return QueueCounts(
            changes=int(changes.get("pending", 0)),
            images=held + sum(int(images.get(k, 0)) for k in ("pending", "uploading")),
            failed=int(changes.get("failed", 0)) + int(images.get("failed", 0)),
            held=held,
        )

    def changes(
        self, viewer: Viewer, *, status: str | None = None, query: str = "", limit: int = 2000
    ) -> list[ChangeItem]:
        stmt = (
            select(OutboxMutation, Patient.first_name, Patient.last_name)
            .join(Patient, Patient.id == OutboxMutation.patient_id)
            .where(visible(viewer) | Patient.merged_into.is_not(None))
            .order_by(OutboxMutation.seq)
            .limit(limit)
        )
        if status == "failed":
            stmt = stmt.where(OutboxMutation.status == "failed")
        elif status == "waiting":
            stmt = stmt.where(OutboxMutation.status == "pending")
        out = []
        with self.db.read() as s:
            for m, first, last in s.execute(stmt):
                name = display_name(first, last)
                if query and query.casefold() not in name.casefold():
                    continue
                out.append(
                    ChangeItem(
                        m.seq,
                        m.patient_id,
                        name,
                        ENTITY_LABELS.get(m.entity, m.entity),
                        # A row queued whole ("Update all") is read when it is sent.
                        ("the whole record",) if is_whole(m.payload)
                        else tuple(m.payload.get("fields", {})),
                        m.created_at,
                        "failed" if m.status == "failed" else "waiting",
                        m.last_error,
                    )
                )
        return out

    def images(
        self, viewer: Viewer, *, status: str | None = None, query: str = "", limit: int = 2000
    ) -> list[ImageItem]:
        stmt = (
            select(Upload, Patient.first_name, Patient.last_name)
            .join(Patient, Patient.id == Upload.patient_id)
            .where(visible(viewer) | Patient.merged_into.is_not(None))
            .order_by(Upload.id.desc())
            .limit(limit)
        )
        if status in _BY_LABEL:
            stmt = stmt.where(Upload.status.in_(_BY_LABEL[status]))
        out = []
        with self.db.read() as s:
            for u, first, last in s.execute(stmt):
                name = display_name(first, last)
                if query and query.casefold() not in name.casefold():
                    continue
                out.append(
                    ImageItem(
                        u.id,
                        u.patient_id,
                        name,
                        u.filename,
                        u.kind,
                        u.size,
                        u.offset,
                        _IMAGE_STATUS.get(u.status, u.status),
                        HELD_REASON if u.status == "held" else u.last_error,
                        u.created_at,
                        u.done_at,
                    )
                )
        return out
