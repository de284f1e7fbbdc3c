"""Acquisition: import what an imaging device drops into this PC's acquisition folder.

Runs in the sync agent, so it works while the app is closed and with no network. A
watchdog observer (or, for network shares that send no events, a polling observer)
wakes the job when the folder changes; each `run()` is one pass:

1. every file in the folder is observed; one not yet complete (app.imaging.complete)
   waits for a later pass; one that stays incomplete is listed as failed, untouched;
2. a ready file is copied into the image store and the copy read back and hashed
   again; if the source changed meanwhile it was not complete after all: the copy is
   dropped and the file waits;
3. it is filed for the patient of the active acquisition — unless its DICOM header
   names someone else or cannot be confirmed (quarantine, with the reason) — or, with
   no acquisition active, kept in the unassigned inbox; CT slices of one series
   become one item;
4. only after that is committed, and if the source is still as it was copied, is it
   moved into `imported/`;
5. an original in `imported/` whose upload was done more than the admin's number of
   days ago (acquisition.FolderSettings.keep_days) is removed, checked once an hour:
   the disk keeps the practice's images only sealed in the image store.

Each file is examined on its own: whatever goes wrong with one (a malformed header,
a decoder fault) lists that file as failed with the reason, and the pass goes on.
A crash between 3 and 4 leaves the source in place; the next pass sees that this
path and content were already taken and only moves it. Nothing dropped is deleted
before its copy is stored, verified and sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.imaging import acquisition, classify, importer
from app.imaging.cas import ImageStore, StoredFile
from app.imaging.classify import Classified
from app.imaging.errors import ImagingError
from app.store.db import Database
from app.store.images.acquisition_repo import (
    AcquisitionRepo,
    ActiveAcquisition,
    Ingest,
    SourceFacts,
)

log = logging.getLogger("chairside.agent.acquisition")
BATCH = 200  # files filed per transaction
PRUNE_EVERY_S = 3600.0  # how often imported/ is looked through for old originals



def _kind(path: Path) -> str:
    """What a log line may say of a device's file: its type, never its name."""
    return path.suffix.lower().lstrip(".")[:8] or "unnamed"

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

    def describe(self) -> str:
        if not self.imported:
            return ""
        return f"{self.imported} imported, {self.failed} failed"


def _odd(path: Path, exc: Exception) -> str:
    """A reason for an unexpected failure, in words, naming the file."""
    if isinstance(exc, ImagingError | OSError):
        return importer.reason_for(path, exc)
    return (f"{path.name} could not be read as an image file ({exc or 'unknown fault'}). "
            "It was left in place.")


