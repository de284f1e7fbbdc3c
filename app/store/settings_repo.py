"""Practice database settings, read by the desktop app and the sync agent."""

from __future__ import annotations

from typing import Any

from app.core.options import OPTIONS, coerce
from app.store.db import Database
from app.store.models import Setting


class SettingsRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> Any:
        option = OPTIONS[key]
        with self.db.read() as s:
            row = s.get(Setting, key)
            return option.default if row is None else row.value

    def set(self, key: str, value: Any) -> None:
        value = coerce(key, value)
        with self.db.write() as s:
            row = s.get(Setting, key)
            if row is None:
                s.add(Setting(key=key, value=value))
            else:
                row.value = value
