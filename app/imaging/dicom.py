"""DICOM: the header facts we file by, and rendering a frame to 8-bit grey or RGB.

Headers are read with large elements deferred, so a several-GB file costs a few
kilobytes of memory until its pixels are asked for. Window/level: the file's own
WindowCenter/WindowWidth when present, otherwise the 0.5th to 99.5th percentile of
the frame (robust to the metal and air that dominate dental X-rays); MONOCHROME1
(white is low) is inverted so that bone is always light.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app.imaging.errors import DamagedFileError, TooLargeError, UnsupportedError

MAX_PIXELS = 16_000 * 16_000  # per frame; no dental sensor comes near it
CT_MODALITIES = ("CT",)


@dataclass(frozen=True, slots=True)
class DicomInfo:
    modality: str
    patient_name: str  # as written: "FAMILY^GIVEN"
    birth_date: str | None  # ISO
    series_uid: str | None
    sop_uid: str | None
    instance: int | None
    position: float | None  # along the slice axis, for ordering a series
    taken_at: str | None  # ISO UTC, from the study/acquisition date and time
    rows: int
    columns: int
    frames: int


def _text(ds: Any, name: str) -> str:
    value = ds.get(name)
    return str(value).strip() if value is not None else ""


def _iso_date(value: str) -> str | None:
    try:
        return dt.datetime.strptime(value[:8], "%Y%m%d").date().isoformat()
    except ValueError:
        return None


def _taken_at(ds: Any) -> str | None:
    for d_name, t_name in (
        ("AcquisitionDate", "AcquisitionTime"),
        ("ContentDate", "ContentTime"),
        ("StudyDate", "StudyTime"),
    ):
        day = _text(ds, d_name)
        if len(day) >= 8:
            clock = (_text(ds, t_name).split(".")[0] + "000000")[:6]
            try:
                when = dt.datetime.strptime(day[:8] + clock, "%Y%m%d%H%M%S")
            except ValueError:
                continue
            # DICOM times are local to the modality; read them as this PC's local time.
            return when.astimezone().astimezone(dt.UTC).isoformat()
    return None


def read(path: Path) -> Any:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(path, defer_size="256 KB")
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError) as exc:
        raise DamagedFileError(f"{path.name} is not a readable DICOM file ({exc}).") from None


def info_of(ds: Any) -> DicomInfo:
    position = None
    ipp = ds.get("ImagePositionPatient")
    if ipp is not None and len(ipp) == 3:
        try:
            position = float(ipp[2])
        except (TypeError, ValueError):
            position = None
    if position is None and ds.get("SliceLocation") is not None:
        try:
            position = float(ds.SliceLocation)
        except (TypeError, ValueError):
            position = None
    instance = ds.get("InstanceNumber")
    return DicomInfo(
        modality=_text(ds, "Modality").upper(),
        patient_name=_text(ds, "PatientName"),
        birth_date=_iso_date(_text(ds, "PatientBirthDate")),
        series_uid=_text(ds, "SeriesInstanceUID") or None,
        sop_uid=_text(ds, "SOPInstanceUID") or None,
        instance=int(instance) if instance not in (None, "") else None,
        position=position,
        taken_at=_taken_at(ds),
        rows=int(ds.get("Rows") or 0),
        columns=int(ds.get("Columns") or 0),
        frames=int(ds.get("NumberOfFrames") or 1),
    )


def header(path: Path) -> DicomInfo:
    return info_of(read(path))


def _first(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value[0] if hasattr(value, "__len__") and not isinstance(value, str)
                     else value)
    except (TypeError, ValueError, IndexError):
        return None


# Compressed transfer syntaxes that sensors and PACS send; each must have a decoder.
EXPECTED_SYNTAXES = (
    "JPEGBaseline8Bit", "JPEGExtended12Bit", "JPEGLossless", "JPEGLosslessSV1",
    "JPEGLSLossless", "JPEGLSNearLossless", "JPEG2000Lossless", "JPEG2000", "RLELossless",
)


def missing_decoders() -> list[str]:
    """The expected compressed syntaxes this installation cannot decode (the packaged
    app's self-test checks that the decoder plugins made it into the bundle)."""
    import pydicom.uid
    from pydicom.pixels import get_decoder

    missing = []
    for name in EXPECTED_SYNTAXES:
        uid = getattr(pydicom.uid, name)
        if not get_decoder(uid).is_available:
            missing.append(uid.name)
    return missing


def render(path: Path, frame: int | None = None) -> Image.Image:
    """The frame (the middle one by default) as an 8-bit PIL image."""
    from pydicom.pixels import apply_modality_lut

    ds = read(path)
    info = info_of(ds)
    if "PixelData" not in ds:
        raise DamagedFileError(f"{path.name} holds no image (a DICOM without pixel data).")
    if info.rows * info.columns > MAX_PIXELS:
        raise TooLargeError(
            f"{path.name} is {info.columns}×{info.rows} pixels, more than this program "
            "will decode."
        )
    from pydicom.pixels import pixel_array

    index = None
    if info.frames > 1:
        index = min(max(info.frames // 2 if frame is None else frame, 0), info.frames - 1)
    try:
        # Read from the path, one frame only: a multi-frame CBCT of several GB costs
        # the memory of one slice, not of the volume.
        pixels = pixel_array(str(path), index=index)
    except (ValueError, AttributeError, EOFError, KeyError) as exc:
        raise DamagedFileError(f"{path.name}: the image data is incomplete ({exc}).") from None
    except (RuntimeError, NotImplementedError) as exc:
        raise UnsupportedError(
            f"{path.name} is compressed in a way this computer cannot decode ({exc})."
        ) from None
    photometric = _text(ds, "PhotometricInterpretation").upper()
    if int(ds.get("SamplesPerPixel") or 1) == 3:
        # pydicom has already turned YBR into RGB.
        rgb = np.asarray(pixels)
        if rgb.dtype != np.uint8:
            top = float(rgb.max()) or 1.0
            rgb = (rgb.astype(np.float32) * (255.0 / top)).astype(np.uint8)
        return Image.fromarray(rgb, "RGB")
    values = np.asarray(apply_modality_lut(pixels, ds), dtype=np.float32)
    low, high = _window(ds, values)
    scaled = np.clip((values - low) / max(high - low, 1e-6), 0.0, 1.0)
    if photometric == "MONOCHROME1":
        scaled = 1.0 - scaled
    return Image.fromarray((scaled * 255.0 + 0.5).astype(np.uint8), "L")


def _window(ds: Any, values: np.ndarray) -> tuple[float, float]:
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is not None and width is not None and width > 0:
        return center - width / 2.0, center + width / 2.0
    # Percentiles of a subsample: exact enough for a window, and fast on large frames.
    step = max(1, int(values.size // 1_000_000))
    sample = values.reshape(-1)[::step]
    low, high = np.percentile(sample, [0.5, 99.5])
    if high <= low:
        low, high = float(sample.min()), float(sample.max())
    return float(low), float(high)
