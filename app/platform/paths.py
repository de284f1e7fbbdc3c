"""Where Chairside keeps its files on this PC (platformdirs), overridable for tests."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "Chairside"


def data_dir() -> Path:
    override = os.environ.get("CHAIRSIDE_DATA_DIR")
    base = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, False))
    base.mkdir(parents=True, exist_ok=True)
    return base


def config_dir() -> Path:
    override = os.environ.get("CHAIRSIDE_CONFIG_DIR")
    base = Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, False))
    base.mkdir(parents=True, exist_ok=True)
    return base


def databases_dir() -> Path:
    path = data_dir() / "databases"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database() -> Path:
    return databases_dir() / "practice.chairside"


def list_databases() -> list[Path]:
    """Practice databases kept on this PC, newest first."""
    found = [p for p in databases_dir().glob("*.chairside") if p.is_file()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
