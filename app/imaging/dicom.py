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
from typing import TYPE_CHECKING, Any

from PIL import Image

from app.imaging import sealed
from app.imaging.errors import DamagedFileError, ImagingError, TooLargeError, UnsupportedError

MAX_PIXELS = 16_000 * 16_000  # per frame; no dental sensor comes near it
CT_MODALITIES = ("CT",)

if TYPE_CHECKING:
    import numpy as np
# numpy itself is imported where pixels are handled: reading a header (all that filing
# an image needs) does without it, and the app starts a third of a second sooner.


@dataclass(frozen=True, slots=True)
class DicomInfo:
    modality: str
    patient_name: str  # as written: "FAMILY^GIVEN", possibly "=" and more groups
    birth_date: str | None  # ISO; None also when the file's date cannot be read
    series_uid: str | None
    sop_uid: str | None
    instance: int | None
    position: float | None  # along the slice axis, for ordering a series
    taken_at: str | None  # ISO UTC, from the study/acquisition date and time
    rows: int
    columns: int
    frames: int
    patient_id: str = ""
    birth_raw: str = ""  # as written, to tell "none" from "unreadable"
    sop_class: str = ""  # its name, e.g. "Digital Intra-Oral X-Ray Image Storage"
    has_pixels: bool = True
    photometric: str = ""
    details: tuple[tuple[str, str], ...] = ()  # what a dentist reads, for the info panel
    spacing_mm: tuple[float, float] | None = None  # one pixel: between rows, columns

    @property
    def is_image(self) -> bool:
        return self.has_pixels and self.rows > 0 and self.columns > 0


def _text(ds: Any, name: str) -> str:
    value = ds.get(name)
    return str(value).strip() if value is not None else ""


def _iso_date(value: str) -> str | None:
    digits = value.strip().replace(".", "").replace("-", "")  # ACR-NEMA wrote 1980.01.02
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return dt.datetime.strptime(digits, "%Y%m%d").date().isoformat()
    except ValueError:
        return None


def _int(value: Any, default: int | None) -> int | None:
    """A number a header gives; a malformed one ("1A") is taken as not given."""
    if value in (None, ""):
        return default
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        try:
            return int(float(str(value).strip()))
        except (TypeError, ValueError):
            return default


def _taken_at(ds: Any) -> str | None:
    try:
        return _when(ds)
    except Exception:
        return None


def _when(ds: Any) -> str | None:
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


