"""The image store encrypted at rest: what is on disk, what reads back, what is refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from app.imaging import sealed, series, thumbnails
from app.imaging.cas import ImageStore
from app.imaging.errors import DamagedFileError, ImagingError
from app.imaging.sealed import HEADER, SEGMENT, TAG
from tests.unit.imaging import samples


@pytest.mark.parametrize("n", [1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT, 200_001])
def test_every_size_reads_back_whole_and_at_any_offset(files: ImageStore, n: int) -> None:
    data = os.urandom(n)
    stored = files.add_bytes(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()  # named by the plaintext
    on_disk = stored.path.read_bytes()
    assert on_disk.startswith(sealed.MAGIC)
    assert n < 16 or data[:32] not in on_disk  # (one byte may appear by chance)
    assert files.read_bytes(stored.sha256) == data
    assert sealed.plain_size(stored.path) == n
    with files.blob(stored.sha256) as blob:
        for offset in {0, 1, SEGMENT - 1, SEGMENT, n // 2, n - 1}:
            assert blob.read_at(offset, 70_000) == data[offset:offset + 70_000]
    with files.open(stored.sha256) as f:
        f.seek(n // 3)
        assert f.read(5) == data[n // 3:n // 3 + 5]
        assert f.read() == data[n // 3 + 5:]


def _tampered(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(data)


def test_a_changed_cut_or_reordered_file_is_refused(files: ImageStore) -> None:
    data = os.urandom(3 * SEGMENT + 10)
    stored = files.add_bytes(data)
    good = stored.path.read_bytes()
    seg = SEGMENT + TAG
    flipped = bytearray(good)
    flipped[HEADER + seg + 100] ^= 1
    cut = good[:HEADER + 2 * seg]  # whole segments, the last one missing
    swapped = good[:HEADER] + good[HEADER + seg:HEADER + 2 * seg] + good[HEADER:HEADER + seg] \
        + good[HEADER + 2 * seg:]
    for bad in (bytes(flipped), cut, swapped):
        _tampered(stored.path, bad)
        with pytest.raises(DamagedFileError, match="does not authenticate"):
            files.read_bytes(stored.sha256)


def test_a_file_of_another_key_is_not_readable_without_it(tmp_path: Path) -> None:
    other = tmp_path / "other.bin"
    with open(other, "wb") as out:
        writer = sealed.SealWriter(out, os.urandom(32))  # a key this process never kept
        writer.write(b"secret")
        writer.close()
    with pytest.raises(ImagingError, match="key of the image store"):
        sealed.read_plain(other)


def test_plain_files_of_a_store_made_before_encryption_still_read(tmp_path: Path,
                                                                  files: ImageStore) -> None:
    plain = ImageStore(files.root)  # the same folder, written before it had a key
    data = os.urandom(100_000)
    old = plain.add_bytes(data)
    assert old.path.read_bytes() == data
    assert files.read_bytes(old.sha256) == data
    assert files.add_bytes(data).existed  # not stored twice


def test_thumbnails_and_series_manifests_are_sealed(files: ImageStore,
                                                    tmp_path: Path) -> None:
    from app.imaging import importer

    slices = samples.ct_series(tmp_path / "ct", n=3)
    [item] = importer.prepare(files, slices).items
    manifest_path = files.path_of(item.sha256)
    assert b"series_uid" not in manifest_path.read_bytes()
    assert series.is_manifest(manifest_path)
    assert len(series.load(manifest_path).slices) == 3
    cache = thumbnails.ThumbnailCache(files, tmp_path / "thumbs")
    png = cache.png(item.sha256)
    assert png.startswith(b"\x89PNG")
    assert cache.get(item.sha256).read_bytes().startswith(sealed.MAGIC)


def test_the_database_keeps_the_image_key_in_the_keyring(store, secrets_store) -> None:
    from app.store import keys

    key = store.db.image_key
    assert key is not None and len(key) == 32
    assert secrets_store.get(f"{keys._slot(store.db.path)}:{keys.IMAGE_KEY}") == key.hex()
    assert not keys.key_file_path(store.db.path).parent.exists()  # no key file
