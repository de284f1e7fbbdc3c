"""The health checking report: which of a patient's images it may use, which it picks
by default, and the page it prints (HTML laid out by the desktop's PDF writer).

A report is made from an intraoral scan model; CBCT volumes are never part of it.
With several intraoral scans the upper and lower jaw models are picked, with several
face scans the smiling face; photos are optional (seed 002).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

SCAN_KINDS = ("intraoral_scan", "face_scan")
PHOTO_KINDS = ("intraoral_photo", "facial_photo")
SECTIONS = ("basic", "clinical", "models", "photos", "findings")
SECTION_LABELS = {
    "basic": "Basic information",
    "clinical": "Clinical information",
    "models": "Scan models",
    "photos": "Photos",
    "findings": "Findings",
}
NEEDS_SCAN = "To generate a health checking report, the intraoral scan data is required."
NO_CBCT = "CBCT can not be selected for a health checking report."
EXPIRED = "The temporary preview file has been expired"
NOT_PERMITTED = "The uploading device of this data does not have permission to create reports"
_UPPER = re.compile(r"upper|maxill|\bup\b|oben|top", re.IGNORECASE)
_LOWER = re.compile(r"lower|mandib|\blow\b|unten|bottom", re.IGNORECASE)
_SMILE = re.compile(r"smil", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    kind: str
    filename: str


def why_not(c: Candidate) -> str | None:
    """Why this image cannot be part of a report, or None when it can."""
    if c.kind == "cbct":
        return NO_CBCT
    if c.kind not in SCAN_KINDS + PHOTO_KINDS:
        return "Only scan models and photos go into a health checking report."
    return None


def default_selection(candidates: Sequence[Candidate]) -> set[str]:
    """The upper and lower jaw among several intraoral scans (the first of each when
    the names say so, else the first scan), the smiling face among several face scans;
    photos are left for the dentist to pick."""
    chosen: set[str] = set()
    oral = [c for c in candidates if c.kind == "intraoral_scan"]
    jaws = [next((c for c in oral if rx.search(c.filename)), None) for rx in (_UPPER, _LOWER)]
    picked = [c.id for c in jaws if c is not None]
    chosen.update(picked or [c.id for c in oral[:1]])
    faces = [c for c in candidates if c.kind == "face_scan"]
    smile = next((c for c in faces if _SMILE.search(c.filename)), faces[0] if faces else None)
    if smile is not None:
        chosen.add(smile.id)
    return chosen


def check_selection(candidates: Sequence[Candidate], selected: set[str]) -> str | None:
    """What is wrong with the selection, or None when a report can be made of it."""
    chosen = [c for c in candidates if c.id in selected]
    for c in chosen:
        reason = why_not(c)
        if reason:
            return reason
    if not any(c.kind == "intraoral_scan" for c in chosen):
        return NEEDS_SCAN
    return None


@dataclass(frozen=True, slots=True)
class Figure:
    resource: str  # the name the page refers to the picture by
    caption: str


@dataclass(frozen=True, slots=True)
class ReportPage:
    practice: str
    title: str
    patient: str
    made_on: str
    made_by: str
    sections: tuple[str, ...]
    basic: tuple[tuple[str, str], ...] = ()
    clinical: tuple[tuple[str, str], ...] = ()
    models: tuple[Figure, ...] = ()
    photos: tuple[Figure, ...] = ()
    findings: str = ""
    extra: dict[str, str] = field(default_factory=dict)


_STYLE = (
    "<style>body{font-family:sans-serif;font-size:10pt}"
    "h1{font-size:16pt;margin:0}h2{font-size:14pt}h3{font-size:11pt;margin-top:12pt}"
    ".muted{color:#666}td{padding:2pt 8pt 2pt 0;vertical-align:top}"
    ".fig{text-align:center;font-size:9pt;color:#444}</style>"
)


def _pairs(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><td class='muted' width='38%'>{escape(k)}</td><td>{escape(v or '—')}</td></tr>"
        for k, v in rows
    )
    # The labels' column has a width of its own: printed at the PDF's resolution, Qt
    # gave the cells no room between them and a long label ran into its value.
    return f"<table width='100%'>{cells}</table>"


def _figures(figs: Sequence[Figure], width: int) -> str:
    cells = [
        f"<td class='fig'><img src='{escape(f.resource)}' width='{width}'><br>"
        f"{escape(f.caption)}</td>"
        for f in figs
    ]
    rows = ["".join(cells[i:i + 2]) for i in range(0, len(cells), 2)]
    return "<table>" + "".join(f"<tr>{r}</tr>" for r in rows) + "</table>"


def page_html(p: ReportPage) -> str:
    out = [
        f"<html><head>{_STYLE}</head><body>",
        f"<h1>{escape(p.practice)}</h1>",
        f"<h2>{escape(p.title)}</h2>",
        f"<p><b>{escape(p.patient)}</b><br><span class='muted'>Made on "
        f"{escape(p.made_on)} by {escape(p.made_by)}</span></p>",
    ]
    if "basic" in p.sections:
        out += [f"<h3>{SECTION_LABELS['basic']}</h3>", _pairs(p.basic)]
    if "clinical" in p.sections:
        out += [f"<h3>{SECTION_LABELS['clinical']}</h3>", _pairs(p.clinical)]
    if "findings" in p.sections:
        text = escape(p.findings.strip() or "No findings recorded.").replace("\n", "<br>")
        out += [f"<h3>{SECTION_LABELS['findings']}</h3>", f"<p>{text}</p>"]
    if "models" in p.sections and p.models:
        out += [f"<h3>{SECTION_LABELS['models']}</h3>", _figures(p.models, 300)]
    if "photos" in p.sections and p.photos:
        out += [f"<h3>{SECTION_LABELS['photos']}</h3>", _figures(p.photos, 300)]
    for label, value in p.extra.items():
        out.append(f"<p class='muted'>{escape(label)}: {escape(value)}</p>")
    out.append("</body></html>")
    return "".join(out)


# A report is filed in the patient's record as a PDF document, so it travels to other
# PCs and the portal as every file does; its name carries the title and the author.
_FILED = re.compile(r"^(?P<title>.*) \(by (?P<by>[^()]*)\)\.pdf$", re.IGNORECASE)


def _name_part(text: str) -> str:
    """Text fit for a file name on any system (and for reading back by _FILED)."""
    return " ".join(re.sub(r'[\\/:*?"<>|()\x00-\x1f]+', " ", text).split())


def filed_name(title: str, made_by: str) -> str:
    clean = _name_part(title) or "Health checking report"
    by = _name_part(made_by) or "unknown"
    return f"{clean[:150]} (by {by[:80]}).pdf"


@dataclass(frozen=True, slots=True)
class ReportEntry:
    image_id: str
    title: str
    made_by: str
    made_on: str
    filename: str


def entry(image_id: str, kind: str, filename: str, taken_at: str | None) -> ReportEntry | None:
    """The report a filed image is, or None when it is not a PDF document."""
    if kind != "document" or not filename.lower().endswith(".pdf"):
        return None
    m = _FILED.match(filename)
    title, by = (m["title"], m["by"]) if m else (filename[:-4], "")
    return ReportEntry(image_id, title, by, (taken_at or "")[:10], filename)


def portal_url(server_url: str, image_id: str) -> str | None:
    """Where the report's QR code leads: the portal's page of the report, which asks the
    doctor or the patient to sign in first. None when this PC has no server."""
    base = server_url.strip().rstrip("/")
    if not base:
        return None
    return f"{base}/reports/{image_id}"
