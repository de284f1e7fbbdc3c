"""The queue of files for the cloud (the `uploads` table) and its tus state.

A row is keyed by the file's SHA-256, so one content is queued — and sent — once,
whoever queues it and however often. The row keeps what a restart needs to resume
rather than restart: the tus upload URL and the last offset the server confirmed.
The path points at the content-addressed image store file, which is never modified;
nothing is copied.

Statuses: held (a provisional patient's file, kept on this PC until the offline-images
wizard releases it), pending (waiting, maybe half sent), uploading (a worker holds it),
done (the server confirmed the whole file's SHA-256), failed (will not succeed by
retrying; the reason is in last_error). Once a row is pending, only the sync agent
changes it (and the app's "retry" of a failed one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import case, func, select, update

from app.imaging.sealed import hash_plain
from app.platform.rowcount import rowcount
from app.store.db import Database
from app.store.models import Upload
from app.store.sync.outbox import utc_now_text

WAITING = ("pending", "uploading")
STATUSES = ("held", "pending", "uploading", "done", "failed")


@dataclass(frozen=True, slots=True)
class UploadRow:
    id: int
    sha256: str
    path: str
    size: int
    patient_id: str | None
    kind: str
    filename: str
    url: str | None
    offset: int
    status: str
    attempts: int
    last_error: str | None
    created_at: str
    done_at: str | None

    @property
    def progress(self) -> float:
        """0.0 to 1.0, from the last offset the server confirmed."""
        if self.status == "done" or self.size == 0:
            return 1.0 if self.status == "done" else 0.0
        return min(1.0, self.offset / self.size)


@dataclass(frozen=True, slots=True)
class UploadCounts:
    files: int  # waiting: pending or in flight
    bytes: int  # of those, what the server has not confirmed yet
    failed: int
    held: int = 0  # offline images waiting for the sync wizard


def _row(u: Upload) -> UploadRow:
    return UploadRow(
        u.id, u.sha256, u.path, u.size, u.patient_id, u.kind, u.filename, u.url,
        u.offset, u.status, u.attempts, u.last_error, u.created_at, u.done_at,
    )


class UploadsRepo:
    """Thread-safe: every call opens its own session; rows go out as UploadRow."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # The app's side -------------------------------------------------------------------
    def enqueue(self, path: Path | str, patient_id: str, kind: str, filename: str = "") -> str:
        """Queue a file for the cloud; returns its SHA-256.

        Reads the whole file (call it off the UI thread). The hash is taken before the
        write transaction, so a large file does not hold the database's write lock.
        Content already queued or sent is not queued again; content that had failed is
        queued again from this path.
        """
        path = Path(path)
        sha, size = hash_plain(path)
        name = filename or path.name
        with self.db.write() as s:
            row = s.scalar(select(Upload).where(Upload.sha256 == sha))
            if row is None:
                s.add(Upload(
                    sha256=sha, path=str(path), size=size, patient_id=patient_id, kind=kind,
                    filename=name, offset=0, status="pending", attempts=0,
                    created_at=utc_now_text(),
                ))
            elif row.status == "failed":
                row.path, row.size, row.status, row.last_error = str(path), size, "pending", None
        return sha

    def list_uploads(
        self, *, patient_id: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[UploadRow]:
        """For the upload list: in flight, then waiting in sending order (small
        first), then failed, then done (newest first)."""
        rank = case(
            (Upload.status == "uploading", 0), (Upload.status == "pending", 1),
            (Upload.status == "failed", 2), else_=3,
        )
        size_first = case((Upload.status.in_(WAITING), Upload.size), else_=0)
        q = select(Upload).order_by(rank, size_first, Upload.id.desc()).limit(limit)
        if patient_id is not None:
            q = q.where(Upload.patient_id == patient_id)
        if status is not None:
            q = q.where(Upload.status == status)
        with self.db.read() as s:
            return [_row(u) for u in s.scalars(q)]

    def get(self, sha256: str) -> UploadRow | None:
        with self.db.read() as s:
            u = s.scalar(select(Upload).where(Upload.sha256 == sha256))
            return _row(u) if u is not None else None

    def counts(self) -> UploadCounts:
        with self.db.read() as s:
            files, left = s.execute(
                select(func.count(), func.coalesce(func.sum(Upload.size - Upload.offset), 0))
                .where(Upload.status.in_(WAITING))
            ).one()
            by_status = dict(s.execute(
                select(Upload.status, func.count())
                .where(Upload.status.in_(("failed", "held"))).group_by(Upload.status)
            ).all())
        return UploadCounts(int(files), int(left), int(by_status.get("failed", 0)),
                            int(by_status.get("held", 0)))

    def retry_failed(self) -> int:
        with self.db.write() as s:
            result = s.execute(
                update(Upload).where(Upload.status == "failed")
                .values(status="pending", last_error=None)
            )
            return rowcount(result)

    # The agent's side -----------------------------------------------------------------
    def requeue_interrupted(self) -> int:
        """Rows left `uploading` by an agent that stopped: waiting again (their URL and
        offset are kept, so they resume)."""
        with self.db.write() as s:
            result = s.execute(
                update(Upload).where(Upload.status == "uploading").values(status="pending")
            )
            return rowcount(result)

    def claim_next(self) -> UploadRow | None:
        """The smallest waiting file, marked in flight; None when nothing waits."""
        with self.db.write() as s:
            u = s.scalar(
                select(Upload).where(Upload.status == "pending")
                .order_by(Upload.size, Upload.id).limit(1)
            )
            if u is None:
                return None
            u.status = "uploading"
            return _row(u)

    def save_location(self, upload_id: int, url: str | None, offset: int) -> None:
        with self.db.write() as s:
            s.execute(update(Upload).where(Upload.id == upload_id).values(url=url, offset=offset))

    def save_offset(self, upload_id: int, offset: int) -> None:
        with self.db.write() as s:
            s.execute(update(Upload).where(Upload.id == upload_id).values(offset=offset))

    def note(self, upload_id: int, text: str | None) -> None:
        """What keeps a waiting upload from moving, in words (None: nothing now)."""
        with self.db.write() as s:
            s.execute(
                update(Upload).where(Upload.id == upload_id, Upload.status != "failed")
                .values(last_error=None if text is None else text[:2000])
            )

    def mark_done(self, upload_id: int) -> None:
        with self.db.write() as s:
            s.execute(
                update(Upload).where(Upload.id == upload_id).values(
                    status="done", offset=Upload.size, last_error=None, done_at=utc_now_text()
                )
            )

    def mark_failed(self, upload_id: int, reason: str) -> None:
        with self.db.write() as s:
            s.execute(
                update(Upload).where(Upload.id == upload_id).values(
                    status="failed", last_error=reason[:2000], attempts=Upload.attempts + 1
                )
            )

    def release(self, upload_id: int, error: str | None = None) -> None:
        """Back to waiting: paused (no error) or interrupted (the error, counted)."""
        values: dict[str, object] = {"status": "pending"}
        if error is not None:
            values.update(last_error=error[:2000], attempts=Upload.attempts + 1)
        with self.db.write() as s:
            s.execute(
                update(Upload).where(Upload.id == upload_id, Upload.status == "uploading")
                .values(**values)
            )