# A dataset without the preamble starts with one of these groups, in either byte order.
_FIRST_GROUPS = (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08")


_NO_HEADER = "it has neither the DICOM marker nor a DICOM dataset at its start"


def looks_headerless(path: Path) -> bool:
    """Could this be a DICOM dataset written without preamble or "DICM" (as older
    devices do)? Only a hint: `read` decides."""
    with sealed.open_read(path) as f:
        head = f.read(12)
    return len(head) >= 8 and head[:2] in _FIRST_GROUPS and head[2:4] != b"\x00\x00"


def read(path: Path) -> Any:
    """The dataset, its large elements deferred. Files without the preamble are read
    as pydicom's `force` does; anything that does not parse raises DamagedFileError
    with the reason."""
    import warnings

    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(sealed.open_read(path), defer_size="256 KB")
            except InvalidDicomError:
                if not looks_headerless(path):
                    raise InvalidDicomError(_NO_HEADER) from None
                ds = pydicom.dcmread(sealed.open_read(path), defer_size="256 KB",
                                     force=True)
                if not any(k in ds for k in ("SOPClassUID", "Modality", "PatientName")):
                    raise InvalidDicomError(_NO_HEADER) from None
    except Exception as exc:  # pydicom raises many kinds on a malformed file
        raise DamagedFileError(f"{path.name} is not a readable DICOM file ({exc}).") from None
    return ds


def info_of(ds: Any) -> DicomInfo:
    """The facts we file by. Never raises on a malformed value: what cannot be read
    is left out (a birth date that cannot be read is kept raw, so that the patient
    check can refuse to confirm)."""
    try:
        return _info_of(ds)
    except DamagedFileError:
        raise
    except Exception as exc:
        raise DamagedFileError(f"The DICOM header cannot be read ({exc}).") from None


def _safe_text(ds: Any, name: str) -> str:
    try:
        return _text(ds, name)
    except Exception:
        return ""


def _info_of(ds: Any) -> DicomInfo:
    from app.imaging import dicom_tags

    position = None
    try:
        ipp = ds.get("ImagePositionPatient")
        if ipp is not None and len(ipp) == 3:
            position = float(ipp[2])
        elif ds.get("SliceLocation") is not None:
            position = float(ds.SliceLocation)
    except Exception:  # a malformed position only loses the slice order
        position = None
    birth = _safe_text(ds, "PatientBirthDate")
    pixels = any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"))
    return DicomInfo(
        modality=_safe_text(ds, "Modality").upper(),
        patient_name=_safe_text(ds, "PatientName"),
        birth_date=_iso_date(birth) if birth else None,
        series_uid=_safe_text(ds, "SeriesInstanceUID") or None,
        sop_uid=_safe_text(ds, "SOPInstanceUID") or None,
        instance=_int(ds.get("InstanceNumber"), None),
        position=position,
        taken_at=_taken_at(ds),
        rows=_int(ds.get("Rows"), 0) or 0,
        columns=_int(ds.get("Columns"), 0) or 0,
        frames=max(_int(ds.get("NumberOfFrames"), 1) or 1, 1),
        patient_id=_safe_text(ds, "PatientID"),
        birth_raw=birth,
        sop_class=dicom_tags.sop_class_name(ds),
        has_pixels=pixels,
        photometric=_safe_text(ds, "PhotometricInterpretation").upper(),
        details=dicom_tags.details(ds),
        spacing_mm=dicom_tags.spacing_mm(ds),
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
    """The frame (the middle one by default) as an 8-bit PIL image. Raises
    ImagingError with the reason, whatever goes wrong inside pydicom."""
    try:
        return _render(path, frame)
    except ImagingError:
        raise
    except MemoryError:
        raise TooLargeError(f"{path.name} is too large to draw on this computer.") from None
    except Exception as exc:
        raise DamagedFileError(f"{path.name}: the image cannot be drawn ({exc}).") from None


def _render(path: Path, frame: int | None) -> Image.Image:
    import numpy as np
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
    index = None
    if info.frames > 1:
        index = min(max(info.frames // 2 if frame is None else frame, 0), info.frames - 1)
    pixels = _pixels(path, ds, index)
    photometric = info.photometric
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        return Image.fromarray(_to_uint8(apply_color_lut(pixels, ds)), "RGB")
    if int(ds.get("SamplesPerPixel") or 1) == 3:
        # pydicom has already turned YBR into RGB.
        return Image.fromarray(_to_uint8(np.asarray(pixels)), "RGB")
    if pixels.ndim == 3:  # frames pydicom could not split by index: the middle one
        pixels = pixels[pixels.shape[0] // 2]
    values = np.asarray(apply_modality_lut(pixels, ds), dtype=np.float32)
    low, high = _window(ds, values)
    scaled = np.clip((values - low) / max(high - low, 1e-6), 0.0, 1.0)
    if photometric == "MONOCHROME1":
        scaled = 1.0 - scaled
    return Image.fromarray((scaled * 255.0 + 0.5).astype(np.uint8), "L")


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    import numpy as np

    if rgb.dtype == np.uint8:
        return rgb
    top = float(rgb.max()) or 1.0
    return (rgb.astype(np.float32) * (255.0 / top)).astype(np.uint8)


FULL_READ_MAX = 512 * 1024 * 1024  # a file read whole when reading one frame fails


def _pixels(path: Path, ds: Any, index: int | None) -> np.ndarray:
    """One frame. Read from the path first, one frame only: a multi-frame CBCT of
    several GB costs the memory of one slice, not of the volume. Files that path
    cannot take (deflated, or declaring explicit VR while written implicit) are read
    whole, as pydicom's own dataset path does."""
    import warnings

    import numpy as np
    import pydicom
    from pydicom.pixels import pixel_array

    def reason(exc: Exception) -> ImagingError:
        if isinstance(exc, RuntimeError | NotImplementedError):
            return UnsupportedError(
                f"{path.name} is compressed in a way this computer cannot decode ({exc}).")
        return DamagedFileError(f"{path.name}: the image data is incomplete ({exc}).")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with sealed.open_read(path) as f:
                return np.asarray(pixel_array(f, index=index))
        except Exception as exc:
            first = exc
        if sealed.plain_size(path) > FULL_READ_MAX:
            raise reason(first) from None
        try:
            with sealed.open_read(path) as f:
                whole = pydicom.dcmread(f, force=True)
            if "NumberOfFrames" in whole:
                try:
                    int(whole.NumberOfFrames)
                except (TypeError, ValueError):  # "1A": as if not given
                    del whole.NumberOfFrames
                    index = None
            return np.asarray(pixel_array(whole, index=index))
        except Exception as exc:
            raise reason(exc) from None


def _window(ds: Any, values: np.ndarray) -> tuple[float, float]:
    import numpy as np

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
