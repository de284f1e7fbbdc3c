"""The cloud's folder blob store keeps images sealed: a copy of its data folder shows
no image bytes, yet uploads, downloads and the portal read them whole."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.platform import sealed
from cloud.blobstore import FilesystemBlobStore, blob_key, make_blob_store
from cloud.config import Settings
from cloud.main import create_app
from tests.support.waiting import wait_until
from tests.unit.cloud.support import PC
from tests.unit.cloud.test_tus import create, head, patch

# What a DICOM header of a real patient would hold; must never lie in the data folder.
CANARY = b"DOE^JANE-CANARY-19800102 "


def _on_disk(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in folder.rglob("*") if p.is_file()]


def test_an_upload_is_sealed_on_disk_and_downloads_whole_by_its_sha256(
    client: TestClient, pc: PC, settings: Settings,
) -> None:
    blobs = client.app.state.blobs  # type: ignore[attr-defined]
    assert isinstance(blobs, FilesystemBlobStore) and blobs.key is not None
    data = CANARY * 30_000 + os.urandom(777)  # several segments and a ragged end
    sha = hashlib.sha256(data).hexdigest()
    url = create(pc, data).headers["Location"]
    half = len(data) // 2
    assert patch(pc, url, data[:half], 0).status_code == 204
    assert patch(pc, url, data[half:], half).status_code == 204

    stored = blobs.path(sha)
    raw = stored.read_bytes()
    assert sealed.is_sealed(stored) and CANARY not in raw and raw != data
    assert not any(CANARY in b for b in _on_disk(settings.data_dir))  # uploads/ too
    r = pc.http.get(f"/api/v1/images/{sha}", headers=pc.headers)
    assert r.status_code == 200 and r.headers["Content-Length"] == str(len(data))
    assert hashlib.sha256(r.content).hexdigest() == r.headers["Chairside-SHA256"] == sha
    head = pc.http.head(f"/api/v1/images/{sha}", headers=pc.headers)
    assert head.headers["Content-Length"] == str(len(data))  # the plaintext's size


def test_the_key_is_the_operators_and_older_blobs_stay_readable(tmp_path: Path) -> None:
    made = Settings(data_dir=tmp_path / "a")
    key = blob_key(made)
    assert blob_key(made) == key  # made once, then read
    assert (tmp_path / "a" / "blob.key").stat().st_mode & 0o077 == 0
    plain = FilesystemBlobStore(tmp_path / "blobs")  # a store from before encryption
    old_data = os.urandom(5000)
    old_sha = hashlib.sha256(old_data).hexdigest()
    (tmp_path / "old").write_bytes(old_data)
    plain.put_file(old_sha, tmp_path / "old")

    first = base64.b64encode(os.urandom(32)).decode()
    settings = Settings(data_dir=tmp_path / "b", blob_dir=tmp_path / "blobs", blob_key=first)
    store = make_blob_store(settings)
    assert not (tmp_path / "b" / "blob.key").exists()  # the operator's key is used
    data = CANARY * 100
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "new").write_bytes(data)
    store.put_file(sha, tmp_path / "new")
    with store.open(sha) as f, store.open(old_sha) as g:
        assert f.read() == data and g.read() == old_data  # plain blobs read as they are
    # A new key, the first kept to read what it sealed.
    rotated = Settings(data_dir=tmp_path / "b", blob_dir=tmp_path / "blobs",
                       blob_key=base64.b64encode(os.urandom(32)).decode(),
                       blob_old_keys=first)
    with make_blob_store(rotated).open(sha) as f:
        assert f.read() == data
    sealed.forget(base64.b64decode(first))  # a copied disk, without the key
    with pytest.raises(sealed.KeyUnavailableError):
        FilesystemBlobStore(tmp_path / "blobs").open(sha).read()
    with pytest.raises(ValueError, match="CHAIRSIDE_CLOUD_BLOB_KEY") as refused:
        make_blob_store(Settings(data_dir=tmp_path / "c", blob_key="not-a-key"))
    assert "not-a-key" not in str(refused.value)


def test_bytes_that_do_not_match_their_name_are_not_sealed_in(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs", key=sealed.new_key())
    path = tmp_path / "upload.part"
    path.write_bytes(b"something")
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(RuntimeError, match="another SHA-256"):
        store.put_file(wrong, path)
    assert path.exists() and not store.has(wrong)
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []


def test_blobs_stored_before_encryption_are_sealed_in_the_background(tmp_path: Path) -> None:
    plain = FilesystemBlobStore(tmp_path / "cloud" / "blobs")  # an older server's store
    contents = {}
    for n in range(3):
        data = CANARY + os.urandom(70_000 + n)
        sha = hashlib.sha256(data).hexdigest()
        (tmp_path / "in").write_bytes(data)
        plain.put_file(sha, tmp_path / "in")
        contents[sha] = data
    damaged = plain.path(sha)  # its bytes no longer match its name: left alone
    damaged.chmod(0o640)
    damaged.write_bytes(b"bit rot")
    left_over = plain.path(sha).with_name(sha + ".999.plain")  # a pass cut off
    os.link(plain.path(next(iter(contents))), left_over)
    settings = Settings(data_dir=tmp_path / "cloud", password_mail_interval_s=0)
    with TestClient(create_app(settings)) as http:
        store = http.app.state.blobs  # type: ignore[attr-defined]
        # The server's sweep seals at start-up; one more pass finds nothing to do.
        wait_until(lambda: all(sealed.is_sealed(store.path(s)) for s in list(contents)[:2]))
        assert store.seal_plain() == (0, 1)
        for s, data in list(contents.items())[:2]:
            assert CANARY not in store.path(s).read_bytes()
            with store.open(s) as f:
                assert f.read() == data
        assert damaged.read_bytes() == b"bit rot" and not left_over.exists()
    assert not any(CANARY in b for b in _on_disk(tmp_path / "cloud"))


# A blob as the first version of the folder store sealed it (its file key derived from
# the master key), with this master key and plaintext.
OLD_CODE_KEY = bytes(range(32))
OLD_CODE_PLAIN = b"DICM sealed before data keys were wrapped: DOE^JOHN 19800102"
OLD_CODE_BLOB = base64.b64decode(
    "Q1NTRUFMAQBpB7eZ8i06rfGryz9dIsdcJP5wJeBe98qaW7187VyeyEIwDZErGBTGwBFObWowuTq1mOXn2hJb"
    "n+V3nR4aoFePPI967V9WmwRpCGDIOwWpLzWb33GU9t7Cy+wJAp4jgpUQOhclJ+n/RKzl2A==")


def test_a_new_master_key_is_taken_on_by_rewrapping_each_blobs_data_key(
        tmp_path: Path) -> None:
    first, second = sealed.new_key(), sealed.new_key()
    store = FilesystemBlobStore(tmp_path / "blobs", key=first)
    data = CANARY * 5000 + os.urandom(100)  # several segments
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "in").write_bytes(data)
    store.put_file(sha, tmp_path / "in")
    old_sha = hashlib.sha256(OLD_CODE_PLAIN).hexdigest()
    old_path = store.path(old_sha)
    old_path.parent.mkdir(parents=True, exist_ok=True)
    old_path.write_bytes(OLD_CODE_BLOB)
    old_path.chmod(0o440)
    sealed.remember(OLD_CODE_KEY)
    with store.open(old_sha) as f:  # the old code's blob reads as it did
        assert f.read() == OLD_CODE_PLAIN
    before = store.path(sha).read_bytes()
    header = sealed.HEADER

    rotated = FilesystemBlobStore(tmp_path / "blobs", key=second,
                                  old_keys=(first, OLD_CODE_KEY))
    assert rotated.rewrap_old() == (2, 0)
    assert rotated.rewrap_old() == (0, 0)  # nothing left under an old key
    after = store.path(sha).read_bytes()
    # Only the header changed: the content was not read nor written again.
    assert after[header:] == before[header:] and after[:header] != before[:header]
    assert oct(store.path(sha).stat().st_mode & 0o777) == oct(0o440)
    assert OLD_CODE_BLOB[:8] != old_path.read_bytes()[:8] == sealed.MAGIC  # current format
    sealed.forget(first)
    sealed.forget(OLD_CODE_KEY)  # the old keys are gone: the new one alone opens all
    with rotated.open(sha) as f, rotated.open(old_sha) as g:
        assert f.read() == data and g.read() == OLD_CODE_PLAIN
    assert CANARY not in after and b"DOE^JOHN" not in old_path.read_bytes()


def test_a_changed_wrapped_key_is_told_as_damage(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs", key=sealed.new_key())
    data = b"x" * 1000
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "in").write_bytes(data)
    store.put_file(sha, tmp_path / "in")
    path = store.path(sha)
    raw = bytearray(path.read_bytes())
    raw[20] ^= 1  # inside the wrapped data key
    path.chmod(0o640)
    path.write_bytes(bytes(raw))
    with pytest.raises(sealed.DamagedFileError, match="damaged"):
        store.open(sha).read()


def test_an_upload_in_progress_is_encrypted_and_still_resumes_and_verifies(
    client: TestClient, pc: PC, settings: Settings,
) -> None:
    from cloud.tus import storage

    blobs = client.app.state.blobs  # type: ignore[attr-defined]
    data = CANARY * 20_000 + os.urandom(333)
    sha = hashlib.sha256(data).hexdigest()
    url = create(pc, data).headers["Location"]
    third = len(data) // 3  # not on a segment boundary: some bytes wait in a tail
    assert patch(pc, url, data[:third], 0).status_code == 204
    [part] = settings.uploads_dir.glob("*.part")
    keys = part.with_suffix(".keys")
    before = {p.name: p.read_bytes() for p in settings.uploads_dir.iterdir()}
    assert sealed.is_sealed(part) and not any(CANARY in b for b in before.values())
    first_keys = keys.read_text()
    # A chunk that fails its checksum is cut off: the files are as they were.
    bad = {"Upload-Checksum": "sha1 " + base64.b64encode(b"x" * 20).decode()}
    assert patch(pc, url, data[third:2 * third], third, **bad).status_code == 460
    assert {p.name: p.read_bytes() for p in settings.uploads_dir.iterdir()} == before
    storage._hashers.clear()  # a restart: the hash so far is read back from the disk
    assert head(pc, url).headers["Upload-Offset"] == str(third)
    assert patch(pc, url, data[third:2 * third], third).status_code == 204
    second_keys = keys.read_text()
    assert second_keys.splitlines()[0] == first_keys.splitlines()[0]
    assert len(second_keys.splitlines()) == 2  # the new tail under a key of its own
    assert not any(CANARY in b for b in _on_disk(settings.data_dir))
    storage._hashers.clear()
    inode = part.stat().st_ino
    assert patch(pc, url, data[2 * third:], 2 * third).status_code == 204
    # The part was the sealed blob already: it moved into the store, nothing else stays.
    assert blobs.path(sha).stat().st_ino == inode
    assert list(settings.uploads_dir.iterdir()) == []
    r = pc.http.get(f"/api/v1/images/{sha}", headers=pc.headers)
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == sha
    # Bytes that are not what was declared are still refused at the end.
    other = CANARY * 10
    url = create(pc, other).headers["Location"]
    assert patch(pc, url, other[:-1] + b"?", 0).status_code == 422
    assert list(settings.uploads_dir.iterdir()) == []


def test_an_upload_begun_by_an_older_server_starts_again(
    client: TestClient, pc: PC, settings: Settings,
) -> None:
    data = os.urandom(200_000)
    url = create(pc, data).headers["Location"]
    assert patch(pc, url, data[:1000], 0).status_code == 204
    [part] = settings.uploads_dir.glob("*.part")
    part.write_bytes(os.urandom(1000))  # its bytes as servers kept them before
    r = patch(pc, url, data[1000:], 1000)
    assert r.status_code == 410 and "start it again" in r.json()["detail"]
    assert head(pc, url).status_code in (404, 410)
    assert list(settings.uploads_dir.iterdir()) == []
    url = create(pc, data).headers["Location"]  # begun again, it arrives
    assert patch(pc, url, data, 0).status_code == 204
