"""Printing a composed page to PDF. Runs off the UI thread (a ReadOp): QTextDocument and
QPdfWriter paint without widgets, so a worker may lay out and write the file."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QMarginsF, QSizeF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import QFileDialog, QWidget


def write_pdf(html: str, path: Path, title: str = "",
              images: dict[str, QImage] | None = None) -> Path:
    """`images` are the pictures the page names in <img src>, given in memory because
    stored images may be sealed at rest and never sit decrypted in a file."""
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator("Chairside")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 15),
            QPageLayout.Unit.Millimeter,
        )
    )
    doc = QTextDocument()
    for name, image in (images or {}).items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
    # Without this the page is laid out in screen points and prints a fraction of its
    # size on paper; with it, point sizes and image widths keep their size in print.
    doc.documentLayout().setPaintDevice(writer)
    doc.setHtml(html)
    # Laid out at the writer's resolution, so the text keeps its point size on paper.
    rect = writer.pageLayout().paintRectPixels(writer.resolution())
    doc.setPageSize(QSizeF(rect.width(), rect.height()))
    doc.print_(writer)
    return path


# Not allowed in a file name on Windows or Linux; a patient's name or a report's title
# may hold them ("Smith/Jones"), which would point the suggestion at a folder.
_NOT_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def ask_pdf_path(parent: QWidget, caption: str, suggested: str) -> Path | None:
    folder = Path.home() / "Documents"
    start = folder if folder.is_dir() else Path.home()
    suggested = _NOT_IN_NAMES.sub("-", suggested).strip(" .") or "document.pdf"
    chosen, _ = QFileDialog.getSaveFileName(
        parent, caption, str(start / suggested), "PDF files (*.pdf)"
    )
    if not chosen:
        return None
    path = Path(chosen)
    return path if path.suffix.lower() == ".pdf" else path.with_suffix(".pdf")
