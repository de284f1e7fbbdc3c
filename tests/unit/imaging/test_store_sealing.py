"""A store written before encryption is sealed in the background: verified, resumable,
and cut off at any point it loses nothing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from app.imaging import sealed, store_sealing
from app.imaging.cas import ImageStore


def _plain_store(root: Path, n: int) -> dict[str, bytes]:
    plain = ImageStore(root)
    contents = {}
    for i in range(n):
        data = os.urandom(1000 + i * 40_000)
        contents[plain.add_bytes(data).sha256] = data
    return contents


def _every_image_reads_back(store: ImageStore, contents: dict[str, bytes]) -> None:
    for sha, data in contents.items():
        assert store.read_bytes(sha) == data, sha


def test_plain_files_are_sealed_and_still_read(files: ImageStore) -> None:
    contents = _plain_store(files.root, 5)
    seen: list[tuple[int, int]] = []
    report = store_sealing.seal_plain(files, progress=lambda d, t: seen.append((d, t)))
    assert (report.sealed, report.damaged, report.remaining) == (5, 0, 0)
    assert seen[-1] == (5, 5)
    assert store_sealing.plain_files(files) == []
    for sha, data in contents.items():
        assert data[:64] not in files.path_of(sha).read_bytes()
    _every_image_reads_back(files, contents)
    assert list((files.root / "tmp").iterdir()) == []


def test_cut_off_at_every_step_nothing_is_lost_and_the_next_pass_goes_on(
        files: ImageStore, monkeypatch: pytest.MonkeyPatch) -> None:
    real_replace = os.replace
    for crash_at in range(4):
        store = ImageStore(files.root.parent / f"images-{crash_at}", files.key)
        contents = _plain_store(store.root, 4)
        calls = [0]

        def crashing_replace(src: object, dst: object, _at: int = crash_at,
                             _calls: list[int] = calls) -> None:
            _calls[0] += 1
            if _calls[0] > _at:
                raise KeyboardInterrupt  # the agent killed right before this rename
            real_replace(src, dst)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "replace", crashing_replace)
        with pytest.raises(KeyboardInterrupt):
            store_sealing.seal_plain(store)
        monkeypatch.setattr(os, "replace", real_replace)
        assert len(store_sealing.plain_files(store)) == 4 - crash_at
        _every_image_reads_back(store, contents)
        report = store_sealing.seal_plain(store)  # the next start goes on
        assert report.sealed == 4 - crash_at and store_sealing.plain_files(store) == []
        _every_image_reads_back(store, contents)


def test_a_time_budget_leaves_the_rest_for_later(files: ImageStore) -> None:
    _plain_store(files.root, 3)
    ticks = iter([0.0, 0.0, 0.0, 10.0, 10.0, 10.0])
    report = store_sealing.seal_plain(files, budget_s=1.0, clock=lambda: next(ticks))
    assert report.sealed == 2 and report.remaining == 1
    assert store_sealing.seal_plain(files).sealed == 1


def test_a_damaged_plain_file_is_left_as_it_is(files: ImageStore) -> None:
    contents = _plain_store(files.root, 2)
    sha = next(iter(contents))
    path = files.path_of(sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"bit rot")
    report = store_sealing.seal_plain(files)
    assert (report.sealed, report.damaged) == (1, 1)
    assert path.read_bytes() == b"bit rot" and not sealed.is_sealed(path)
    assert hashlib.sha256(files.read_bytes(sha)).hexdigest() != sha


def test_the_agent_seals_a_plain_store_a_slice_at_each_tick(store, secrets_store) -> None:
    from sync_agent.runner import Agent

    agent = Agent(store.db, secrets_store)
    files = agent.download_job.files
    assert files.key == store.db.image_key is not None
    contents = _plain_store(files.root, 3)  # stored before the store had a key
    from app.imaging import recovery, sealed

    kept = recovery.default_root() / "John Doe 2026-01-05"  # recovered images, plain
    kept.mkdir(parents=True)
    (kept / "pano.jpg").write_bytes(b"\xff\xd8 John Doe's pano")
    for _ in range(10):
        agent.run_job(agent.sealing)
        if agent.sealing.done:
            break
    assert agent.sealing.done and store_sealing.plain_files(files) == []
    _every_image_reads_back(files, contents)
    [moved] = list(recovery.default_root().iterdir())
    assert "John" not in moved.name and sealed.is_sealed(moved / "pano.jpg")
    assert sealed.read_plain(moved / "pano.jpg") == b"\xff\xd8 John Doe's pano"


def test_thumbnails_cached_plain_are_dropped_and_made_again_sealed(files: ImageStore,
                                                                   tmp_path: Path) -> None:
    from app.imaging.thumbnails import ThumbnailCache
    from tests.unit.imaging import samples

    photo = samples.photo(tmp_path / "mouth.jpg")
    old_store = ImageStore(files.root)  # before the store had a key
    sha = old_store.add_file(photo).sha256
    old = ThumbnailCache(old_store, tmp_path / "thumbs").get(sha)
    assert old.read_bytes().startswith(b"\x89PNG")
    cache = ThumbnailCache(files, tmp_path / "thumbs")
    assert cache.get(sha).read_bytes().startswith(sealed.MAGIC)  # made again, sealed
    old_plain = tmp_path / "thumbs" / "ab" / "cdef-256-v1.png"
    old_plain.parent.mkdir()
    old_plain.write_bytes(b"\x89PNG plain")
    assert store_sealing.drop_plain_thumbnails(tmp_path / "thumbs") == 1
    assert not old_plain.exists() and cache.png(sha).startswith(b"\x89PNG")
