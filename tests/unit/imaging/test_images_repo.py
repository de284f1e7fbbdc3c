"""Images filed in records: synced through the outbox, queued for upload, grouped."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.store.errors import StoreError
from app.store.images.images_repo import ImagesRepo
from app.store.models import OutboxMutation, Upload
from app.store.sync.uploads_repo import UploadsRepo
from tests.unit.imaging import samples


def test_adding_files_files_them_queues_them_and_dedupes(store, admin, patient, files,
                                                         tmp_path: Path) -> None:
    v = admin.viewer()
    repo = ImagesRepo(store.db, files)
    visit = store.records.add_visit(v, patient.id, {"visit_date": "2026-03-01", "name": "Check"})
    jpg = samples.photo(tmp_path / "mouth.jpg")
    twin = tmp_path / "same-bytes.jpg"
    twin.write_bytes(jpg.read_bytes())
    empty = tmp_path / "empty.png"
    empty.touch()
    report = repo.add_files(v, patient.id, [jpg, samples.dicom_xray(tmp_path / "x.dcm"),
                                            twin, empty], visit_id=visit.id)
    # The twin has the photo's bytes: one image in the record, not two.
    assert [r.kind for r in report.added] == ["intraoral_photo", "xray"]
    assert report.already == ["same-bytes.jpg"]
    assert report.failed == [("empty.png", "empty.png is empty (0 bytes).")]
    assert report.warnings == []  # the X-ray names John Doe, born 1980-01-02: this patient
    assert len({p for p in files.root.glob("??/*")}) == 2  # one stored file each ...
    with store.db.read() as s:
        queued = list(s.scalars(select(OutboxMutation).where(
            OutboxMutation.entity == "record_image")))
        uploads = list(s.scalars(select(Upload)))
    assert len(queued) == 2  # ... and one synced row each
    assert queued[0].payload["fields"]["visit_id"] == visit.id
    assert {u.sha256 for u in uploads} == {r.sha256 for r in report.added}
    assert all(Path(u.path).is_file() and u.patient_id == patient.id for u in uploads)
    assert UploadsRepo(store.db).counts().files == 2
    # In another record the same photo is an image of that record too.
    again = repo.add_files(v, patient.id, [twin], new_record="Later")
    assert len(again.added) == 1 and again.added[0].sha256 == report.added[0].sha256
    assert UploadsRepo(store.db).counts().files == 2  # the bytes are sent once
    # Filed as the person asked, but a DICOM naming someone else is pointed out.
    other = repo.add_files(v, patient.id, [samples.dicom_xray(tmp_path / "roe.dcm",
                                                              name="ROE^JANE")])
    assert "names ROE, JANE" in other.warnings[0][1] and len(other.added) == 1



def test_grouped_by_record_newest_first(store, admin, patient, files, tmp_path) -> None:
    v = admin.viewer()
    repo = ImagesRepo(store.db, files)
    old = store.records.add_visit(v, patient.id, {"visit_date": "2025-01-01", "name": "Old"})
    new = store.records.add_visit(v, patient.id, {"visit_date": "2026-01-01", "name": "New"})
    repo.add_files(v, patient.id, [samples.photo(tmp_path / "a.jpg", seed=1)], visit_id=old.id)
    repo.add_files(v, patient.id, [samples.photo(tmp_path / "b.jpg", seed=2)], visit_id=new.id)
    made = repo.add_files(v, patient.id, [samples.stl_binary(tmp_path / "c.stl")],
                          new_record="Scan day")
    loose = repo.add_files(v, patient.id, [samples.obj(tmp_path / "d.obj")])
    groups = repo.by_record(v, patient.id)
    today_group = groups[0]
    assert today_group.visit_id == made.visit_id and "Scan day" in today_group.label
    assert [g.visit_name for g in groups[1:3]] == ["New", "Old"]
    assert groups[-1].visit_id is None and groups[-1].images[0].id == loose.added[0].id
    repo.delete(v, loose.added[0].id)
    assert all(g.visit_id is not None for g in repo.by_record(v, patient.id))


def test_series_met_again_grows_its_manifest(store, admin, patient, files, tmp_path) -> None:
    v = admin.viewer()
    repo = ImagesRepo(store.db, files)
    slices = samples.ct_series(tmp_path / "ct", n=6)
    repo.add_files(v, patient.id, slices[:3])
    repo.add_files(v, patient.id, slices[3:])
    [group] = repo.by_record(v, patient.id)
    [item] = group.images
    assert item.is_series and len(repo.series_files(item)) == 6


def test_record_image_on_the_wire(store, admin, patient, files, tmp_path) -> None:
    from app.core.wire import Mutation, SchemaError

    v = admin.viewer()
    ImagesRepo(store.db, files).add_files(v, patient.id, [samples.obj(tmp_path / "a.obj")])
    with store.db.read() as s:
        [queued] = s.scalars(select(OutboxMutation).where(
            OutboxMutation.entity == "record_image"))
    m = Mutation.from_wire(queued.payload)
    assert m.fields["kind"] == "intraoral_scan" and m.fields["visit_id"] is None
    assert m.fields["taken_at"].endswith("+00:00") and m.fields["size"] > 0
    bad = dict(queued.payload, fields={**queued.payload["fields"], "kind": "selfie"})
    with pytest.raises(SchemaError, match="kind must be one of"):
        Mutation.from_wire(bad)
    with pytest.raises(StoreError, match="Unknown kind"):
        ImagesRepo(store.db, files).add_files(v, patient.id, [], kind="selfie")
