"""Which PC filed an image: the node of the clock stamp on its file's hash, written by
the PC that added the file (a later change of kind or record stamps other fields)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from app.core.hlc import Timestamp
from app.store.db import Database
from app.store.models import RecordImage


def filed_by(db: Database, image_ids: Iterable[str]) -> dict[str, str]:
    """Image id -> node of the PC that filed it ("" when the row carries no stamp)."""
    ids = list(image_ids)
    out: dict[str, str] = {}
    with db.read() as s:
        for img in s.scalars(select(RecordImage).where(RecordImage.id.in_(ids))):
            stamp = (img.stamps or {}).get("sha256")
            try:
                out[img.id] = Timestamp.parse(str(stamp[0])).node if stamp else ""
            except ValueError:
                out[img.id] = ""
    return out
