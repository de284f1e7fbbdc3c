"""Classification, thumbnails and bad input, on real files made with Pillow/pydicom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.imaging import classify, dicom, mesh, series, thumbnails
from app.imaging.cas import ImageStore, hash_file
from app.imaging.errors import DamagedFileError, ImagingError, TooLargeError
from app.imaging.importer import prepare
from tests.unit.imaging import samples


@pytest.mark.parametrize(
    ("make", "name", "fmt", "kind"),
    [
        (lambda p: samples.photo(p, fmt="JPEG"), "mouth.jpg", "jpeg", "intraoral_photo"),
        (lambda p: samples.photo(p, fmt="PNG"), "smile-face.png", "png", "facial_photo"),
        (lambda p: samples.photo(p, fmt="TIFF"), "teeth.tif", "tiff", "intraoral_photo"),
        (samples.xray_tiff, "bitewing.tif", "tiff", "xray"),
        (samples.dicom_xray, "pan.dcm", "dicom", "panoramic"),  # its name says so
            (samples.dicom_xray, "bitewing.dcm", "dicom", "xray"),
        (samples.stl_ascii, "upper.stl", "stl", "intraoral_scan"),
        (samples.stl_binary, "lower.stl", "stl", "intraoral_scan"),
        (samples.ply_ascii, "face.ply", "ply", "face_scan"),
        (samples.ply_binary, "jaw.ply", "ply", "intraoral_scan"),
        (samples.obj, "arch.obj", "obj", "intraoral_scan"),
    ],
)
def test_classified_by_content(tmp_path: Path, make, name: str, fmt: str, kind: str) -> None:
    path = make(tmp_path / name)
    found = classify.classify(path)
    assert (found.format, found.kind) == (fmt, kind)
    thumb = thumbnails.render(path, size=128)
    assert max(thumb.size) == 128 or found.format == "dicom"
    assert thumb.getbbox() is not None


def test_content_wins_over_the_extension(tmp_path: Path) -> None:
    jpeg_named_png = samples.photo(tmp_path / "photo.png", fmt="JPEG")
    assert classify.classify(jpeg_named_png).format == "jpeg"
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture at all")
    assert classify.classify(text).kind == "other"


def test_ct_slices_are_cbct_and_one_series(tmp_path: Path) -> None:
    files = samples.ct_series(tmp_path / "ct", n=5)
    assert classify.classify(files[0]).kind == "cbct"
    store = ImageStore(tmp_path / "store")
    report = prepare(store, files)
    assert report.failed == []
    [item] = report.items
    assert item.kind == "cbct" and item.series_uid
    manifest = series.load(store.path_of(item.sha256))
    assert len(manifest.slices) == 5
    # Ordered along the slice axis, not by file name.
    assert [s.position for s in manifest.slices] == [0.0, 1.0, 2.0, 3.0, 4.0]
    # The thumbnail is the middle slice (value 300 of the 100..500 ramp, windowed).
    thumb = thumbnails.render(store.path_of(item.sha256), store)
    assert thumb.size == (32, 32)
    assert len(item.uploads) == 6  # five slices and the manifest


def test_dicom_window_and_monochrome1(tmp_path: Path) -> None:
    ramp = np.tile(np.arange(0, 1000, 10, dtype=np.uint16), (10, 1))
    plain = samples.dicom_xray(tmp_path / "a.dcm", rows=10, cols=100, pixels=ramp,
                               window=(500, 200))
    im = np.asarray(dicom.render(plain))
    assert im[0, 0] == 0 and im[0, -1] == 255  # outside the window: clipped
    assert 100 < im[0, 50] < 160  # the centre of the window is mid-grey
    inverted = samples.dicom_xray(tmp_path / "b.dcm", rows=10, cols=100, pixels=ramp,
                                  monochrome1=True)
    inv = np.asarray(dicom.render(inverted))
    assert inv[0, 0] > inv[0, -1]  # MONOCHROME1: low values are white
    info = dicom.header(plain)
    assert (info.patient_name, info.birth_date, info.modality) == ("DOE^JOHN", "1980-01-02",
                                                                   "DX")


@pytest.mark.parametrize("syntax", ["RLELossless", "JPEG2000Lossless"])
def test_compressed_dicom_is_drawn_like_the_uncompressed_one(tmp_path: Path,
                                                             syntax: str) -> None:
    """Sensors and PACS often send compressed DICOM; lossless ones must look the same."""
    import pydicom
    import pydicom.uid

    plain = samples.dicom_xray(tmp_path / "plain.dcm", rows=64, cols=96)
    ds = pydicom.dcmread(plain)
    ds.compress(getattr(pydicom.uid, syntax))
    packed = tmp_path / "packed.dcm"
    ds.save_as(packed)
    assert pydicom.dcmread(packed).file_meta.TransferSyntaxUID.is_compressed
    assert np.array_equal(np.asarray(dicom.render(packed)), np.asarray(dicom.render(plain)))
    assert np.array_equal(np.asarray(thumbnails.render(packed, size=48)),
                          np.asarray(thumbnails.render(plain, size=48)))


def test_mesh_loaders_agree(tmp_path: Path) -> None:
    loaded = [
        mesh.load(samples.stl_ascii(tmp_path / "a.stl"), "stl"),
        mesh.load(samples.stl_binary(tmp_path / "b.stl"), "stl"),
        mesh.load(samples.ply_ascii(tmp_path / "a.ply"), "ply"),
        mesh.load(samples.ply_binary(tmp_path / "b.ply"), "ply"),
        mesh.load(samples.obj(tmp_path / "a.obj"), "obj"),
    ]
    for m in loaded:
        assert m.faces.shape == (4, 3)
        corners = m.vertices[m.faces].reshape(-1, 3)
        assert np.allclose(corners.min(0), 0) and np.allclose(corners.max(0), 1)
    proj = mesh.project(loaded[0], 0.3, 0.2, 200, 100)
    assert proj.polygons.shape[1:] == (3, 2)
    assert proj.polygons[..., 0].min() >= 0 and proj.polygons[..., 0].max() <= 200


def test_decompression_bomb_is_refused_with_a_reason(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (12_000, 12_000)).save(bomb, "PNG", optimize=True)  # tiny file, 144 MP
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(TooLargeError, match="megapixels"):
        thumbnails.render(bomb)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_pictures_give_a_reason_and_keep_the_original(tmp_path: Path, fmt: str
                                                                ) -> None:
    whole = samples.photo(tmp_path / f"whole.{fmt.lower()}", size=(400, 300), fmt=fmt)
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    before = hash_file(cut)
    with pytest.raises(DamagedFileError, match="damaged or incomplete"):
        thumbnails.render(cut)
    assert hash_file(cut) == before


def test_truncated_dicom_and_empty_files(tmp_path: Path) -> None:
    whole = samples.dicom_xray(tmp_path / "whole.dcm", rows=200, cols=200)
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(whole.read_bytes()[:-5000])
    with pytest.raises(DamagedFileError):
        thumbnails.render(cut)
    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(DamagedFileError, match="empty"):
        thumbnails.render(empty)
    report = prepare(ImageStore(tmp_path / "store"), [empty])
    assert report.items == [] and "empty" in report.failed[0][1]
    assert empty.exists()


def test_garbage_models_are_damaged_not_crashes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nend_header\n1 2\n")
    with pytest.raises(DamagedFileError):
        mesh.load(bad, "ply")
    obj = tmp_path / "bad.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n")
    with pytest.raises(DamagedFileError, match="corners"):
        mesh.load(obj, "obj")


def test_thumbnails_are_cached_by_hash(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    stored = store.add_file(samples.photo(tmp_path / "a.jpg"))
    cache = thumbnails.ThumbnailCache(store, tmp_path / "thumbs")
    first = cache.get(stored.sha256)
    assert first.is_file() and stored.sha256[2:] in first.name
    mtime = first.stat().st_mtime_ns
    assert cache.get(stored.sha256) == first and first.stat().st_mtime_ns == mtime


def test_multiframe_dicom_shows_its_middle_frame(tmp_path: Path) -> None:
    frames = np.stack([np.full((20, 30), v, np.uint16) for v in (100, 200, 3000, 400, 500)])
    path = samples.dicom_xray(tmp_path / "cine.dcm", rows=20, cols=30, pixels=frames,
                              window=(2000, 2000))
    import pydicom

    ds = pydicom.dcmread(path)
    ds.NumberOfFrames = 5
    ds.save_as(path)
    assert dicom.header(path).frames == 5
    middle = np.asarray(dicom.render(path))
    assert middle.shape == (20, 30) and int(middle.mean()) == 255  # 3000: above the window
    first = np.asarray(dicom.render(path, frame=0))
    assert int(first.mean()) == 0


def test_a_photo_is_dated_by_its_camera(tmp_path: Path) -> None:
    import datetime as dt

    path = tmp_path / "cam.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2025:06:30 14:05:00"
    Image.new("RGB", (40, 30), (200, 90, 90)).save(path, "JPEG", exif=exif)
    [item] = prepare(ImageStore(tmp_path / "store"), [path]).items
    expected = dt.datetime(2025, 6, 30, 14, 5).astimezone().astimezone(dt.UTC)
    assert dt.datetime.fromisoformat(item.taken_at or "") == expected


def test_every_usual_compressed_dicom_has_a_decoder() -> None:
    assert dicom.missing_decoders() == []


@pytest.mark.parametrize(
    ("name", "mode"),
    [("test_files/SC_rgb_jpeg.dcm", "RGB"),  # declares explicit VR, written implicit
     ("test_files/image_dfl.dcm", "L"),  # deflated
     ("test_files/examples_palette.dcm", "RGB"),  # PALETTE COLOR drawn in colour
     ("test_files/MR_small_jpeg_ls_lossless.dcm", "L"),
     ("test_files/MR_small_jp2klossless.dcm", "L"),
     ("test_files/badVR.dcm", "L"),  # NumberOfFrames "1A"
     ("test_files/CT_small.dcm", "L")],  # a TIFF header in its preamble
)
def test_real_world_dicom_is_drawn(name: str, mode: str) -> None:
    im = dicom.render(samples.corpus(name))
    assert im.mode == mode and im.width > 1
    if name.endswith("palette.dcm"):
        r, g, b = (np.asarray(im, dtype=np.int16)[..., i] for i in range(3))
        assert (np.abs(r - g) + np.abs(g - b)).max() > 30  # not grey


def test_a_multi_frame_file_shows_its_middle_frame(tmp_path: Path) -> None:
    import pydicom

    src = samples.corpus("test_files/SC_rgb_rle_2frame.dcm")
    ds = pydicom.dcmread(src)
    frames = ds.pixel_array
    middle = dicom.render(src)
    assert np.array_equal(np.asarray(middle), frames[1])  # of 2 frames, index 1


@pytest.mark.parametrize(
    ("name", "kind", "sop"),
    [("test_files/CT_small.dcm", "cbct", "CT Image Storage"),
     ("test_files/rtplan.dcm", "document", "RT Plan Storage"),
     ("test_files/test-SR.dcm", "document", "SR Storage"),
     ("test_files/waveform_ecg.dcm", "document", "ECG Waveform Storage"),
     ("palettes/hotiron.dcm", "document", "Color Palette Storage"),
     ("test_files/dicomdirtests/DICOMDIR", "document", "Media Storage Directory Storage"),
     ("test_files/dicomdirtests/77654033/CR1/6154", "xray", "Computed Radiography"),
     ("test_files/MR_small.dcm", "other", "MR Image Storage"),
     ("test_files/SC_rgb_jpeg_dcmtk.dcm", "intraoral_photo", "Secondary Capture"),
     ("test_files/no_meta_group_length.dcm", "document", "")],
)
def test_kinds_of_real_world_dicom(name: str, kind: str, sop: str) -> None:
    found = classify.classify(samples.corpus(name))
    assert found.format == "dicom" and found.kind == kind
    assert found.dicom is not None and sop in found.dicom.sop_class


@pytest.mark.parametrize(
    ("modality", "said", "kind"),
    [("IO", "", "xray"), ("PX", "", "panoramic"), ("DX", "OPG", "panoramic"),
     ("DX", "Ceph lateral", "cephalometric"), ("CR", "", "xray"), ("CT", "", "cbct"),
     ("MR", "", "other")],
)
def test_kinds_by_modality(modality: str, said: str, kind: str) -> None:
    from app.imaging.dicom_tags import kind_of

    assert kind_of(modality, "", True, False, said) == kind


def test_a_headerless_dicom_is_recognised_by_parsing_and_junk_is_refused(tmp_path: Path
                                                                         ) -> None:
    import pydicom

    implicit = tmp_path / "IMG0001"  # no preamble, no "DICM", no extension

    ds = pydicom.dcmread(samples.corpus("test_files/MR_small_implicit.dcm"))
    ds.preamble = None
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.save_as(implicit, implicit_vr=True, little_endian=True, enforce_file_format=False)
    assert implicit.read_bytes()[128:132] != b"DICM"
    found = classify.classify(implicit)
    assert found.format == "dicom" and found.dicom is not None
    junk = samples.corpus("test_files/no_meta.dcm")
    with pytest.raises(ImagingError, match="neither the DICOM marker"):
        classify.classify(junk)
