"""Making a health checking report, off the UI thread (run inside a ReadOp): the
selected scan models drawn off-screen from two sides, the photos scaled down, and the
page printed to PDF with them."""

from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PySide6.QtGui import QImage

from app.core.health_report import NOT_PERMITTED, Figure, ReportPage, page_html
from app.imaging import classify, mesh, sealed
from app.imaging.errors import ImagingError
from app.platform.secrets import SecretStore
from app.store.db import Database
from app.store.images.origin_repo import filed_by
from app.ui.widgets.pdf import write_pdf
from sync_agent import connection
from sync_agent.client import TransientError

VIEW_PX = 640  # sharp at the 300 px-wide figure of the page, printed at 2x
PHOTO_PX = 1000
VIEWS = (("biting surfaces", 0.0, -0.2), ("front", 0.0, -math.pi / 2 + 0.3))


@dataclass(frozen=True, slots=True)
class Source:
    """One selected image: where its bytes are on this PC and what to call it."""

    path: Path
    filename: str
    present: bool = True


class ReportDataError(ImagingError):
    """A selected image cannot be used; the message says why in the user's words."""


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def render_model(src: Source) -> list[tuple[str, bytes]]:
    """The model drawn from the front and from above, as PNG bytes with captions."""
    if not src.present or not src.path.exists():
        raise ReportDataError(f"{src.filename} is not on this PC yet; open it once to fetch it.")
    try:
        fmt = classify.sniff(src.path, src.filename)
        model = mesh.load(src.path, fmt)
    except ImagingError as exc:
        raise ReportDataError(str(exc)) from None
    return [(f"{src.filename} — {label}", _png(mesh.render(model, VIEW_PX, yaw, pitch)))
            for label, yaw, pitch in VIEWS]


def photo_png(src: Source) -> bytes:
    if not src.present or not src.path.exists():
        raise ReportDataError(f"{src.filename} is not on this PC yet; open it once to fetch it.")
    try:
        with sealed.open_read(src.path) as f, Image.open(f) as im:
            im.thumbnail((PHOTO_PX, PHOTO_PX))
            return _png(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise ReportDataError(f"{src.filename} could not be read as a picture ({exc}).") from None


def write_report(page: ReportPage, models: list[tuple[str, bytes]],
                 photos: list[tuple[str, bytes]], out: Path) -> Path:
    """The report as a PDF at `out`, from views already drawn (render_model)."""
    images: dict[str, QImage] = {}
    figs: dict[str, list[Figure]] = {"model": [], "photo": []}
    for prefix, items in (("model", models), ("photo", photos)):
        for i, (caption, data) in enumerate(items):
            name = f"{prefix}{i}.png"
            image = QImage()
            image.loadFromData(data, "PNG")
            images[name] = image
            figs[prefix].append(Figure(name, caption))
    full = dataclasses.replace(page, models=tuple(figs["model"]), photos=tuple(figs["photo"]))
    return write_pdf(page_html(full), out, page.title, images)


def make_report(page: ReportPage, views: list[tuple[str, bytes]], photos: list[Source],
                out: Path) -> Path:
    """The report from the models' views already drawn (render_model) and the photos."""
    pictures = [(src.filename, photo_png(src)) for src in photos]
    return write_report(page, views, pictures, out)


def refused_uploads(db: Database, scans: list[tuple[str, str]]) -> list[str]:
    """File names of the scans (image id, file name) filed by a PC that may not make
    reports: one the practice revoked, or one that is not the practice's at all. What
    this PC filed is its own; without the server (offline) the others are let through
    and checked the next time."""
    nodes = filed_by(db, [i for i, _ in scans])
    own = db.ensure_identity().node_id
    if all(nodes.get(i) in (own, "") for i, _ in scans):
        return []
    conn = connection.load(db, SecretStore())
    if conn is None:
        return []
    try:
        devices = conn.client().devices()
    except TransientError:
        return []
    allowed = {str(d.get("node")) for d in devices if not d.get("revoked_at")} | {own, ""}
    return [name for i, name in scans if nodes.get(i) not in allowed]


def check_uploads(db: Database, scans: list[tuple[str, str]]) -> None:
    refused = refused_uploads(db, scans)
    if refused:
        raise ReportDataError(f"{NOT_PERMITTED} ({', '.join(refused)}).")
