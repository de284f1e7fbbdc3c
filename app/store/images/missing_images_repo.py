"""Images filed in records whose files are not on this PC (filed on another one): what
the agent's download job fetches, and whose thumbnails it asks the server for."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from app.imaging import series
from app.imaging.cas import ImageStore
from app.imaging.errors import ImagingError
from app.store.db import Database
from app.store.models import RecordImage, SyncState

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class MissingImagesRepo:
    """Thread-safe; the agent calls it from its loop (it looks files up on disk)."""

    def __init__(self, db: Database, files: ImageStore | None = None) -> None:
        self.db = db
        self.files = files or ImageStore.of(db)

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