class _Wake:
    """watchdog handler: any event in the folder wakes the next pass."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def dispatch(self, _event: Any) -> None:
        self.event.set()


class AcquisitionJob:
    name = "acquisition"

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
        wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.db = db
        self.files = files or ImageStore.of(db)
        self.files.clean_tmp()
        self.repo = AcquisitionRepo(db, self.files)
        self.fixed_folder = folder  # None: read this PC's settings each pass
        self.settler = acquisition.Settler(settle_s, incomplete_after_s, clock)
        self.idle_scan_s = idle_scan_s
        self.clock = clock
        self.wake = threading.Event()
        self.wake.set()
        self.last_scan = -1e9
        self.wall_clock = wall_clock  # the date the originals' days are counted against
        self.last_prune = -1e9
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

    def prepare(self) -> str | None:
        """Why no pass is due now, in words; None when one is: woken by the folder,
        files settling, or `idle_scan_s` gone by in case an event was missed. Keeps the
        folder watched, and removes old originals once an hour."""
        settings = self.settings()
        if settings.folder is None:
            self.unwatch()
            return "no acquisition folder is set on this computer"
        if not settings.folder.is_dir():
            # A share that is not mounted, a disk not plugged in: never created here
            # (files would land on the wrong disk), only looked for again later.
            self.unwatch()
            return self._trouble(f"The acquisition folder {settings.folder} cannot be reached.")
        try:
            self.watch(settings.folder, settings.polling)
        except OSError as exc:
            return self._trouble(
                f"The acquisition folder {settings.folder} cannot be watched: {exc}")
        self.problem = None
        self._tune(settings)
        if self.clock() - self.last_prune >= PRUNE_EVERY_S:
            self.last_prune = self.clock()
            try:
                self.remove_old_originals(settings)
            except Exception:  # the originals wait for the next hour; imports go on
                log.exception("acquisition: removing old originals failed")
        due = self.clock() - self.last_scan >= self.idle_scan_s
        if not (self.wake.is_set() or self.settler.seen or due):
            return "nothing new in the acquisition folder"
        self.wake.clear()
        return None

    def _tune(self, settings: acquisition.FolderSettings) -> None:
        if settings.settle_s is not None:
            self.settler.settle_s = settings.settle_s
        if settings.incomplete_after_s is not None:
            self.settler.incomplete_after_s = settings.incomplete_after_s
        if settings.polling:
            # Network shares report times coarsely and late: wait longer for quiet.
            self.settler.settle_s = max(self.settler.settle_s, 3.0)

    def _trouble(self, message: str) -> str:
        if message != self.problem:  # logged once, not at every tick
            log.warning("acquisition: %s", message)
        self.problem = message
        return message

    # The originals ----------------------------------------------------------------------
    def remove_old_originals(self, settings: acquisition.FolderSettings | None = None) -> int:
        """Remove from imported/ the originals whose copy is in the image store and was
        uploaded more than the admin's number of days ago; how many were removed."""
        settings = settings or self.settings()
        days = settings.originals_days
        if settings.folder is None or days <= 0:
            return 0
        imported = settings.folder / acquisition.IMPORTED
        if not imported.is_dir():
            return 0
        before = (self.wall_clock().astimezone(dt.UTC) - dt.timedelta(days=days)
                  ).replace(microsecond=0).isoformat()
        removed = 0
        for src, sha in self.repo.originals_sent(imported, before):
            # Already gone, or another file now lies there: only what was sent goes.
            if not self._unchanged(src.path, src) or not self.files.has(sha):
                continue
            try:
                src.path.unlink()
            except OSError:
                log.warning("acquisition: an old %s original could not be removed",
                            _kind(src.path))
                continue
            removed += 1
            folder = src.path.parent
            while folder != imported and folder.is_relative_to(imported):
                try:
                    folder.rmdir()  # a study's subfolder, once empty
                except OSError:
                    break
                folder = folder.parent
        if removed:
            log.info("acquisition: %d originals sent more than %d days ago removed",
                     removed, days)
        return removed

    # One pass -------------------------------------------------------------------------
    def run(self, folder: Path | None = None) -> ScanReport:
        folder = folder or self.settings().folder
        report = ScanReport()
        if folder is None:
            return report
        self.last_scan = self.clock()
        found = acquisition.candidates(folder, temporary=True)
        self.settler.prune({str(p) for p, _st in found})
        ready: list[tuple[Path, os.stat_result]] = []
        failed = self.repo.failed_sources()
        for path, st in found:
            report.seen += 1
            if failed.get(str(path)) == (st.st_size, st.st_mtime_ns):
                self.settler.forget(path)
                continue
            try:
                if not self.settler.observe(path, st):
                    report.waiting += 1
                    continue
                temporary = acquisition.temporary_reason(path.name)
                if temporary is not None:
                    # Another program's working file: never taken; listed if it stays.
                    if self.settler.stable_for(path) >= self.settler.incomplete_after_s:
                        self._fail(path, st, temporary, report)
                    continue
                reason = acquisition.incomplete_reason(path)
                if (reason is None and not acquisition.has_provable_end(path)
                        and self.settler.stable_for(path) < self.settler.incomplete_after_s):
                    # Nothing in the file says it is finished: only a long quiet does.
                    report.waiting += 1
                    continue
            except Exception as exc:  # one odd file never stops the pass
                log.exception("acquisition: examining a %s file failed", _kind(path))
                self._fail(path, st, _odd(path, exc), report)
                continue
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

    def _fail(self, path: Path, st: os.stat_result | SourceFacts, reason: str,
              report: ScanReport) -> None:
        facts = st if isinstance(st, SourceFacts) else SourceFacts(path, st.st_size,
                                                                    st.st_mtime_ns)
        self.repo.record_failed(facts, reason)
        self.settler.forget(path)
        report.failed += 1
        # The reason names the file (a device may put a patient's name in it): it is
        # kept in the inbox, in the encrypted database, not in the log.
        log.warning("acquisition: a %s file was listed as failed", _kind(path))

    def _import(self, folder: Path, ready: list[tuple[Path, os.stat_result]],  # noqa: C901, PLR0912, PLR0915
                report: ScanReport) -> None:
        stored: list[tuple[StoredFile, Classified, Path]] = []
        facts: dict[str, SourceFacts] = {}
        for path, st in ready:
            try:
                copy = self.files.add_file(path, verify=True)
            except Exception as exc:  # this file fails with its reason; the others go on
                self._fail(path, st, importer.reason_for(path, exc), report)
                continue
            try:
                found = classify.classify_as(copy.path, path.name)
            except Exception as exc:
                self._discard(copy)  # refused: no copy kept of what was not filed
                self._fail(path, st, _odd(path, exc).replace(copy.path.name, path.name),
                           report)
                continue
            if not self._unchanged(path, st):
                # Still being written: not complete after all. The copy is dropped and
                # the file waits for its next quiet period.
                self._discard(copy)
                self.settler.forget(path)
                report.waiting += 1
                continue
            stored.append((copy, found, path))
            facts[str(path)] = SourceFacts(path, st.st_size, st.st_mtime_ns)
        taken = self.repo.taken((str(p), c.sha256) for c, _f, p in stored)
        to_move = [p for c, _f, p in stored if (str(p), c.sha256) in taken]
        stored = [(c, f, p) for c, f, p in stored if (str(p), c.sha256) not in taken]
        active = self.repo.active()
        entries = []
        for item in self._group(stored, facts, report):
            sources = [facts[str(p)] for p in item.sources]
            try:
                entries.append(self._decide(item, sources, active))
            except Exception as exc:
                for src in sources:
                    self._fail(src.path, src, _odd(src.path, exc), report)
        try:
            self.repo.ingest(entries)
        except Exception as exc:
            log.exception("acquisition: filing failed; filing the items one by one")
            entries = self._ingest_each(entries, report)
            if not entries:  # the database itself is in trouble: all wait for next pass
                report.errors.append(str(exc))
                return
        for e in entries:
            setattr(report, e.status, getattr(report, e.status) + len(e.sources))
            to_move.extend(src.path for src in e.sources)
        moves: list[tuple[Path, Path]] = []
        for path in to_move:
            fact = facts.get(str(path))
            if fact is not None and not self._unchanged(path, fact):
                # Written to again after it was filed: left in place, so that the
                # writer never finishes it inside imported/; the next pass takes
                # the new content.
                report.errors.append(f"{path.name} changed after it was filed; it waits.")
                self.settler.forget(path)
                continue
            try:
                target = acquisition.move_to_imported(path, folder)
                report.moved += 1
            except OSError as exc:
                # Filed already; the next pass sees it as taken and tries the move again.
                report.errors.append(f"{path.name} could not be moved: {exc}")
                continue
            finally:
                self.settler.forget(path)
            moves.append((path, target))
        try:
            self.repo.moved(moves)
        except Exception as exc:  # the files are filed and moved; only the note is late
            log.exception("acquisition: recording the moves failed")
            report.errors.append(str(exc))

    def _ingest_each(self, entries: list[Ingest], report: ScanReport) -> list[Ingest]:
        """File what can be filed; an item that cannot is listed as failed with the
        reason, unless nothing could be filed at all (then nothing is judged)."""
        filed, refused = [], []
        for e in entries:
            try:
                self.repo.ingest([e])
                filed.append(e)
            except Exception as exc:
                refused.append((e, exc))
        if filed:
            for e, why in refused:
                for src in e.sources:
                    try:
                        self._fail(src.path, src, _odd(src.path, why), report)
                    except Exception:
                        log.exception("acquisition: could not list a %s file as failed",
                                      _kind(src.path))
        return filed

    @staticmethod
    def _unchanged(path: Path, st: os.stat_result | SourceFacts) -> bool:
        try:
            now = path.stat()
        except OSError:
            return False
        size, mtime = ((st.size, st.mtime_ns) if isinstance(st, SourceFacts)
                       else (st.st_size, st.st_mtime_ns))
        return (now.st_size, now.st_mtime_ns) == (size, mtime)

    def _discard(self, copy: StoredFile) -> None:
        if copy.existed:
            return  # the same content was stored before: someone else's
        try:
            copy.path.unlink()
        except OSError:
            log.warning("acquisition: could not drop the partial copy %s", copy.sha256)

    def _group(self, stored: list[tuple[StoredFile, Classified, Path]],
               facts: dict[str, SourceFacts], report: ScanReport) -> list[importer.Prepared]:
        try:
            return importer.group(self.files, stored).items
        except Exception:
            log.exception("acquisition: grouping failed; filing the files one by one")
        items = []
        for one in stored:
            try:
                items.extend(importer.group(self.files, [one]).items)
            except Exception as exc:
                fact = facts[str(one[2])]
                self._fail(one[2], fact, _odd(one[2], exc), report)
        return items

    def _decide(self, item: importer.Prepared, sources: list[SourceFacts],
                active: ActiveAcquisition | None) -> Ingest:
        if active is None:
            return Ingest(item, sources, "unassigned",
                          "No acquisition was active on this computer when it arrived.")
        if item.dicom is not None:
            mismatch = acquisition.dicom_mismatch(
                item.dicom, active.first_name, active.last_name, active.birth_date,
                active.identifiers, active.number)
            if mismatch:
                return Ingest(item, sources, "quarantined", mismatch)
        return Ingest(item, sources, "attached", active=active)
