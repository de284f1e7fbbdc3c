"""The content-addressed store: whole files under their hash, once, never modified."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from app.imaging.cas import ImageStore, hash_file
from app.imaging.errors import DamagedFileError


def test_stored_under_hash_once_and_read_only(tmp_path: Path) -> None:
    src = tmp_path / "a.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)  # several blocks and a short last one
    src.write_bytes(data)
    store = ImageStore(tmp_path / "store")
    first = store.add_file(src)
    sha = hashlib.sha256(data).hexdigest()
    assert first.sha256 == sha and first.size == len(data) and not first.existed
    assert first.path == tmp_path / "store" / sha[:2] / sha[2:]
    assert first.path.read_bytes() == data
    assert not os.access(first.path, os.W_OK) or os.geteuid() == 0
    copy = tmp_path / "copy-with-another-name.bin"
    copy.write_bytes(data)
    second = store.add_file(copy, verify=True)
    assert second.existed and second.path == first.path
    assert list((tmp_path / "store" / "tmp").iterdir()) == []
    assert hash_file(first.path) == (sha, len(data))


def test_empty_file_refused_and_nothing_left_behind(tmp_path: Path) -> None:
    src = tmp_path / "empty.jpg"
    src.touch()
    store = ImageStore(tmp_path / "store")
    with pytest.raises(DamagedFileError, match="empty"):
        store.add_file(src)
    assert list((tmp_path / "store" / "tmp").iterdir()) == []
    assert src.exists()


def test_leftovers_of_a_crash_are_cleaned_when_old(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    (tmp_path / "store" / "tmp").mkdir(parents=True)
    old, fresh = tmp_path / "store" / "tmp" / "in-old", tmp_path / "store" / "tmp" / "in-new"
    old.write_bytes(b"half")
    fresh.write_bytes(b"in progress")
    os.utime(old, (0, 0))
    assert store.clean_tmp() == 1
    assert not old.exists() and fresh.exists()


def test_downloaded_bytes_are_kept_only_when_they_match(tmp_path: Path) -> None:
    from app.imaging.errors import ImagingError

    store = ImageStore(tmp_path / "store")
    data = os.urandom(100_000)
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(ImagingError, match="do not match"):
        store.add_stream([data[:50_000], b"x" * 50_000], sha)
    assert not store.has(sha) and list((tmp_path / "store" / "tmp").iterdir()) == []
    kept = store.add_stream([data[:50_000], data[50_000:]], sha)
    assert kept.path.read_bytes() == data
