"""The dissolution's purge on a PC: the cloud's purge change (the clinic was dissolved)
deletes the institution's data here too, in one transaction with the pull cursor, and
leaves the reason for the app to tell (Practice data went away: why, when, who asked).

What stays is what the cloud keeps: the program users (they still sign in), the
practice's settings and this PC's sync identity and connection. The image files of the
deleted images are removed once the transaction committed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select, update

from app.core.compact import VALUES, expanded, is_compact
from app.core.options import coerce
from app.store.base import Base
from app.store.db import Database
from app.store.models import (
    AgentRequest,
    AgentState,
    ConflictRecord,
    OutboxMutation,
    RecordImage,
    Setting,
    SyncState,
    User,
)

PURGE_ENTITY = "institution_purge"  # cloud.institutions.dissolution_job
NOTICE = "dissolved_notice"
# Kept whole: accounts, settings, this replica's identity and the agent's own tables.
KEPT_TABLES = {User.__tablename__, Setting.__tablename__, SyncState.__tablename__,
               AgentState.__tablename__, AgentRequest.__tablename__}
KEPT_ENTITIES = ("user",)


def purge_reason(change: Mapping[str, Any]) -> str:
    fields = change.get("fields") or {}
    if is_compact(fields) and isinstance(fields.get(VALUES), Mapping):
        fields = expanded(fields)
    reason = fields.get("reason") if isinstance(fields, Mapping) else None
    text = reason.get("value") if isinstance(reason, Mapping) else None
    return str(text or "The practice's clinic was dissolved: its data was deleted.")[:1000]


def purge_local(db: Database, change: Mapping[str, Any]) -> list[str]:
    """Delete the institution's data held here and move the pull cursor past the purge
    change, atomically; returns the SHA-256 of the image files it referred to."""
    reason = purge_reason(change)
    with db.write(remote_apply=True) as s:
        conn = s.connection()
        shas = [str(x) for x in conn.execute(select(RecordImage.sha256)).scalars() if x]
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in KEPT_TABLES:
                continue
            if table.name in (OutboxMutation.__tablename__, ConflictRecord.__tablename__):
                conn.execute(delete(table).where(table.c.entity.not_in(KEPT_ENTITIES)))
            else:
                conn.execute(delete(table))
        conn.execute(update(SyncState).where(SyncState.id == 1).values(
            pull_cursor=int(change["seq"]), remote_version=SyncState.remote_version + 1))
        row = s.get(Setting, NOTICE)
        if row is None:
            s.add(Setting(key=NOTICE, value=coerce(NOTICE, reason)))
        else:
            row.value = coerce(NOTICE, reason)
    return shas


def remove_files(db: Database, shas: list[str]) -> int:
    """The image files of the purged images (a file that cannot go now stays: nothing
    refers to it any more)."""
    from app.imaging.cas import ImageStore

    store = ImageStore.of(db)
    removed = 0
    for sha in set(shas):
        path = store.path_of(sha)
        with contextlib.suppress(OSError):
            path.chmod(0o600)
            path.unlink()
            removed += 1
    return removed


def notice(db: Database) -> str:
    """Why the practice's data went away, when it did ("" if it did not)."""
    with db.read() as s:
        row = s.get(Setting, NOTICE)
        return str(row.value or "") if row is not None else ""


def notice_seen(db: Database) -> None:
    with db.write() as s:
        row = s.get(Setting, NOTICE)
        if row is not None:
            s.delete(row)
