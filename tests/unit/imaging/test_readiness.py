"""When a file in the acquisition folder counts as complete."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.imaging.acquisition import (
    Settler,
    candidates,
    incomplete_reason,
    move_to_imported,
    temporary_reason,
)
from tests.unit.imaging import samples


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda p: samples.photo(p, fmt="JPEG"), "a.jpg"),
        (lambda p: samples.photo(p, fmt="PNG"), "a.png"),
        (samples.stl_ascii, "a.stl"),
        (samples.stl_binary, "b.stl"),
        (samples.ply_binary, "b.ply"),
        (lambda p: samples.dicom_xray(p, rows=64, cols=64), "a.dcm"),
    ],
)
def test_whole_files_are_complete_and_cut_ones_are_not(tmp_path: Path, make, name: str
                                                       ) -> None:
    whole = make(tmp_path / name)
    assert incomplete_reason(whole) is None
    cut = tmp_path / f"cut-{name}"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) - max(20, len(data) // 3)])
    assert incomplete_reason(cut) is not None


def test_settler_wants_the_same_size_and_time_for_a_while(tmp_path: Path) -> None:
    t = [0.0]
    settler = Settler(settle_s=1.0, clock=lambda: t[0])
    path = tmp_path / "a.bin"
    path.write_bytes(b"x" * 10)
    assert not settler.observe(path, path.stat())  # first sight
    t[0] += 0.5
    assert not settler.observe(path, path.stat())  # not long enough
    with open(path, "ab") as f:
        f.write(b"more")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1))
    t[0] += 2
    assert not settler.observe(path, path.stat())  # changed: starts again
    t[0] += 1
    assert settler.observe(path, path.stat())


def test_temporary_names_are_skipped_and_moves_never_overwrite(tmp_path: Path) -> None:
    for name in ("scan.part", ".hidden", "~$lock.dcm", "x.tmp", "a.jpg", "~pan.dcm",
                 ".~lock.notes.odt#", "Thumbs.db", "._a.jpg", ".IMG_1.dcm.a1B2c3"):
        (tmp_path / name).write_bytes(b"1")
    (tmp_path / "imported").mkdir()
    (tmp_path / "imported" / "old.jpg").write_bytes(b"0")
    # Names that merely start with "." or "~" are files like any other.
    assert sorted(p.name for p, _ in candidates(tmp_path)) == [".hidden", "a.jpg", "~pan.dcm"]
    everything = {p.name for p, _ in candidates(tmp_path, temporary=True)}
    assert "Thumbs.db" in everything and "old.jpg" not in everything
    assert "Microsoft Office" in (temporary_reason("~$lock.dcm") or "")
    assert "rsync" in (temporary_reason(".IMG_1.dcm.a1B2c3") or "")
    assert temporary_reason(".hidden") is None
    first = move_to_imported(tmp_path / "a.jpg")
    (tmp_path / "a.jpg").write_bytes(b"2")
    second = move_to_imported(tmp_path / "a.jpg")
    assert first.name == "a.jpg" and second.name == "a (1).jpg"
    assert first.read_bytes() == b"1" and second.read_bytes() == b"2"
