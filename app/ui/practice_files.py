"""Which practice database to open: the ones on this PC, a file elsewhere, a new one."""

from __future__ import annotations

import json
import re
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QWidget

from app.platform import paths

SUFFIX = ".chairside"


def _names_file() -> Path:
    return paths.config_dir() / "practices.json"


def _names() -> dict[str, str]:
    try:
        found = json.loads(_names_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def remember_name(path: Path, practice: str) -> None:
    """The practice's name, kept on this PC beside the list of its databases: a list of
    practices is read without opening (and decrypting) each one."""
    names = _names()
    key = str(path.resolve())
    if names.get(key) == practice:
        return
    names[key] = practice
    _names_file().write_text(json.dumps(names, ensure_ascii=False, indent=1), encoding="utf-8")


def labels(known: list[Path]) -> list[str]:
    """What the user calls each database: its practice's name (and the file's, when two
    practices share a name)."""
    names = _names()
    plain = [names.get(str(p.resolve())) or p.stem for p in known]
    return [
        f"{label} ({p.name})" if plain.count(label) > 1 else label
        for label, p in zip(plain, known, strict=True)
    ]


def choose_known_database(parent: QWidget | None, known: list[Path]) -> Path | None:
    shown = labels(known)
    label, ok = QInputDialog.getItem(
        parent, "Chairside", "Open which practice database?", shown, 0, False
    )
    return known[shown.index(label)] if ok else None


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
