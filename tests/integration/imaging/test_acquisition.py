"""The acquisition folder, as a device and a dentist use it."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from app.imaging import acquisition
from app.imaging.cas import hash_file
from app.imaging.sealed import read_plain
from app.store.images.acquisition_repo import AcquisitionRepo
from app.store.images.images_repo import ImagesRepo
from sync_agent.acquisition_job import AcquisitionJob, ScanReport
from tests.support.waiting import wait_until
from tests.unit.imaging import samples


def _job(store, drop, files, clock=None, **kw) -> AcquisitionJob:
    kw.setdefault("settle_s", 1.0)
    if clock is not None:
        kw["clock"] = clock
    return AcquisitionJob(store.db, drop, files=files, **kw)


def _pass(job: AcquisitionJob, clock, n: int = 2) -> ScanReport:
    """Enough passes, a settle period apart, for a complete file to be taken; the
    counts of all of them."""
    total = ScanReport()
    for _ in range(n):
        report = job.run()
        for name in ("attached", "unassigned", "quarantined", "failed", "moved"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        clock.advance(1.5)
    return total


def _images(store, admin, patient, files):
    return [i for g in ImagesRepo(store.db, files).by_record(admin.viewer(), patient.id)
            for i in g.images]


def test_slowly_written_file_is_imported_once_and_whole(store, admin, patient, files, drop,
                                                        tmp_path) -> None:
    AcquisitionRepo(store.db, files).start(admin.viewer(), patient.id, new_record="X-rays")
    whole = samples.photo(tmp_path / "src.jpg", size=(800, 600)).read_bytes()
    target = drop / "IMG_0001.jpg"
    job = _job(store, drop, files, settle_s=0.05)
    done = threading.Event()

    def device() -> None:
        # Pauses longer than the settle time: only the end marker tells it is not done.
        with open(target, "wb") as f:
            for i in range(0, len(whole), len(whole) // 5):
                f.write(whole[i : i + len(whole) // 5])
                f.flush()
                time.sleep(0.2)
        done.set()

    writer = threading.Thread(target=device)
    writer.start()
    taken: list[int] = []

    def imported() -> bool:
        taken.append(job.run().imported)
        return done.is_set() and not target.exists()

    wait_until(imported)
    writer.join()
    assert sum(taken) == 1
    [image] = _images(store, admin, patient, files)
    assert image.sha256 == hash_file(drop / "imported" / "IMG_0001.jpg")[0]
    assert read_plain(image.path) == whole
    assert AcquisitionRepo(store.db, files).inbox() == []


def test_dicom_of_someone_else_is_quarantined_with_the_reason(store, admin, patient, files,
                                                              drop, clock) -> None:
    repo = AcquisitionRepo(store.db, files)
    repo.start(admin.viewer(), patient.id)
    samples.dicom_xray(drop / "pan.dcm", name="ROE^JANE", birth="19900505")
    samples.dicom_xray(drop / "own.dcm", name="DOE^JOHN", birth="19800102")
    job = _job(store, drop, files, clock)
    report = _pass(job, clock)
    assert (report.attached, report.quarantined, report.moved) == (1, 1, 2)
    [image] = _images(store, admin, patient, files)
    assert image.filename == "own.dcm"
    [held] = repo.inbox()
    assert held.status == "quarantined" and held.filename == "pan.dcm"
    assert "ROE, JANE" in (held.reason or "") and "John Doe" in (held.reason or "")
    assert sorted(p.name for p in (drop / "imported").iterdir()) == ["own.dcm", "pan.dcm"]
    # A person who checked it may still file it (here: for the same patient).
    repo.attach(admin.viewer(), [held.id], patient.id)
    assert len(_images(store, admin, patient, files)) == 2


def test_corrupt_file_is_listed_with_its_reason_and_left_alone(store, files, drop,
                                                                clock) -> None:
    whole = samples.dicom_xray(drop.parent / "whole.dcm", rows=200, cols=200).read_bytes()
    bad = drop / "cut.dcm"
    bad.write_bytes(whole[:-3000])
    empty = drop / "empty.jpg"
    empty.touch()
    before = hash_file(bad)
    job = _job(store, drop, files, clock, incomplete_after_s=10)
    assert _pass(job, clock).imported == 0
    assert AcquisitionRepo(store.db, files).inbox() == []  # still waiting: maybe in flight
    clock.advance(10)
    report = job.run()
    assert report.failed == 2
    rows = {r.filename: r for r in AcquisitionRepo(store.db, files).inbox()}
    assert rows["cut.dcm"].status == "failed" and "cut short" in (rows["cut.dcm"].reason or "")
    assert "empty" in (rows["empty.jpg"].reason or "")
    assert hash_file(bad) == before and empty.exists()
    assert _pass(job, clock).failed == 0  # listed once, not again at every pass
    # Fixed by the device (written again whole): imported then.
    bad.write_bytes(whole)
    os.utime(bad, ns=(time.time_ns(), time.time_ns()))
    assert _pass(job, clock).unassigned == 1
    statuses = {r.filename: r.status for r in AcquisitionRepo(store.db, files).inbox()}
    assert statuses == {"cut.dcm": "unassigned", "empty.jpg": "failed"}


def test_unassigned_inbox_then_attached_by_a_person(store, admin, patient, files, drop,
                                                    clock) -> None:
    samples.photo(drop / "a.jpg", seed=1)
    samples.stl_binary(drop / "upper.stl")
    samples.ct_series(drop / "study-1", n=4)  # a device that writes a folder per study
    job = _job(store, drop, files, clock)
    report = _pass(job, clock)
    assert report.unassigned == 6
    repo = AcquisitionRepo(store.db, files)
    waiting = repo.inbox()
    assert {r.status for r in waiting} == {"unassigned"} and len(waiting) == 6
    assert _images(store, admin, patient, files) == []
    added = repo.attach(admin.viewer(), [r.id for r in waiting], patient.id,
                        new_record="From the scanner")
    kinds = sorted(i.kind for i in added.added)
    assert kinds == ["cbct", "intraoral_photo", "intraoral_scan"]  # the series is one item
    assert repo.inbox() == []
    moved = sorted(str(p.relative_to(drop / "imported")) for p in
                   (drop / "imported").rglob("*") if p.is_file())
    assert moved == ["a.jpg", *(f"study-1/slice{i:03d}.dcm" for i in range(4)), "upper.stl"]
    assert acquisition.candidates(drop) == []


def test_a_crash_before_the_move_does_not_file_twice(store, admin, patient, files, drop,
                                                     clock, monkeypatch) -> None:
    AcquisitionRepo(store.db, files).start(admin.viewer(), patient.id)
    samples.photo(drop / "a.jpg")
    job = _job(store, drop, files, clock)

    def power_cut(_source: Path, _folder: Path) -> Path:
        raise OSError("the power went")

    monkeypatch.setattr(acquisition, "move_to_imported", power_cut)
    _pass(job, clock)
    assert (drop / "a.jpg").exists()
    monkeypatch.undo()
    fresh = _job(store, drop, files, clock)  # the agent started again
    _pass(fresh, clock)
    assert not (drop / "a.jpg").exists() and (drop / "imported" / "a.jpg").exists()
    assert len(_images(store, admin, patient, files)) == 1


def test_the_agent_watches_the_configured_folder(store, admin, patient, files, drop) -> None:
    acquisition.save_settings(store.db.path, acquisition.FolderSettings(drop))
    AcquisitionRepo(store.db, files).start(admin.viewer(), patient.id)
    job = AcquisitionJob(store.db, files=files, settle_s=0.05, idle_scan_s=3600)
    try:
        job.prepare()  # starts the observer
        samples.photo(drop / "b.jpg")
        wait_until(lambda: job.prepare() is None and bool(job.run())
                   and (drop / "imported" / "b.jpg").exists())
    finally:
        job.unwatch()
    assert len(_images(store, admin, patient, files)) == 1


def test_the_agent_imports_with_no_server_at_all(store, admin, patient, drop,
                                                 secrets_store) -> None:
    from sync_agent.runner import Agent

    acquisition.save_settings(store.db.path, acquisition.FolderSettings(drop))
    AcquisitionRepo(store.db).start(admin.viewer(), patient.id)
    agent = Agent(store.db, secrets_store, tick_s=0.05)
    agent.acquisition.settler.settle_s = 0.05
    samples.stl_ascii(drop / "upper.stl")
    try:
        wait_until(lambda: agent.tick() is None and (drop / "imported" / "upper.stl").exists())
    finally:
        agent.acquisition.unwatch()
    assert agent.last_error == "not connected to a server yet"
    [image] = [i for g in ImagesRepo(store.db).by_record(admin.viewer(), patient.id)
               for i in g.images]
    assert image.kind == "intraoral_scan" and image.present


def test_an_unreachable_folder_is_reported_and_never_created(store, tmp_path, files) -> None:
    gone = tmp_path / "share-not-mounted"
    acquisition.save_settings(store.db.path, acquisition.FolderSettings(gone, polling=True))
    job = AcquisitionJob(store.db, files=files)
    assert job.prepare() == f"The acquisition folder {gone} cannot be reached."
    assert not gone.exists() and "cannot be reached" in (job.problem or "")
    gone.mkdir()
    samples.photo(gone / "a.jpg")
    try:
        assert job.prepare() is None and job.problem is None
        assert job.run().seen == 1
    finally:
        job.unwatch()


def test_an_item_is_attached_once(store, admin, patient, files, drop, clock) -> None:
    import pytest

    from app.store.errors import NotFoundError

    samples.photo(drop / "a.jpg")
    _pass(_job(store, drop, files, clock), clock)
    repo = AcquisitionRepo(store.db, files)
    [row] = repo.inbox()
    repo.attach(admin.viewer(), [row.id], patient.id)
    with pytest.raises(NotFoundError, match="meanwhile"):
        repo.attach(admin.viewer(), [row.id], patient.id)  # a second window, too late
    assert len(_images(store, admin, patient, files)) == 1


def test_a_forgotten_acquisition_ends_by_itself(store, admin, patient, files, drop,
                                                clock) -> None:
    import datetime as dt

    repo = AcquisitionRepo(store.db, files)
    repo.start(admin.viewer(), patient.id)
    assert repo.active() is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)
    assert repo.active(now=later) is None
    with store.db.write() as s:  # as if it had been started five hours ago
        from app.store.models import AcquisitionContext

        row = s.get(AcquisitionContext, 1)
        row.started_at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)).isoformat()
    samples.photo(drop / "next-patient.jpg")
    assert _pass(_job(store, drop, files, clock), clock).unassigned == 1
    assert _images(store, admin, patient, files) == []


def test_originals_go_the_admins_days_after_their_upload_and_not_before(clinic, tmp_path
                                                                        ) -> None:
    import datetime as dt

    from tests.integration.agent.test_uploads import drain, new_patient

    (pc,) = clinic(1)
    drop = tmp_path / "drop"
    (drop / "study").mkdir(parents=True)
    acquisition.save_settings(pc.store.db.path, acquisition.FolderSettings(drop, keep_days=10))
    patient = new_patient(pc)
    AcquisitionRepo(pc.store.db).start(pc.admin.viewer(), patient)
    job = pc.agent.acquisition
    job.settler.settle_s = 0.05
    today = [dt.datetime.now(dt.UTC)]
    job.wall_clock = lambda: today[0]
    hour = [0.0]
    job.clock = lambda: time.monotonic() + hour[0]

    def loop(days: float = 0) -> None:
        """The agent's loop an hour (and `days`) later: the originals' check is due."""
        today[0] += dt.timedelta(days=days)
        hour[0] += 3600
        pc.agent.run_job(pc.agent.acquisition)

    def taken(path: Path) -> bool:
        """The agent's loop once more; whether `path` was moved to imported/ by now."""
        pc.agent.run_job(pc.agent.acquisition)
        return path.exists()

    whole = samples.photo(drop / "study" / "IMG_0001.jpg").read_bytes()
    kept = samples.photo(tmp_path / "other.jpg", size=(64, 48))
    original = drop / "imported" / "study" / "IMG_0001.jpg"
    try:
        wait_until(lambda: taken(original))
        loop(days=40)  # imported long ago, but not sent: the only copy off this PC
        assert original.read_bytes() == whole
        drain(pc.agent)
        today[0] = dt.datetime.now(dt.UTC)  # the upload is stamped by the real clock
        [image] = [i for g in ImagesRepo(pc.store.db).by_record(pc.admin.viewer(), patient)
                   for i in g.images]
        assert pc.agent.uploads.get(image.sha256).status == "done"
        loop(days=9)  # sent, but not ten days ago yet
        assert original.is_file()
        loop(days=2)
        assert not original.exists() and not (drop / "imported" / "study").exists()
        assert read_plain(image.path) == whole  # the sealed copy is all that is left
        assert whole not in image.path.read_bytes()

        # Another file lying where a sent one was is not the one that was sent.
        samples.photo(drop / "b.jpg", size=(32, 32))
        b = drop / "imported" / "b.jpg"
        wait_until(lambda: taken(b))
        drain(pc.agent)
        today[0] = dt.datetime.now(dt.UTC)
        b.write_bytes(kept.read_bytes())
        loop(days=11)
        assert b.read_bytes() == kept.read_bytes()

        # 0: the admin keeps the originals for good.
        acquisition.save_settings(pc.store.db.path,
                                  acquisition.FolderSettings(drop, keep_days=0))
        samples.photo(drop / "c.jpg", size=(40, 40))
        c = drop / "imported" / "c.jpg"
        wait_until(lambda: taken(c))
        drain(pc.agent)
        today[0] = dt.datetime.now(dt.UTC)
        loop(days=400)
        assert c.is_file()
    finally:
        job.unwatch()
