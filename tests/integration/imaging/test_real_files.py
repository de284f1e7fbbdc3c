"""The acquisition folder with DICOM files nobody on this team made (pydicom's corpus)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from app.imaging import classify
from app.imaging.cas import hash_file
from app.imaging.sealed import read_plain
from app.store.images.acquisition_repo import AcquisitionRepo
from sync_agent.acquisition_job import AcquisitionJob
from tests.integration.imaging.test_acquisition import _images, _job
from tests.integration.imaging.test_acquisition import _pass as _passes
from tests.support.waiting import wait_until
from tests.unit.imaging import samples


def test_one_odd_file_never_stops_the_others(store, admin, patient, files, drop, clock,
                                             monkeypatch) -> None:
    """badVR.dcm (NumberOfFrames "1A") and a file whose reading blows up inside the
    decoder sit among good files: the good ones are filed in the same passes."""
    AcquisitionRepo(store.db, files).start(admin.viewer(), patient.id)
    shutil.copy(samples.corpus("test_files/badVR.dcm"), drop / "badVR.dcm")
    samples.dicom_xray(drop / "good1.dcm")
    samples.photo(drop / "good2.jpg")
    samples.dicom_xray(drop / "boom.dcm")
    real = classify.classify_as

    def explode(path: Path, name: str):
        if name == "boom.dcm":
            raise ValueError("something no one foresaw")
        return real(path, name)

    monkeypatch.setattr(classify, "classify_as", explode)
    report = _passes(_job(store, drop, files, clock), clock)
    assert report.attached == 2 and report.failed == 1
    assert sorted(i.filename for i in _images(store, admin, patient, files)) == [
        "good1.dcm", "good2.jpg"]
    rows = {r.filename: r for r in AcquisitionRepo(store.db, files).inbox()}
    assert rows["boom.dcm"].status == "failed"
    assert "something no one foresaw" in (rows["boom.dcm"].reason or "")
    assert (drop / "boom.dcm").exists()  # left where it was
    # badVR's header names someone else: held for a person with the reason, not lost.
    assert rows["badVR.dcm"].status == "quarantined"


def test_a_tiff_preamble_does_not_hide_a_dicom(store, admin, patient, files, drop,
                                               clock) -> None:
    """CT_small and MR_small begin with a TIFF header in their preamble: they are
    DICOM files with a patient, checked like any other; the truncated one waits."""
    AcquisitionRepo(store.db, files).start(admin.viewer(), patient.id)
    for name in ("CT_small.dcm", "MR_small.dcm", "MR_truncated.dcm"):
        shutil.copy(samples.corpus(f"test_files/{name}"), drop / name)
    with open(drop / "CT_small.dcm", "rb") as f:
        assert f.read(4) == b"II*\x00"
    job = _job(store, drop, files, clock, incomplete_after_s=30)
    report = _passes(job, clock)
    assert report.quarantined == 2 and report.attached == 0
    rows = {r.filename: r for r in AcquisitionRepo(store.db, files).inbox()}
    assert rows["CT_small.dcm"].kind == "cbct" and rows["MR_small.dcm"].kind == "other"
    assert "CompressedSamples^CT1" in (rows["CT_small.dcm"].dicom_patient or "")
    assert "names CompressedSamples, CT1" in (rows["CT_small.dcm"].reason or "")
    assert "MR_truncated.dcm" not in rows and (drop / "MR_truncated.dcm").exists()
    clock.advance(30)
    job.run()
    [cut] = [r for r in AcquisitionRepo(store.db, files).inbox() if r.status == "failed"]
    assert cut.filename == "MR_truncated.dcm" and "cut short" in (cut.reason or "")


def test_non_latin_names_never_match_each_other(store, admin, files, drop, clock) -> None:
    """Greek, Arabic and Hebrew files while a Cyrillic-named patient is in the chair:
    all quarantined; the Cyrillic one attached; the Hebrew one, dropped again for
    the Hebrew-named patient, attached to her."""
    repo = AcquisitionRepo(store.db, files)
    russ = store.patients.create(admin.viewer(), {"first_name": "Люкceмбypг",
                                                  "gender": "other"})
    hebrew = store.patients.create(admin.viewer(), {"first_name": "דבורה",
                                                    "last_name": "שרון", "gender": "female"})
    repo.start(admin.viewer(), russ.id)
    for name in ("chrGreek.dcm", "chrArab.dcm", "chrHbrw.dcm", "chrRuss.dcm"):
        shutil.copy(samples.corpus(f"charset_files/{name}"), drop / name)
    job = _job(store, drop, files, clock)
    report = _passes(job, clock)
    assert (report.quarantined, report.attached) == (3, 1)
    assert [i.filename for i in _images(store, admin, russ, files)] == ["chrRuss.dcm"]
    held = {r.filename: r.reason or "" for r in repo.inbox()}
    assert "names Διονυσιος" in held["chrGreek.dcm"]
    assert "names שרון, דבורה" in held["chrHbrw.dcm"]
    repo.start(admin.viewer(), hebrew.id)
    shutil.copy(samples.corpus("charset_files/chrHbrw.dcm"), drop / "chrHbrw.dcm")
    assert _passes(job, clock).attached == 1
    assert [i.filename for i in _images(store, admin, hebrew, files)] == ["chrHbrw.dcm"]


def test_the_same_bytes_dropped_again_are_filed_for_the_new_patient(
        store, admin, patient, files, drop, clock) -> None:
    repo = AcquisitionRepo(store.db, files)
    other = store.patients.create(admin.viewer(), {"first_name": "Jane", "last_name": "Roe",
                                                   "gender": "female",
                                                   "birth_date": "1990-05-05"})
    repo.start(admin.viewer(), patient.id)
    original = samples.dicom_xray(drop.parent / "jane.dcm", name="ROE^JANE", birth="19900505")
    shutil.copy(original, drop / "jane.dcm")
    job = _job(store, drop, files, clock)
    assert _passes(job, clock).quarantined == 1  # John Doe was in the chair
    repo.start(admin.viewer(), other.id)
    shutil.copy(original, drop / "jane.dcm")  # the same bytes, same name, dropped again
    report = _passes(job, clock)
    assert report.attached == 1 and report.moved == 1
    [image] = _images(store, admin, other, files)
    assert image.sha256 == hash_file(original)[0]
    assert sorted(p.name for p in (drop / "imported").iterdir()) == ["jane (1).dcm",
                                                                     "jane.dcm"]


def test_a_quarantined_file_is_attached_by_a_person_with_its_reason(
        store, admin, patient, files, drop, clock) -> None:
    repo = AcquisitionRepo(store.db, files)
    repo.start(admin.viewer(), patient.id)
    samples.dicom_xray(drop / "nameless.dcm", name="", birth="")
    _passes(_job(store, drop, files, clock), clock)
    [held] = repo.inbox()
    assert held.status == "quarantined" and "names nobody" in (held.reason or "")
    assert _images(store, admin, patient, files) == []
    repo.attach(admin.viewer(), [held.id], patient.id)
    assert [i.filename for i in _images(store, admin, patient, files)] == ["nameless.dcm"]


def test_a_dicom_paused_before_its_pixels_waits_for_them(store, admin, patient, files, drop,
                                                         tmp_path) -> None:
    """The writer stops after the header for longer than the settle time: nothing is
    taken until the pixels are there, and what is stored is the whole file."""
    AcquisitionRepo(store.db, files).start(admin.viewer(), patient.id)
    whole = samples.dicom_xray(tmp_path / "x.dcm", rows=256, cols=256).read_bytes()
    pixels_at = whole.index(b"\xe0\x7f\x10\x00")  # the PixelData tag
    target = drop / "BW.dcm"
    job = AcquisitionJob(store.db, drop, files=files, settle_s=0.05)
    paused, resume = threading.Event(), threading.Event()

    def device() -> None:
        with open(target, "wb") as f:
            f.write(whole[:pixels_at])
            f.flush()
            paused.set()
            resume.wait(10)
            for i in range(pixels_at, len(whole), 65536):
                f.write(whole[i : i + 65536])

    writer = threading.Thread(target=device)
    writer.start()
    paused.wait(10)
    deadline = time.monotonic() + 0.5  # ten settle periods of silence
    while time.monotonic() < deadline:
        assert job.run().imported == 0
        time.sleep(0.05)
    resume.set()
    writer.join()
    wait_until(lambda: job.run().imported == 1 or (drop / "imported" / "BW.dcm").exists())
    [image] = _images(store, admin, patient, files)
    assert read_plain(image.path) == whole
    assert (drop / "imported" / "BW.dcm").read_bytes() == whole


def test_an_item_the_database_refuses_does_not_hold_up_the_others(
        store, admin, patient, files, drop, clock, monkeypatch) -> None:
    from app.store.images import acquisition_repo

    AcquisitionRepo(store.db, files).start(admin.viewer(), patient.id)
    samples.photo(drop / "a.jpg", seed=1)
    samples.photo(drop / "poison.jpg", seed=2)
    samples.dicom_xray(drop / "b.dcm")
    real = acquisition_repo.AcquisitionRepo._ingest_one

    def refuse(self, s, e, alive):
        if e.item.filename == "poison.jpg":
            raise ValueError("a value the database will not take")
        return real(self, s, e, alive)

    monkeypatch.setattr(acquisition_repo.AcquisitionRepo, "_ingest_one", refuse)
    report = _passes(_job(store, drop, files, clock), clock)
    assert (report.attached, report.failed) == (2, 1)
    assert sorted(i.filename for i in _images(store, admin, patient, files)) == ["a.jpg",
                                                                                 "b.dcm"]
    [failed] = AcquisitionRepo(store.db, files).inbox()
    assert failed.filename == "poison.jpg" and (drop / "poison.jpg").exists()


def test_dot_and_tilde_names_are_imported_and_temporary_files_listed_with_why(
        store, admin, patient, files, drop, clock) -> None:
    AcquisitionRepo(store.db, files).start(admin.viewer(), patient.id)
    samples.photo(drop / ".IMG_0007.jpg", seed=1)
    samples.photo(drop / "~scan.jpg", seed=2)
    (drop / "Thumbs.db").write_bytes(b"\0" * 512)
    (drop / "~$report.docx").write_bytes(b"lock")
    job = _job(store, drop, files, clock, incomplete_after_s=10)
    assert _passes(job, clock).attached == 2
    assert sorted(i.filename for i in _images(store, admin, patient, files)) == [
        ".IMG_0007.jpg", "~scan.jpg"]
    assert (drop / "Thumbs.db").exists() and (drop / "~$report.docx").exists()
    clock.advance(10)
    job.run()
    listed = {r.filename: r.reason or "" for r in AcquisitionRepo(store.db, files).inbox()}
    assert "temporary file of Windows" in listed["Thumbs.db"]
    assert "temporary file of Microsoft Office" in listed["~$report.docx"]
    assert (drop / "Thumbs.db").exists()  # left alone


def test_a_series_whose_slices_name_two_people_is_checked_slice_by_slice(
        store, admin, patient, files, drop, clock) -> None:
    import pydicom

    AcquisitionRepo(store.db, files).start(admin.viewer(), patient.id)
    slices = samples.ct_series(drop / "cbct", n=4)  # DOE^JOHN, this patient
    ds = pydicom.dcmread(slices[0])
    ds.PatientName = "ROE^JANE"  # one slice of the same series names someone else
    ds.save_as(slices[0])
    report = _passes(_job(store, drop, files, clock), clock)
    assert (report.attached, report.quarantined) == (3, 1)
    [series] = _images(store, admin, patient, files)
    assert series.filename == "CBCT series (3 slices).json"
    [held] = AcquisitionRepo(store.db, files).inbox()
    assert held.filename == slices[0].name and "names ROE, JANE" in (held.reason or "")
