"""Which practice database to open: the ones on this PC, a file elsewhere, a new one."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QWidget

from app.platform import paths

SUFFIX = ".chairside"


def _index_file() -> Path:
    return paths.config_dir() / "practices.json"


def _index() -> dict[str, dict[str, Any]]:
    try:
        found = json.loads(_index_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(v, dict)}


def remember_opened(path: Path, practice: str) -> None:
    """The practice's name and when it was last opened, kept on this PC: a list of
    practices is shown by name, the last one used first, without opening (and
    decrypting) each database."""
    index = _index()
    index[str(path.resolve())] = {"name": practice, "opened": time.time()}
    _index_file().write_text(json.dumps(index, ensure_ascii=False, indent=1), encoding="utf-8")


def _entry(index: dict[str, dict[str, Any]], path: Path) -> dict[str, Any]:
    return index.get(str(path.resolve()), {})


def choose_known_database(parent: QWidget | None, known: list[Path]) -> Path | None:
    """Ask which practice: each shown by its name (and its file's, when two practices
    share a name), the one opened last first."""
    index = _index()
    known = sorted(known, key=lambda p: -float(_entry(index, p).get("opened", 0)))
    plain = [str(_entry(index, p).get("name") or p.stem) for p in known]
    shown = [
        f"{label} ({p.name})" if plain.count(label) > 1 else label
        for label, p in zip(plain, known, strict=True)
    ]
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
