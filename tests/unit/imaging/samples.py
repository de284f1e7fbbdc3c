"""Real sample files made on the spot: photos, X-rays, DICOM, 3D models."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image


def photo(path: Path, size: tuple[int, int] = (320, 240), fmt: str = "JPEG",
          seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    a[: size[1] // 2, :, 0] = 200  # something to see
    Image.fromarray(a, "RGB").save(path, fmt)
    return path


def xray_tiff(path: Path, size: tuple[int, int] = (300, 200)) -> Path:
    a = (np.linspace(0, 4000, size[0] * size[1]).reshape(size[1], size[0])).astype(np.uint16)
    Image.fromarray(a).save(path, "TIFF")
    return path


def _dataset(path: Path, *, modality: str, rows: int, cols: int, name: str, birth: str,
             series_uid: str | None = None, instance: int = 1, z: float = 0.0,
             monochrome1: bool = False, window: tuple[float, float] | None = None,
             pixels: np.ndarray | None = None) -> Path:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import (
        CTImageStorage,
        DigitalXRayImageStorageForPresentation,
        ExplicitVRLittleEndian,
        generate_uid,
    )

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = (
        CTImageStorage if modality == "CT" else DigitalXRayImageStorageForPresentation
    )
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SpecificCharacterSet = "ISO_IR 192"  # names in any script
    ds.Modality = modality
    ds.PatientName = name
    ds.PatientBirthDate = birth
    ds.StudyDate, ds.StudyTime = "20260301", "101500"
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [0.0, 0.0, z]
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if window:
        ds.WindowCenter, ds.WindowWidth = window
    if pixels is None:
        yy, xx = np.mgrid[0:rows, 0:cols]
        pixels = ((xx + yy) * 4000 // (rows + cols)).astype(np.uint16)
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def dicom_xray(path: Path, *, name: str = "DOE^JOHN", birth: str = "19800102",
               rows: int = 128, cols: int = 160, **kw: object) -> Path:
    return _dataset(path, modality="DX", rows=rows, cols=cols, name=name, birth=birth,
                    **kw)  # type: ignore[arg-type]


def ct_series(folder: Path, n: int = 5, *, name: str = "DOE^JOHN", birth: str = "19800102",
              size: int = 32) -> list[Path]:
    from pydicom.uid import generate_uid

    uid = generate_uid()
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        pixels = np.full((size, size), 100 * (i + 1), dtype=np.uint16)
        # Written out of order: the series must be ordered by position, not by name.
        out.append(_dataset(folder / f"slice{n - 1 - i:03d}.dcm", modality="CT", rows=size,
                            cols=size, name=name, birth=birth, series_uid=uid,
                            instance=i + 1, z=float(i), pixels=pixels))
    return out


_TETRA = [((0, 0, 0), (1, 0, 0), (0, 1, 0)), ((0, 0, 0), (0, 1, 0), (0, 0, 1)),
          ((0, 0, 0), (0, 0, 1), (1, 0, 0)), ((1, 0, 0), (0, 1, 0), (0, 0, 1))]


def stl_ascii(path: Path) -> Path:
    lines = ["solid tooth"]
    for tri in _TETRA:
        lines += ["facet normal 0 0 0", " outer loop"]
        lines += [f"  vertex {x} {y} {z}" for x, y, z in tri]
        lines += [" endloop", "endfacet"]
    lines.append("endsolid tooth")
    path.write_text("\n".join(lines) + "\n")
    return path


def stl_binary(path: Path) -> Path:
    body = b"".join(
        struct.pack("<3f", 0, 0, 0) + b"".join(struct.pack("<3f", *v) for v in tri) + b"\0\0"
        for tri in _TETRA
    )
    path.write_bytes(b"binary stl".ljust(80, b" ") + struct.pack("<I", len(_TETRA)) + body)
    return path


def ply_ascii(path: Path) -> Path:
    path.write_text(
        "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\n"
        "property float z\nelement face 4\nproperty list uchar int vertex_indices\n"
        "end_header\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 2 3\n3 0 3 1\n3 1 2 3\n"
    )
    return path


def ply_binary(path: Path) -> Path:
    head = (
        b"ply\nformat binary_little_endian 1.0\nelement vertex 4\nproperty float x\n"
        b"property float y\nproperty float z\nelement face 4\n"
        b"property list uchar int vertex_indices\nend_header\n"
    )
    verts = struct.pack("<12f", 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1)
    faces = b"".join(struct.pack("<B3i", 3, *f) for f in ((0, 1, 2), (0, 2, 3), (0, 3, 1),
                                                          (1, 2, 3)))
    path.write_bytes(head + verts + faces)
    return path


def obj(path: Path) -> Path:
    path.write_text("# scan\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\n"
                    "f 1 2 3\nf 1/1 3/1 4/1\nf 1 4 2\nf 2 3 4\n")
    return path


def corpus_root() -> Path:
    """pydicom's bundled test files: DICOM nobody on this team made."""
    import pydicom.data

    return Path(pydicom.data.__file__).parent


def corpus(name: str) -> Path:
    """One of them, e.g. "test_files/CT_small.dcm" or "charset_files/chrGreek.dcm"."""
    return corpus_root() / name


def _ellipsoid(centre: tuple[float, float, float], radii: tuple[float, float, float],
               n: int = 16) -> list[tuple[tuple[float, float, float], ...]]:
    import math

    def at(i: int, j: int) -> tuple[float, float, float]:
        th, ph = math.pi * i / n, 2 * math.pi * j / n
        return (centre[0] + radii[0] * math.sin(th) * math.cos(ph),
                centre[1] + radii[1] * math.sin(th) * math.sin(ph),
                centre[2] + radii[2] * math.cos(th))

    tris = []
    for i in range(n):
        for j in range(n):
            a, b, c, d = at(i, j), at(i + 1, j), at(i + 1, j + 1), at(i, j + 1)
            tris += [(a, b, c), (a, c, d)]
    return tris


def stl_arch(path: Path, teeth: int = 14) -> Path:
    """A binary STL shaped as a dental arch (crowns on a gum ridge along a U, in mm):
    what an intraoral scanner exports for one jaw, some 14k triangles."""
    import math

    tris = []
    for k in range(teeth):
        t = -1 + 2 * k / (teeth - 1)  # along the arch, -1 .. 1
        x, y = 25 * math.sin(t * 1.3), 30 * math.cos(t * 1.3) - 10
        molar = abs(t) > 0.5
        r = (5.0, 5.0, 4.0) if molar else (3.5, 3.0, 5.0)
        tris += _ellipsoid((x, y, 6), r)
        tris += _ellipsoid((x, y, 0), (6.0, 6.0, 3.0), 10)  # the gum under it
    body = b"".join(
        struct.pack("<3f", 0, 0, 0) + b"".join(struct.pack("<3f", *v) for v in tri) + b"\0\0"
        for tri in tris
    )
    path.write_bytes(b"intraoral scan".ljust(80, b" ") + struct.pack("<I", len(tris)) + body)
    return path
