"""An image filed on one PC reaches the cloud, verified by hash, and its row the other PC."""

from __future__ import annotations

import hashlib

from app.store.images_repo import ImagesRepo
from app.store.uploads_repo import UploadsRepo
from tests.unit.imaging import samples


def test_image_added_on_a_arrives_on_the_cloud_and_on_b(clinic, cloud, tmp_path) -> None:
    a, b = clinic(2)
    va = a.admin.viewer()
    patient = a.store.patients.create(va, {"first_name": "Ana", "last_name": "Lima",
                                           "gender": "female"})
    photo = samples.photo(tmp_path / "mouth.jpg", size=(640, 480))
    series = samples.ct_series(tmp_path / "ct", n=3)
    report = ImagesRepo(a.store.db).add_files(va, patient.id, [photo, *series],
                                              new_record="Scan day")
    assert report.failed == []
    a.sync()
    assert UploadsRepo(a.store.db).counts().files == 0  # everything went up
    for path in [photo, *series]:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        blob = cloud.data / "blobs" / sha[:2] / sha[2:4] / sha
        assert blob.is_file() and hashlib.sha256(blob.read_bytes()).hexdigest() == sha
    manifest_sha = next(i.sha256 for i in report.added if i.is_series)
    assert (cloud.data / "blobs" / manifest_sha[:2] / manifest_sha[2:4] / manifest_sha).is_file()

    b.sync()
    groups = ImagesRepo(b.store.db).by_record(b.admin.viewer(), patient.id)
    [group] = groups
    assert group.visit_name == "Scan day"
    got = sorted((i.kind, i.sha256, i.size) for i in group.images)
    assert got == sorted((i.kind, i.sha256, i.size) for i in report.added)
