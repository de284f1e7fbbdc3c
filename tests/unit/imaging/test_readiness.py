"""When a file in the acquisition folder counts as complete."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.imaging.acquisition import (
    Settler,
    candidates,
    has_provable_end,
    incomplete_reason,
    move_to_imported,
    temporary_reason,
)
from tests.unit.imaging import samples


def _zip_bytes() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("scan.txt", "x" * 20_000)
        z.writestr("notes.txt", "y" * 20_000)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda p: samples.photo(p, fmt="JPEG"), "a.jpg"),
        (lambda p: samples.photo(p, fmt="PNG"), "a.png"),
        (samples.stl_ascii, "a.stl"),
        (samples.stl_binary, "b.stl"),
        (samples.ply_binary, "b.ply"),
        (lambda p: samples.dicom_xray(p, rows=64, cols=64), "a.dcm"),
        (samples.xray_tiff, "a.tif"),
        (lambda p: samples.photo(p, fmt="TIFF"), "b.tif"),
        (samples.obj, "a.obj"),
        (samples.ply_ascii, "a.ply"),
        (lambda p: samples.corpus("test_files/CT_small.dcm").read_bytes(), "ct.dcm"),
        (lambda p: samples.corpus("test_files/rtplan.dcm").read_bytes(), "plan.dcm"),
        (lambda p: samples.corpus("test_files/test-SR.dcm").read_bytes(), "sr.dcm"),
        (lambda p: samples.corpus("test_files/MR_small_jpeg_ls_lossless.dcm").read_bytes(),
         "jls.dcm"),
        (lambda p: samples.corpus("test_files/MR_small_implicit.dcm").read_bytes(),
         "implicit.dcm"),
        (lambda p: samples.corpus("test_files/image_dfl.dcm").read_bytes(), "deflated.dcm"),
        (lambda p: b"%PDF-1.4\n" + b"1 0 obj << >> endobj\n" * 400 + b"trailer\n%%EOF\n",
         "letter.pdf"),
        (lambda p: _zip_bytes(), "export.zip"),
    ],
)
def test_whole_files_are_complete_and_cut_ones_are_not(tmp_path: Path, make, name: str
                                                       ) -> None:
    made = make(tmp_path / name)
    whole = tmp_path / name
    if isinstance(made, bytes):
        whole.write_bytes(made)
    assert incomplete_reason(whole) is None
    cut = tmp_path / f"cut-{name}"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) - max(20, len(data) // 3)])
    assert incomplete_reason(cut) is not None
    half = tmp_path / f"half-{name}"
    half.write_bytes(data[: len(data) // 2])
    assert incomplete_reason(half) is not None


@pytest.mark.parametrize("name", ["MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm",
                                  "JPEG2000.dcm", "SC_rgb_jpeg.dcm", "MR_small_padded.dcm"])
def test_trailing_padding_is_not_a_cut(name: str) -> None:
    """JPEG-LS and JPEG 2000 files that end with a legal padding element after their
    pixel data are whole."""
    assert incomplete_reason(samples.corpus(f"test_files/{name}")) is None


def test_a_dicom_cut_before_its_pixels_is_not_whole(tmp_path: Path) -> None:
    data = samples.dicom_xray(tmp_path / "x.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: data.index(b"\xe0\x7f\x10\x00")])
    assert "no pixel data" in (incomplete_reason(cut) or "")


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


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_picture_with_data_after_its_end_is_whole(tmp_path: Path, fmt: str) -> None:
    """A phone's motion photo carries a video after the JPEG's end marker."""
    path = samples.photo(tmp_path / f"a.{fmt.lower()}", fmt=fmt)
    with open(path, "ab") as f:
        f.write(b"\0\0\0\x18ftypmp42" + bytes(range(256)) * 8)
    assert incomplete_reason(path) is None


@pytest.mark.parametrize(
    ("make", "name"),
    [(lambda p: samples.photo(p, size=(640, 480), fmt="JPEG"), "a.jpg"),
     (lambda p: samples.photo(p, fmt="PNG"), "a.png"),
     (lambda p: samples.dicom_xray(p, rows=128, cols=128), "a.dcm"),
     (samples.xray_tiff, "a.tif")],
)
def test_a_file_whose_size_was_set_first_is_not_taken_on_its_size(
        tmp_path: Path, make, name: str) -> None:
    """Some copiers set the final size first and fill it in: the unwritten rest reads
    as zeros while the size already looks final. Compressed pictures are incomplete;
    uncompressed pixels may end in black, so they wait for a long quiet."""
    data = make(tmp_path / name).read_bytes()
    half = len(data) // 2
    preallocated = tmp_path / f"pre-{name}"
    preallocated.write_bytes(data[:half] + b"\0" * (len(data) - half))
    assert incomplete_reason(preallocated) is not None or not has_provable_end(preallocated)
    assert has_provable_end(make(tmp_path / f"whole-{name}"))


def test_a_dicom_object_of_unknown_content_waits_for_a_long_quiet(tmp_path: Path) -> None:
    """Cut at an element boundary, an object with no pixels and no known content
    element looks whole: nothing in it proves its end."""
    import pydicom
    from pydicom.uid import GrayscaleSoftcopyPresentationStateStorage

    path = samples.dicom_xray(tmp_path / "gsps.dcm")
    ds = pydicom.dcmread(path)
    del ds.PixelData, ds.Rows, ds.Columns
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = (
        GrayscaleSoftcopyPresentationStateStorage)
    ds.save_as(path)
    assert incomplete_reason(path) is None and not has_provable_end(path)
    for name in ("test_files/rtplan.dcm", "test_files/test-SR.dcm",
                 "test_files/dicomdirtests/DICOMDIR", "test_files/CT_small.dcm"):
        assert has_provable_end(samples.corpus(name)), name
