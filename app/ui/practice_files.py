"""Which practice database to open: the ones on this PC, a file elsewhere, a new one."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QWidget

from app.platform import paths

SUFFIX = ".chairside"


def choose_known_database(parent: QWidget | None, known: list[Path]) -> Path | None:
    names = [p.stem for p in known]
    name, ok = QInputDialog.getItem(
        parent, "Chairside", "Open which practice database?", names, 0, False
    )
    return known[names.index(name)] if ok else None


def choose_database(parent: QWidget | None) -> Path | None:
    name, _ = QFileDialog.getOpenFileName(
        parent,
        "Open practice database",
        str(paths.databases_dir()),
        f"Chairside practice databases (*{SUFFIX})",
    )
    return Path(name) if name else None


def file_name_for(practice: str) -> str:
    """A file name a person recognises: the practice's name in plain letters."""
    stem = re.sub(r"[^\w]+", "-", practice.strip().lower()).strip("-_")
    return (stem or "practice")[:60]


def new_database_path(parent: QWidget | None) -> tuple[Path, str] | None:
    """Ask the new practice's name; the database gets a file of its own named after it."""
    name, ok = QInputDialog.getText(
        parent,
        "New practice database",
        "Name of the practice (shown in the window title and when signing in):",
        QLineEdit.EchoMode.Normal,
    )
    name = name.strip()
    if not ok or not name:
        return None
    folder = paths.databases_dir()
    stem = file_name_for(name)
    path = folder / f"{stem}{SUFFIX}"
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}{SUFFIX}"
        n += 1
    return path, name
