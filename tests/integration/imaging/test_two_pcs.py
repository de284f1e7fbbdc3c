"""An image filed on one PC reaches the cloud, verified by hash, and its row the other PC."""

from __future__ import annotations

import hashlib

import httpx

from app.imaging.cas import ImageStore
from app.store.images.images_repo import ImagesRepo
from app.store.images.missing_images_repo import MissingImagesRepo
from app.store.sync.uploads_repo import UploadsRepo
from sync_agent import connection
from tests.support.cloud_blobs import stored_plain_sha
from tests.unit.cloud.support import register_pc, register_practice
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
        assert stored_plain_sha(cloud.data, sha)[0] == sha
    manifest_sha = next(i.sha256 for i in report.added if i.is_series)
    assert stored_plain_sha(cloud.data, manifest_sha)[0] == manifest_sha

    # PC b keeps its images on its own disk (in this test both PCs share one process,
    # so it is given a folder of its own).
    b_files = ImageStore(tmp_path / "pc-b-images", key=b.store.db.image_key)
    b.agent.download_job.images.files = b_files
    b.sync()
    groups = ImagesRepo(b.store.db, b_files).by_record(b.admin.viewer(), patient.id)
    [group] = groups
    assert group.visit_name == "Scan day"
    got = sorted((i.kind, i.sha256, i.size) for i in group.images)
    assert got == sorted((i.kind, i.sha256, i.size) for i in report.added)
    # ... and the bytes followed, verified: b can show every image and every slice.
    assert all(i.present for i in group.images)
    for path in [photo, *series]:
        data = path.read_bytes()
        assert b_files.read_bytes(hashlib.sha256(data).hexdigest()) == data
        assert data[:64] not in b_files.path_of(hashlib.sha256(data).hexdigest()).read_bytes()
    assert MissingImagesRepo(b.store.db, b_files).missing_files() == []


def test_only_the_installation_that_holds_an_image_may_fetch_it(clinic, cloud, tmp_path,
                                                                 secrets_store) -> None:
    [a] = clinic(1)
    patient = a.store.patients.create(a.admin.viewer(), {"first_name": "Ana",
                                                         "gender": "female"})
    [image] = ImagesRepo(a.store.db).add_files(
        a.admin.viewer(), patient.id, [samples.photo(tmp_path / "p.jpg")]).added
    a.sync()
    url = f"{cloud.url}/api/v1/images/{image.sha256}"
    own = connection.load(a.store.db, secrets_store)
    assert own is not None
    with httpx.Client(base_url=cloud.url) as http:  # another practice on the same cloud
        other = register_pc(http, *register_practice(http, cloud.mail_dir, "x@example.com"))
    got = httpx.get(url, headers={"Authorization": f"Bearer {own.token}"})
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == image.sha256
    assert httpx.get(url, headers={"Authorization": f"Bearer {other.token}"}).status_code == 404
    assert httpx.get(url).status_code == 401
    thumb = f"{url}/thumbnail"
    got = httpx.get(thumb, headers={"Authorization": f"Bearer {own.token}"})
    assert got.status_code == 200 and got.content.startswith(b"\x89PNG")
    assert httpx.get(thumb, headers={"Authorization": f"Bearer {other.token}"}).status_code == 404
    assert httpx.get(thumb).status_code == 401
    bad = httpx.get(f"{cloud.url}/api/v1/images/not-a-hash",
                    headers={"Authorization": f"Bearer {own.token}"})
    assert bad.status_code == 422
