"""Hiding an offline procedure: its files kept in the recovery folder on this PC, the
copies checked, and only then its images taken out of the record."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select

from app.imaging.cas import ImageStore
from app.imaging.recovery import RecoveryFolder
from app.store import access
from app.store.db import Database
from app.store.dto import Viewer
from app.store.images.offline_procedures_repo import Procedure
from app.store.models import Patient, RecordImage, Upload


class OfflineRecoveryRepo:
    """Thread-safe; call it off the UI thread (hiding copies whole files)."""

    def __init__(
        self, db: Database, files: ImageStore | None = None,
        recovery: RecoveryFolder | None = None,
    ) -> None:
        self.db = db
        self.files = files or ImageStore.of(db)
        self.recovery = recovery or RecoveryFolder()

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
            for row in s.scalars(select(RecordImage).where(RecordImage.id.in_(ids))):
                access.check(viewer, s.get(Patient, row.patient_id))
                row.deleted = True
            s.flush()
            # Not asked to sync again; filed anew from the recovery folder, the files
            # are queued afresh. Content another live image still refers to stays queued.
            still_used = set(s.scalars(select(RecordImage.sha256).where(
                RecordImage.sha256.in_(procedure.shas), RecordImage.deleted.is_(False))))
            gone = [sha for sha in procedure.shas if sha not in still_used]
            s.execute(delete(Upload).where(Upload.sha256.in_(gone), Upload.status != "done"))
        return folder
