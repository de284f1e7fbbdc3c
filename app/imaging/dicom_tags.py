"""What a DICOM header says that a dentist reads, and what kind of item it makes.

Kinds by modality: IO is an intraoral X-ray, PX a panoramic, DX/CR an X-ray (a
cephalometric one when its description or view says so), CT a CBCT; pictures from a
camera (XC, ES, colour secondary captures) are photos. Objects that hold no image (a
report, a plan, a waveform, a palette, a directory) are kept as documents, named by
their SOP class; other images (MR, ultrasound, dose maps…) as "other".
"""

from __future__ import annotations

import re
from typing import Any

_CEPH = re.compile(r"ceph|lateral skull|\bLAT\b.*skull|skull.*\bLAT\b", re.I)
_PAN = re.compile(r"\bpan(o|oramic|orex|tomo)?\b|\bOPG\b|\bOPT\b", re.I)
_PHOTO_MODALITIES = ("XC", "ES", "GM", "SM", "OT", "")


def _value(ds: Any, name: str) -> Any:
    try:
        return ds.get(name)
    except Exception:  # a malformed element is left out, never the whole file
        return None


def _text(ds: Any, name: str) -> str:
    value = _value(ds, name)
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v).strip() for v in value)
    return str(value).strip()


def sop_class_name(ds: Any) -> str:
    uid = _value(ds, "SOPClassUID")
    if uid is None:
        meta = getattr(ds, "file_meta", None)
        uid = _value(meta, "MediaStorageSOPClassUID") if meta is not None else None
    if not uid:
        return ""
    name = getattr(uid, "name", "") or str(uid)
    return str(name)


def _region(ds: Any) -> str:
    """Tooth or region from AnatomicRegionSequence (code meanings, e.g. "Tooth 36")."""
    seq = _value(ds, "AnatomicRegionSequence")
    names = []
    try:
        for item in seq or []:
            meaning = str(item.get("CodeMeaning") or item.get("CodeValue") or "").strip()
            for mod in item.get("AnatomicRegionModifierSequence") or []:
                extra = str(mod.get("CodeMeaning") or "").strip()
                meaning = f"{meaning} ({extra})" if extra else meaning
            if meaning:
                names.append(meaning)
    except Exception:
        return ""
    return ", ".join(names)


def spacing_mm(ds: Any) -> tuple[float, float] | None:
    """The size of one pixel in mm (between rows, between columns): PixelSpacing,
    else the detector's ImagerPixelSpacing; None when the file does not say."""
    for name in ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing"):
        value = _value(ds, name)
        try:
            pair = [float(v) for v in value] if value is not None else []
        except (TypeError, ValueError):
            continue
        if len(pair) == 1:
            pair = pair * 2
        if len(pair) == 2 and pair[0] > 0 and pair[1] > 0:
            return pair[0], pair[1]
    return None


def details(ds: Any) -> tuple[tuple[str, str], ...]:
    """Label and value of each tag a dentist reads, those the file has."""
    out = []
    for label, value in (
        ("Modality", _text(ds, "Modality")),
        ("Object", sop_class_name(ds)),
        ("Body part", _text(ds, "BodyPartExamined")),
        ("Laterality", _text(ds, "ImageLaterality") or _text(ds, "Laterality")),
        ("Tooth / region", _region(ds)),
        ("View", _text(ds, "ViewPosition")),
        ("Pixel size", _spacing_text(ds)),
        ("Study", _text(ds, "StudyDescription")),
        ("Series", _text(ds, "SeriesDescription")),
        ("Manufacturer", " ".join(p for p in (_text(ds, "Manufacturer"),
                                              _text(ds, "ManufacturerModelName")) if p)),
    ):
        if value:
            out.append((label, value))
    return tuple(out)


def _spacing_text(ds: Any) -> str:
    mm = spacing_mm(ds)
    if not mm:
        return ""
    return f"{mm[0]:.4g} mm" if mm[0] == mm[1] else f"{mm[0]:.4g} × {mm[1]:.4g} mm"


def kind_of(modality: str, sop_class: str, is_image: bool, colour: bool,
            description: str = "", name: str = "") -> str:
    """The item kind (app.core.wire.IMAGE_KINDS) for a DICOM object."""
    modality = modality.upper()
    if not is_image:
        return "document"
    said = f"{description} {name}"
    if modality in ("CT", "CBCT") or "CT Image" in sop_class:
        return "cbct"
    if modality == "PX" or (modality in ("DX", "CR") and _PAN.search(said)):
        return "panoramic"
    if modality in ("DX", "CR", "RG", "DX/CR") and _CEPH.search(said):
        return "cephalometric"
    if modality in ("IO", "DX", "CR", "RG") or "X-Ray" in sop_class:
        return "xray"
    if colour and modality in _PHOTO_MODALITIES:
        return "intraoral_photo"
    return "other"
