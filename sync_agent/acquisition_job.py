"""Acquisition: import what an imaging device drops into this PC's acquisition folder.

Runs in the sync agent, so it works while the app is closed and with no network. A
watchdog observer (or, for network shares that send no events, a polling observer)
wakes the job when the folder changes; each `run()` is one pass:

1. every file in the folder is observed; one not yet complete (app.imaging.acquisition)
   waits for a later pass; one that stays incomplete is listed as failed, untouched;
2. a ready file is copied into the image store and the copy read back and hashed
   again; if the source changed meanwhile it was not complete after all, and waits;
3. it is filed for the patient of the active acquisition — unless its DICOM header
   names someone else (quarantine, with the reason) — or, with no acquisition active,
   kept in the unassigned inbox; CT slices of one series become one item;
4. only after that is committed is the source moved into `imported/`.

A crash between 3 and 4 leaves the source in place; the next pass sees that this name
and content were already taken and only moves it. Nothing dropped is ever deleted.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.imaging import acquisition, importer
from app.imaging.cas import ImageStore, StoredFile
from app.imaging.classify import Classified
from app.imaging.errors import ImagingError
from app.store.acquisition_repo import (
    AcquisitionRepo,
    ActiveAcquisition,
    Ingest,
    SourceFacts,
)
from app.store.db import Database

log = logging.getLogger("chairside.agent.acquisition")
BATCH = 200  # files filed per transaction


@dataclass
class ScanReport:
    seen: int = 0
    waiting: int = 0
    attached: int = 0
    unassigned: int = 0
    quarantined: int = 0
    failed: int = 0
    moved: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.attached + self.unassigned + self.quarantined


class _Wake:
    """watchdog handler: any event in the folder wakes the next pass."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def dispatch(self, _event: Any) -> None:
        self.event.set()


class AcquisitionJob:
    def __init__(
        self,
        db: Database,
        folder: Path | None = None,
        *,
        files: ImageStore | None = None,
        settle_s: float = 2.0,
        incomplete_after_s: float = 120.0,
        idle_scan_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.files = files or ImageStore()
        self.files.clean_tmp()
        self.repo = AcquisitionRepo(db, self.files)
        self.fixed_folder = folder  # None: read this PC's settings each pass
        self.settler = acquisition.Settler(settle_s, incomplete_after_s, clock)
        self.idle_scan_s = idle_scan_s
        self.clock = clock
        self.wake = threading.Event()
        self.wake.set()
        self.last_scan = -1e9
        self._observer: Any = None
        self._watched: tuple[Path, bool] | None = None
        self.problem: str | None = None  # why the folder is not being read, for the app

    # Watching -------------------------------------------------------------------------
    def settings(self) -> acquisition.FolderSettings:
        if self.fixed_folder is not None:
            return acquisition.FolderSettings(self.fixed_folder)
        return acquisition.load_settings(self.db.path)

    def watch(self, folder: Path, polling: bool = False) -> None:
        """Start (or move) the observer; idempotent."""
        if self._watched == (folder, polling):
            return
        self.unwatch()
        if polling:
            from watchdog.observers.polling import PollingObserver

            observer: Any = PollingObserver(timeout=2)
        else:
            from watchdog.observers import Observer

            observer = Observer()
        observer.schedule(_Wake(self.wake), str(folder), recursive=False)
        observer.daemon = True
        observer.start()
        self._observer, self._watched = observer, (folder, polling)
        self.wake.set()

    def unwatch(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        self._observer = self._watched = None

    def tick(self) -> ScanReport | None:
        """Called from the agent's loop: a pass when woken, when files are settling,
        or every `idle_scan_s` in case an event was missed."""
        settings = self.settings()
        if settings.folder is None:
            self.unwatch()
            return None
        if not settings.folder.is_dir():
            # A share that is not mounted, a disk not plugged in: never created here
            # (files would land on the wrong disk), only looked for again later.
            self.unwatch()
            self._trouble(f"The acquisition folder {settings.folder} cannot be reached.")
            return None
        try:
            self.watch(settings.folder, settings.polling)
        except OSError as exc:
            self._trouble(f"The acquisition folder {settings.folder} cannot be watched: {exc}")
            return None
        self.problem = None
        if settings.polling:
            # Network shares report times coarsely and late: wait longer for quiet.
            self.settler.settle_s = max(self.settler.settle_s, 3.0)
        due = self.clock() - self.last_scan >= self.idle_scan_s
        if not (self.wake.is_set() or self.settler.seen or due):
            return None
        self.wake.clear()
        return self.run(settings.folder)

    def _trouble(self, message: str) -> None:
        if message != self.problem:  # logged once, not at every tick
            log.warning("acquisition: %s", message)
        self.problem = message

    # One pass -------------------------------------------------------------------------
    def run(self, folder: Path | None = None) -> ScanReport:
        folder = folder or self.settings().folder
        report = ScanReport()
        if folder is None:
            return report
        self.last_scan = self.clock()
        found = acquisition.candidates(folder)
        self.settler.prune({str(p) for p, _st in found})
        ready: list[tuple[Path, os.stat_result]] = []
        failed = self.repo.failed_sources()
        for path, st in found:
            report.seen += 1
            if failed.get(str(path)) == (st.st_size, st.st_mtime_ns):
                self.settler.forget(path)
                continue
            if not self.settler.observe(path, st):
                report.waiting += 1
                continue
            reason = acquisition.incomplete_reason(path)
            if reason is None:
                ready.append((path, st))
            elif self.settler.stable_for(path) >= self.settler.incomplete_after_s:
                self._fail(path, st, f"{path.name}: {reason}. The file was left in place.",
                           report)
            else:
                report.waiting += 1
        for i in range(0, len(ready), BATCH):
            self._import(folder, ready[i : i + BATCH], report)
        return report

    def _fail(self, path: Path, st: os.stat_result, reason: str, report: ScanReport) -> None:
        self.repo.record_failed(SourceFacts(path, st.st_size, st.st_mtime_ns), reason)
        self.settler.forget(path)
        report.failed += 1
        log.warning("acquisition: %s", reason)

    def _import(self, folder: Path, ready: list[tuple[Path, os.stat_result]],
                report: ScanReport) -> None:
        stored: list[tuple[StoredFile, Classified, Path]] = []
        facts: dict[str, SourceFacts] = {}
        to_move: list[Path] = []
        for path, st in ready:
            try:
                copy, found = importer.store_one(self.files, path, verify=True)
                after = path.stat()
            except (ImagingError, OSError) as exc:
                self._fail(path, st, importer.reason_for(path, exc), report)
                continue
            if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
                self.settler.forget(path)  # still being written: not complete after all
                report.waiting += 1
                continue
            stored.append((copy, found, path))
            facts[str(path)] = SourceFacts(path, st.st_size, st.st_mtime_ns)
        taken = self.repo.taken((p.name, c.sha256) for c, _f, p in stored)
        to_move.extend(p for c, _f, p in stored if (p.name, c.sha256) in taken)
        stored = [(c, f, p) for c, f, p in stored if (p.name, c.sha256) not in taken]
        prepared = importer.group(self.files, stored)
        active = self.repo.active()
        entries = []
        for item in prepared.items:
            sources = [facts[str(p)] for p in item.sources]
            entries.append(self._decide(item, sources, active))
        try:
            self.repo.ingest(entries)
        except Exception as exc:  # the sources stay in place; the next pass tries again
            log.exception("acquisition: filing failed")
            report.errors.append(str(exc))
            return
        for e in entries:
            setattr(report, e.status, getattr(report, e.status) + len(e.sources))
            to_move.extend(src.path for src in e.sources)
        for path in to_move:
            try:
                acquisition.move_to_imported(path, folder)
                report.moved += 1
            except OSError as exc:
                # Filed already; the next pass sees it as taken and tries the move again.
                report.errors.append(f"{path.name} could not be moved: {exc}")
            self.settler.forget(path)

    def _decide(self, item: importer.Prepared, sources: list[SourceFacts],
                active: ActiveAcquisition | None) -> Ingest:
        if active is None:
            return Ingest(item, sources, "unassigned",
                          "No acquisition was active on this computer when it arrived.")
        if item.dicom is not None:
            mismatch = acquisition.dicom_mismatch(
                item.dicom, active.first_name, active.last_name, active.birth_date)
            if mismatch:
                return Ingest(item, sources, "quarantined", mismatch)
        return Ingest(item, sources, "attached", active=active)
